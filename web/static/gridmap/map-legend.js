// The gap legend: a row per kind found, with its swatch, a box that shows or hides the kind and
// the count of the unit shown (the whole area's from the page, a unit's from /api/gaps/counts);
// the kinds the analysis could not check (/api/summary) greyed with the reason.
(function () {
  "use strict";
  const { escape, getJSON } = window.gridmapKit;
  const gm = window.gridmap;
  const { el, cfg, GAPS, latest, state, top, unitQuery } = gm;
  const kindsEl = document.getElementById("gap-kinds");

  // a piece of land is a filled square, a whole unit an outlined one: told apart without colour
  const swatch = (g) => `<span class="swatch${g.area ? "" : " outline"}" style="--c:${g.colour}" aria-hidden="true"></span>`;

  // who serves the places (core/staffing.py): its kinds under a heading of their own, found or
  // not checked, after the coverage gaps
  const PEOPLE_KINDS = new Set(["grid_without_worker", "worker_overloaded", "branch_without_secretary",
    "secretary_not_qualified", "branch_without_group_leader", "building_without_head",
    "property_without_instructor", "committee_without_party_member", "committee_without_cross_serving",
    "community_workers_short", "term_expired"]);
  let peopleLast = null; // the heading, then the last row under it
  function place(li, kind) {
    if (!PEOPLE_KINDS.has(kind)) { kindsEl.appendChild(li); return; }
    if (!peopleLast) {
      peopleLast = document.createElement("li");
      peopleLast.className = "legend-group";
      peopleLast.dataset.group = "people";
      peopleLast.innerHTML = '<h3 style="font-size:.9rem;margin:.6rem 0 .2rem">服务人员与物业 <small>people and property</small></h3>';
      kindsEl.appendChild(peopleLast);
    }
    li.dataset.group = "people";
    peopleLast.after(li);
    peopleLast = li;
  }

  for (const g of cfg.gaps) {
    if (!g.count) continue;
    const li = document.createElement("li");
    // a gap about one member is drawn at their home: roles that may not see personal data get
    // its count only, and are told why there is nothing to tick
    const only = g.counts_only
      ? ` <small class="counts-only">仅计数（党员个人信息）· count only (personal data)</small>` : "";
    li.innerHTML = `<label title="${escape(g.label_en)}"><input type="checkbox" data-kind="${g.kind}" ${g.visible ? "checked" : ""} ${g.counts_only ? "disabled" : ""}>` +
      `${swatch(g)}${escape(g.label_zh)} <small>${escape(g.label_en)}</small>${only}` +
      `<span class="count">${g.count}</span></label>`;
    place(li, g.kind);
    li.querySelector("input").addEventListener("change", (e) => gm.showKind(g.kind, e.target.checked));
  }

  // kinds the analysis could not check (no column or layer for them, /api/summary's "unchecked"):
  // greyed with 未能检查 and the reason, never a count of 0
  function showUnchecked(unchecked) {
    for (const u of unchecked) {
      const g = GAPS[u.kind] || { label_zh: u.kind, label_en: u.kind };
      const old = kindsEl.querySelector(`input[data-kind="${u.kind}"]`);
      if (old) { if (old.closest("li") === peopleLast) peopleLast = peopleLast.previousElementSibling; old.closest("li").remove(); }
      const li = document.createElement("li");
      li.className = "unchecked";
      li.dataset.kind = u.kind;
      li.title = `未能检查：${u.reason_zh}\nNot checked: ${u.reason_en}`;
      li.innerHTML = `<span class="swatch"></span>${escape(g.label_zh)} <small>${escape(g.label_en)}</small>` +
        `<span class="count">未能检查 <small>not checked</small></span>` +
        `<small class="why">${escape(u.reason_zh)}<br>${escape(u.reason_en)}</small>`;
      place(li, u.kind);
    }
    el.dataset.unchecked = unchecked.map((u) => u.kind).join(",");
  }
  if (cfg.analysed) {
    getJSON("/api/summary").then((s) => showUnchecked(s.unchecked || []))
      .catch((err) => console.warn("summary", err.message));
  }

  // the legend counts the unit shown: the whole area's from the page, a unit's asked for
  const fetchCounts = latest();
  function loadCounts() {
    const unit = state.level === top ? "" : state.grid || state.community;
    const put = (counts) => {
      kindsEl.querySelectorAll("input[data-kind]").forEach((input) => {
        input.closest("label").querySelector(".count").textContent = counts[input.dataset.kind] || 0;
      });
      el.dataset.legendFor = unit;
    };
    if (!unit) { // the account's whole area: the page's counts
      fetchCounts.cancel();
      put(Object.fromEntries(cfg.gaps.map((g) => [g.kind, g.count])));
      return Promise.resolve();
    }
    return fetchCounts(`/api/gaps/counts?${unitQuery().slice(1)}`)
      .then((counts) => { if (counts) put(counts); })
      .catch((err) => console.warn("gap counts", err.message));
  }

  Object.assign(gm, { swatch, loadCounts });
})();
