// The side panel's drill-down, subdistrict → community → grid: crumbs, the unit's figures and its
// children's table; the legend counts, gap list, choropleth and export follow the unit shown.
// Any link with data-level (crumbs, children, popups, gap links) drills to its unit.
(function () {
  "use strict";
  const { escape, pct, getJSON } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, home, area, top, state, figures, index, nameOf, LEVEL_ZH, SUBDISTRICT_ZH } = gm;
  const figuresEl = document.getElementById("figures");
  const childrenEl = document.getElementById("children");
  const crumbsEl = document.getElementById("crumbs");

  // the printable 网格公示牌 of the grid shown, or of every grid of the community shown
  function boardLink() {
    const [key, code, label] = state.grid ? ["grid", state.grid, "网格公示牌 <small>notice board</small>"]
      : state.community ? ["community", state.community, "本社区网格公示牌 <small>notice boards</small>"] : [];
    return key ? `<p class="board-link"><a href="/board?${key}=${encodeURIComponent(code)}" target="_blank" rel="noopener">${label}</a></p>` : "";
  }

  // 人员配备: the staffing rates of the subdistrict or community shown, from the latest
  // analysis's summary (staffing by code, "" the subdistrict), and the share of compounds with
  // 红色物业 from the unit's figures; a grid's own from its figures
  const STAFFING = [["grid_staffed_rate", "网格员配备率", "grids staffed"],
    ["qualified_secretary_rate", "书记达标率", "branches with a qualified secretary"],
    ["property_covered_rate", "红色物业覆盖率", "property companies covered"],
    ["red_property_rate", "红色物业小区占比", "compounds with 红色物业"]];
  let summary = null;
  function showStaffing(here) {
    if (!here || !["subdistrict", "community", "grid"].includes(here.level) || !gm.cfg.analysed) return;
    summary = summary || getJSON("/api/summary").catch(() => ({}));
    summary.then((s) => {
      const table = figuresEl.querySelector("table.figures");
      const summarised = here.level === "grid" ? {} : (s.staffing || {})[here.level === "subdistrict" ? "" : here.code];
      const rates = { ...(summarised || {}), red_property_rate: here.red_property_rate,
        ...(here.level === "grid" ? { grid_staffed_rate: here.grid_staffed_rate, qualified_secretary_rate: here.qualified_secretary_rate } : {}) };
      const rows = STAFFING.filter(([k]) => rates && rates[k] !== null && rates[k] !== undefined);
      if (!table || !rows.length || figuresEl.dataset.unit !== `${here.level}:${here.code}`) return;
      (table.tBodies[0] || table).insertAdjacentHTML("beforeend", rows.map(([k, zh, en]) =>
        `<tr class="staffing"><th title="${en}">${zh}</th><td>${pct(rates[k])}</td></tr>`).join(""));
    });
  }

  // at the subdistrict, what its communities do not hold, so that the rows add up to its total:
  // buildings outside every community and members placed in no building (both are gaps listed)
  function beyondRow(here, kids) {
    if (!here || here.level !== "subdistrict" || top !== "subdistrict") return "";
    const sum = (key) => kids.reduce((n, f) => n + (Number(f[key]) || 0), 0);
    const households = here.households - sum("households");
    const members = here.members - sum("members");
    if (!(households > 0 || members > 0)) return "";
    return `<tr class="beyond" title="楼栋在各社区边界外，或党员未落位到任何楼栋（见留白与问题） / buildings outside every community, or members placed in no building (see the gaps)">` +
      `<td>不属于任何社区 <small>in no community</small></td><td>${households}</td><td>${members}</td><td>—</td></tr>`;
  }

  function renderPanel() {
    const crumbs = [];
    if (top === "subdistrict") crumbs.push(`<a href="#" data-level="subdistrict">${escape(SUBDISTRICT_ZH)} <small>subdistrict</small></a>`);
    if (state.community && top !== "grid") crumbs.push(`<a href="#" data-level="community" data-code="${escape(state.community)}">${escape(nameOf("community", state.community))}</a>`);
    if (state.grid) crumbs.push(`<span>${escape(nameOf("grid", state.grid))}</span>`);
    crumbsEl.innerHTML = crumbs.join(" › ");
    const here = state.grid ? figures.grid.find((f) => f.code === state.grid)
      : state.community ? figures.community.find((f) => f.code === state.community) : figures.subdistrict[0];
    const heading = here && (here.name || (here.level === "subdistrict" ? SUBDISTRICT_ZH : LEVEL_ZH[here.level]));
    figuresEl.dataset.unit = here ? `${here.level}:${here.code}` : "";
    figuresEl.innerHTML = here ? `<h2>${escape(heading)} <small>${here.level}</small></h2>${gm.figuresTable(here)}${boardLink()}` : "";
    showStaffing(here);
    if (gm.showPeople) gm.showPeople(here); // 服务人员 (map-people.js)
    const kids = state.grid ? [] : state.community
      ? figures.grid.filter((f) => f.community_code === state.community) : figures.community;
    childrenEl.innerHTML = kids.length ? `<h2>${state.community ? "网格 <small>grids</small>" : "社区 <small>communities</small>"}</h2>` +
      `<table class="children"><tr><th>名称</th><th title="households">户数</th><th title="members">党员</th><th title="organisational coverage">覆盖率</th></tr>` +
      kids.map((f) => `<tr><td><a href="#" data-level="${f.level}" data-code="${escape(f.code)}" data-community="${escape(f.community_code || "")}">${escape(f.name || f.code)}</a></td>` +
        `<td>${f.households}</td><td>${f.members}</td><td>${pct(f.org_coverage)}</td></tr>`).join("") + beyondRow(here, kids) + "</table>" : "";
    el.dataset.level = state.level;
    gm.renderTheme();
    gm.exportHref();
    return Promise.all([gm.loadList(), gm.loadCounts()]);
  }

  // the panel on a unit (its figures, legend counts, list and export), the map left as it is
  function showUnit(level, code, community) {
    state.level = level;
    state.community = level === "subdistrict" ? null : level === "community" ? code : community || state.community;
    state.grid = level === "grid" ? code : null;
    return renderPanel();
  }

  // the panel on a unit, and the map framed on it
  function drill(level, code, community) {
    showUnit(level, code, community);
    const target = level === "subdistrict" ? null : index.get(`${level === "grid" ? "grid:unified" : level}:${code}`);
    if (target && target.getBounds) map.fitBounds(target.getBounds(), { padding: [20, 20] });
    else if ((level === "subdistrict" || (area && code === area.code)) && home) map.fitBounds(home);
    else if (level === "grid") getJSON(`/api/search?q=${encodeURIComponent(code)}&limit=5`).then((hits) => {
      const hit = hits.find((h) => h.code === code);
      if (hit && hit.bbox) map.fitBounds([[hit.bbox[1], hit.bbox[0]], [hit.bbox[3], hit.bbox[2]]]);
    });
    map.closePopup();
  }

  document.addEventListener("click", (e) => {
    const shown = e.target.closest("a.proposals-link");
    if (shown) { // a gap's link to its community's organisation proposals: the layer on, the community shown
      e.preventDefault();
      const { proposals } = gm.groups;
      if (proposals && !map.hasLayer(proposals)) proposals.addTo(map);
      drill("community", shown.dataset.community);
      return;
    }
    const a = e.target.closest("a[data-level]");
    if (!a) return;
    e.preventDefault();
    drill(a.dataset.level, a.dataset.code, a.dataset.community);
  });

  Object.assign(gm, { renderPanel, showUnit, drill });
})();
