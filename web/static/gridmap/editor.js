// gridmap planners' editor. Leaflet + leaflet-geoman draw and edit the cells of a draft plan;
// every figure and every check comes from the server (/api/plans/...), the browser only draws.
// Guides (communities, compounds, buildings) are snappable, so shared borders are shared exactly.
// Free edits go through editor-topology.js: a vertex shared by two cells moves in both, and the
// server refuses an edit that would open an overlap or 留白 (the cells are then restored).
(function () {
  "use strict";
  const el = document.getElementById("map");
  const cfg = JSON.parse(el.dataset.config);
  const map = L.map(el, { maxZoom: 20 });
  map.createPane("guides").style.zIndex = 390;
  map.createPane("problems").style.zIndex = 650;
  if (cfg.bounds) map.fitBounds([[cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]]);
  else map.setView([30.66, 104.06], 14);
  L.control.scale({ imperial: false }).addTo(map);

  const { escape } = window.gridmapKit; // common.js, loaded first by editor.html
  // the server speaks UTC ISO 8601 (2026-11-27T01:09:48+00:00); people read their local time
  const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})/g;
  const localTime = (iso) => {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? String(iso ?? "") : t.toLocaleString("zh-CN", { hourCycle: "h23" });
  };
  const localTimes = (text) => String(text ?? "").replace(ISO_TIME, localTime);
  const statusEl = document.getElementById("status");
  function say(zh, en, kind) {
    statusEl.className = kind || "";
    statusEl.innerHTML = `${escape(zh)}${en ? `<br><small>${escape(en)}</small>` : ""}`;
  }
  // changes made with the login session carry its CSRF token (see gridmap/api/security.py)
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function api(method, url, body) {
    const r = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await r.json().catch(() => null);
    if (!r.ok) {
      const err = new Error((data && (data.message_en || JSON.stringify(data.detail))) || String(r.status));
      err.status = r.status; err.data = data || {};
      throw err;
    }
    return data;
  }
  const fail = (err) => say(localTimes((err.data && err.data.message_zh) || "请求失败"), localTimes(err.message), "error");

  // ---- the plan's cells --------------------------------------------------------------------------
  const CELL = { color: "#1565c0", weight: 2, fillOpacity: 0.12 };
  // cells outside a planner's area: shown, snapped to, never edited (a save changing them is refused)
  const LOCKED = { color: "#9e9e9e", weight: 1, dashArray: "4 4", fillColor: "#bdbdbd", fillOpacity: 0.35 };
  let locked = new Set();
  let areaCode = null;
  const isLocked = (layer) => locked.has(codeOf(layer));
  const styleOf = (layer) => (isLocked(layer) ? LOCKED : CELL);
  const cells = L.featureGroup().addTo(map);
  let planId = cfg.plan_id;
  let version = null;
  let newCount = 0;
  const collection = (layers) => ({ type: "FeatureCollection",
    features: (layers || cells.getLayers()).map((l) => l.toGeoJSON(8)) });
  const codeOf = (layer) => layer.feature.properties.code;
  const byCode = (code) => cells.getLayers().find((l) => codeOf(l) === code);
  // cells named first, codes in small print (玉林一网格 DJ503): as drawn now, or as loaded (a cell
  // removed since keeps its name)
  const seenNames = {};
  const cellName = (code) => byCode(code)?.feature.properties.name || seenNames[code];
  const cellNamed = (code) => window.gridmapKit.named(cellName(code), code);

  function bindCell(layer) {
    layer.setStyle(styleOf(layer));
    layer.bindTooltip(() => escape(codeOf(layer)) + (isLocked(layer)
      ? `<br>不在您的范围 ${escape(areaCode)} 内，不可编辑<br><small>outside your area: read only</small>` : ""), { sticky: true });
    layer.on("pm:edit", () => edited([layer]));
    layer.on("click", () => merging && pick(layer));
  }
  function addCell(feature) {
    const out = locked.has(feature.properties && feature.properties.code);
    const layer = L.geoJSON(feature, { pmIgnore: out, snapIgnore: false }).getLayers()[0];
    layer.feature = { type: "Feature", properties: { ...feature.properties } };
    cells.addLayer(layer);
    bindCell(layer);
    return layer;
  }

  // ---- undo / redo: snapshots of the whole plan ---------------------------------------------------
  let history = [];
  let at = -1;
  const undoBtn = document.getElementById("undo");
  const redoBtn = document.getElementById("redo");
  function snapshot() {
    history = history.slice(0, at + 1);
    history.push(JSON.stringify(collection()));
    at = history.length - 1;
    undoBtn.disabled = at <= 0; redoBtn.disabled = true;
  }
  function restore(i) {
    at = i;
    cells.clearLayers();
    JSON.parse(history[at]).features.forEach(addCell);
    undoBtn.disabled = at <= 0; redoBtn.disabled = at >= history.length - 1;
    validateSoon();
  }
  undoBtn.addEventListener("click", () => at > 0 && restore(at - 1));
  redoBtn.addEventListener("click", () => at < history.length - 1 && restore(at + 1));

  // ---- live figures of the touched cells ----------------------------------------------------------
  const figuresEl = document.getElementById("figures");
  const BAND = { ok: "在范围内", below: "户数偏少", above: "户数偏多" };
  // member counts the server hides: fewer than GRIDMAP_MIN_COUNT_SHOWN in a drawn shape (for
  // roles that may not see personal data), or a shape reaching beyond the account's area
  function memberCount(row, split) {
    const n = row.members_min_shown;
    if (row.members_hidden === "outside_area") return '<span class="hidden-count">范围外不计 <small>outside your area</small></span>';
    if (row.members_hidden === "few") return `<span class="hidden-count">&lt;${n} <small>少于 ${n} 人不显示 fewer than ${n}</small></span>`;
    if (!split) return `${row.members}`;
    if (row.members_hidden === "split") return `${row.members} <small class="hidden-count">(正式/预备少于 ${n} 人不分列 split not shown)</small>`;
    return `${row.members} (${row.members_full}/${row.members_probationary})`;
  }
  function showFigures(layers) {
    if (!planId || !layers.length) return Promise.resolve();
    const started = performance.now();
    return api("POST", `/api/plans/${planId}/figures`, { cells: collection(layers) }).then((rows) => {
      figuresEl.innerHTML = rows.map((f) => `<h3>${cellNamed(f.code)}</h3><table class="figures">` +
        `<tr><th title="households">户数</th><td class="band-${f.band}">${f.households} <small>${BAND[f.band]} (${cfg.band[0]}–${cfg.band[1]})</small></td></tr>` +
        `<tr><th title="buildings">楼栋</th><td>${f.buildings}</td></tr>` +
        `<tr><th title="compounds held whole">小区</th><td>${escape(f.compounds.split(";").filter(Boolean).join("、")) || "–"}</td></tr>` +
        `<tr><th title="compounds cut by this cell">被切分小区</th><td class="cut">${escape(f.compounds_cut.split(";").filter(Boolean).join("、")) || "无 <small>none</small>"}</td></tr>` +
        `<tr><th title="members full/probationary">党员 (正式/预备)</th><td class="members">${memberCount(f, true)}</td></tr>` +
        `<tr><th title="Party service stations within reach">可达服务站</th><td>${escape(f.stations_in_reach.split(";").filter(Boolean).join("、")) || "无 <small>none</small>"}</td></tr>` +
        "</table>").join("");
      el.dataset.figuresFor = rows.map((f) => f.code).join(",");
      el.dataset.figuresMs = Math.round(performance.now() - started);
    }).catch(fail);
  }

  // ---- validation, drawn on the map, with one-click fixes ----------------------------------------
  const problemsEl = document.getElementById("problems");
  const problems = L.geoJSON(null, { pane: "problems", pmIgnore: true, snapIgnore: true,
    style: { color: "#d50000", weight: 3, dashArray: "6 4", fillColor: "#d50000", fillOpacity: 0.35 } }).addTo(map);
  const FIX = { snap_compound: "贴合小区边界", clip_to_community: "裁到社区内", fill_gap: "并入相邻网格" };
  const FIX_EN = { snap_compound: "snapped to the compound", clip_to_community: "clipped to the community", fill_gap: "joined to a neighbouring cell" };
  const KIND = { plan_overlap: "网格重叠", plan_crosses_community: "跨社区边界", plan_cuts_compound: "切分小区", plan_uncovered: "留白" };
  let timer = null;
  function validateSoon() { clearTimeout(timer); timer = setTimeout(validate, 250); }
  function validate() {
    if (!planId) return Promise.resolve();
    return api("POST", `/api/plans/${planId}/validate`, { cells: collection() }).then((data) => {
      problems.clearLayers();
      problems.addData(data);
      problems.eachLayer((l) => l.bindPopup(`<b>${escape(KIND[l.feature.properties.kind])}</b> ${escape(l.feature.properties.message_zh)}<br><small>${escape(l.feature.properties.message_en)}</small>`));
      problemsEl.innerHTML = "";
      data.features.forEach((f) => {
        const p = f.properties;
        const li = document.createElement("li");
        li.dataset.kind = p.kind; li.dataset.code = p.code;
        li.innerHTML = `<b>${escape(KIND[p.kind] || p.kind)}</b> ${escape(p.message_zh)}<br><small>${escape(p.message_en)}</small>` +
          (p.fix ? ` <button type="button">${FIX[p.fix]} <small>fix</small></button>` : "");
        if (p.fix) li.querySelector("button").addEventListener("click", () => fix(p.fix, p.code, p.place || p.code));
        problemsEl.appendChild(li);
      });
      if (!data.features.length) problemsEl.innerHTML = '<li class="note">没有问题 <small>no problems</small></li>';
      el.dataset.problems = data.features.length;
    }).catch(fail);
  }
  function fix(kind, code, place) {
    return api("POST", `/api/plans/${planId}/fix`, { kind, code, cells: collection() }).then((data) => {
      const touched = data.features.map((f) => {
        const old = byCode(f.properties.code);
        if (old) cells.removeLayer(old);
        return addCell(f);
      });
      changed(touched);
      say(`已${FIX[kind]}：${place}`, `Fixed (${FIX_EN[kind]}): ${place}`, "ok");
    }).catch(fail);
  }

  // a free edit: checked by the topology module (when loaded) before it is kept
  const edited = (layers) => (window.gridmapTopology ? window.gridmapTopology.edited(layers) : changed(layers));
  function changed(layers) {
    snapshot();
    el.dataset.dirty = "1";
    showFigures(layers.filter((l) => cells.hasLayer(l)));
    validateSoon();
  }

  // ---- drawing tools ---------------------------------------------------------------------------
  map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false, drawPolyline: false,
    drawCircle: false, drawText: false, rotateMode: false, drawRectangle: true, cutPolygon: true });
  // outlines are checked by the server after each edit (a fold is refused, a hair's crossing
  // repaired): geoman's own check would silently put back any drag on a cell whose stored
  // outline already touches itself by a hair, as rounding to 8 decimals can leave it
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: true });
  if (map.pm.setLang) map.pm.setLang("zh");
  const newCode = () => `NEW-${++newCount}`;
  map.on("pm:create", (e) => {
    const layer = e.layer;
    map.removeLayer(layer);
    if (window.gridmapTopology) { window.gridmapTopology.drawn(layer); return; } // carved from the cells it covers
    layer.feature = { type: "Feature", properties: { code: newCode() } };
    cells.addLayer(layer);
    bindCell(layer);
    changed([layer]);
  });
  map.on("pm:remove", (e) => { if (cells.hasLayer(e.layer)) { cells.removeLayer(e.layer); edited([e.layer]); } });
  // a cut keeps the rest under the old code and makes the cut-off part a new cell: a split. One
  // cut may split several cells (geoman fires once for each): they are checked together
  let cuts = [];
  let cutting = 0; // cuts whose pieces are still on their way: no check before they are in
  map.on("pm:cut", (e) => {
    const original = e.originalLayer.toGeoJSON(8);
    const rest = e.layer;
    if (cells.hasLayer(e.originalLayer)) cells.removeLayer(e.originalLayer);
    map.removeLayer(rest);
    const kept = addCell({ ...rest.toGeoJSON(8), properties: original.properties });
    if (!cuts.length) {
      cutting += 1;
      Promise.resolve().then(() => { const batch = cuts; cuts = []; return Promise.all(batch); })
        .then((split) => { cutting -= 1; edited(split.flat()); });
    }
    cuts.push(api("POST", `/api/plans/${planId}/shapes`, { op: "difference", a: original, b: kept.toGeoJSON(8) })
      .then((piece) => [kept, addCell({ ...piece, properties: { code: newCode() } })])
      .catch((err) => { fail(err); return [kept]; }));
  });

  // ---- merge two cells -----------------------------------------------------------------------
  let merging = false;
  let picked = [];
  const mergeBtn = document.getElementById("merge");
  mergeBtn.addEventListener("click", () => {
    merging = !merging; picked = [];
    mergeBtn.classList.toggle("active", merging);
    if (merging) say("点选要合并的两个网格。", "Click the two cells to merge.");
  });
  function pick(layer) {
    if (isLocked(layer)) {
      say(`网格 ${codeOf(layer)} 不在您的范围 ${areaCode} 内，不能合并。`, `Cell ${codeOf(layer)} lies outside your area ${areaCode}; it cannot be merged.`, "error");
      return;
    }
    picked.push(layer);
    layer.setStyle({ color: "#ff6f00", weight: 4 });
    if (picked.length < 2) return;
    const [a, b] = picked;
    merging = false; picked = []; mergeBtn.classList.remove("active");
    api("POST", `/api/plans/${planId}/shapes`, { op: "merge", a: a.toGeoJSON(8), b: b.toGeoJSON(8) }).then((f) => {
      cells.removeLayer(a); cells.removeLayer(b);
      say(`已合并 ${codeOf(a)} 与 ${codeOf(b)}`, "Merged.", "ok");
      return edited([addCell(f), b]);
    }).catch(fail);
  }

  // ---- plans: load, new, save, diff, approve ------------------------------------------------------
  // the server welds the plan once as it opens: a corner on a neighbour's edge (T-junction) becomes one vertex
  const welded = (plan) => api("POST", `/api/plans/${plan.id}/topology/weld`).then((answer) => {
    const by = new Map(answer.cells.features.map((f) => [f.properties.code, f.geometry]));
    plan.cells.features.forEach((f) => { if (by.has(f.properties.code)) f.geometry = by.get(f.properties.code); });
    el.dataset.welded = answer.welded; return plan; });
  function load(id) {
    return api("GET", `/api/plans/${id}`).then(welded).then((plan) => {
      planId = plan.id; version = plan.version;
      locked = new Set(plan.locked || []); areaCode = plan.area;
      cells.clearLayers();
      plan.cells.features.forEach(addCell);
      plan.cells.features.forEach((f) => { if (f.properties.name) seenNames[f.properties.code] = f.properties.name; });
      history = []; at = -1; snapshot();
      document.getElementById("export").href = `/api/plans/${planId}/export?format=geojson`;
      el.dataset.version = version; el.dataset.cells = plan.cells.features.length; el.dataset.dirty = "0";
      el.dataset.locked = locked.size;
      const who = plan.saved_by || plan.created_by;
      const when = localTime(plan.saved_at || plan.created_at);
      say(`方案 ${plan.name}（${STATUS[plan.status] || plan.status}），第 ${plan.version} 版，${who} 保存于 ${when}` +
        (locked.size ? `；范围 ${plan.area} 以外的 ${locked.size} 个网格只读（灰色）` : ""),
        `Plan ${plan.id}, version ${plan.version} (${plan.status}), saved by ${who} at ${when}` +
        (locked.size ? `; ${locked.size} cells outside your area ${plan.area} are read only (grey)` : ""));
      return validate();
    });
  }
  // the plan selector in Chinese: 党建网格, 第 3 版, 草稿 (the page lists the layers by their keys)
  const STATUS = { draft: "草稿", approved: "已批准" };
  const planLabel = (p) => `${p.id} · ${p.name}（${p.grid_layer_zh || p.grid_layer}，第 ${p.version} 版，${STATUS[p.status] || p.status}）`;
  function labelPlans() {
    return api("GET", "/api/plans").then((plans) => {
      const select = document.getElementById("plan-select");
      for (const p of plans) {
        const option = select.querySelector(`option[value="${p.id}"]`);
        if (option) option.textContent = planLabel(p);
      }
    });
  }
  document.getElementById("plan-select").addEventListener("change", (e) => {
    if (e.target.value) location.search = `?plan=${e.target.value}`;
  });
  document.getElementById("new-plan").addEventListener("click", () => {
    const name = window.prompt("方案名称 / plan name", `网格调整方案 ${new Date().toISOString().slice(0, 10)}`);
    if (!name) return;
    api("POST", "/api/plans", { name, grid_layer: cfg.grid_layer })
      .then((plan) => { location.search = `?plan=${plan.id}`; }).catch(fail);
  });
  document.getElementById("propose").addEventListener("click", () => {
    const name = window.prompt("自动划分方案名称 / name of the proposed plan", `自动划分 ${new Date().toISOString().slice(0, 10)}`);
    if (!name) return;
    say("正在自动划分，请稍候…", "Proposing grids…");
    api("POST", "/api/plans/propose", { name }).then((plan) => {
      sessionStorage.setItem("gridmap.proposed", JSON.stringify(plan.problems));
      location.search = `?plan=${plan.id}`;
    }).catch(fail);
  });
  function proposedProblems() {
    const text = sessionStorage.getItem("gridmap.proposed");
    if (!text) return;
    sessionStorage.removeItem("gridmap.proposed");
    const problems = JSON.parse(text);
    const li = problems.map((p) => `<li>${escape(p.message_zh)}<br><small>${escape(p.message_en)}</small></li>`).join("");
    document.getElementById("diff-table").innerHTML = `<h3>自动划分未能满足 <small>what the proposal could not satisfy</small></h3>` +
      (li ? `<ol>${li}</ol>` : '<p class="note">全部满足 <small>all satisfied</small></p>');
  }
  document.getElementById("save").addEventListener("click", () => {
    if (!planId) return;
    api("PUT", `/api/plans/${planId}`, { version, cells: collection() }).then((plan) => {
      version = plan.version; el.dataset.version = version; el.dataset.dirty = "0";
      say(`已保存为第 ${version} 版`, `Saved as version ${version}.`, "ok");
      return labelPlans(); // the plan list says the new version
    }).catch((err) => {
      fail(err);
      if (err.status === 409) el.dataset.conflict = "1";
    });
  });
  document.getElementById("diff").addEventListener("click", () => {
    if (!planId) return;
    api("GET", `/api/plans/${planId}/diff`).then((d) => {
      const CHANGE = { added: "新增", removed: "删除", reshaped: "调整" };
      const NO_GRID = "不属于任何网格"; // a building outside every cell, before or after
      document.getElementById("diff-table").innerHTML = `<p class="note">按已保存的第 ${version} 版比较 <small>saved version</small></p>` +
        `<table class="figures"><tr><th>网格</th><th>变化</th><th>面积变化 m²</th></tr>${d.cells.map((c) =>
          `<tr><td>${cellNamed(c.code)}</td><td>${CHANGE[c.change]}</td><td>${Math.round(c.changed_m2)}</td></tr>`).join("")}</table>` +
        `<table class="figures"><tr><th>从</th><th>到</th><th>楼栋</th><th>户数</th><th>党员</th></tr>${d.moves.map((m) =>
          `<tr><td>${m.from_code ? cellNamed(m.from_code) : NO_GRID}</td><td>→ ${m.to_code ? cellNamed(m.to_code) : NO_GRID}</td><td>${m.buildings}</td><td>${m.households}</td><td class="members">${memberCount(m, false)}</td></tr>`).join("")}</table>`;
      el.dataset.diffCells = d.cells.length;
      drawDiff(d);
    }).catch(fail);
  });
  // the diff on the map: added cells green, reshaped orange, removed ones (from the current
  // layer) grey and dashed; a click on the map's cells restores the usual style
  const DIFF = { added: "#2e7d32", reshaped: "#ef6c00" };
  const removedLayer = L.geoJSON(null, { pane: "problems", pmIgnore: true, snapIgnore: true, interactive: false,
    style: { color: "#616161", weight: 2, dashArray: "2 6", fillColor: "#9e9e9e", fillOpacity: 0.25 } }).addTo(map);
  function drawDiff(d) {
    const change = Object.fromEntries(d.cells.map((c) => [c.code, c.change]));
    cells.eachLayer((l) => l.setStyle(DIFF[change[codeOf(l)]] ? { ...CELL, color: DIFF[change[codeOf(l)]], weight: 4, fillOpacity: 0.3 } : styleOf(l)));
    removedLayer.clearLayers();
    const removed = d.cells.filter((c) => c.change === "removed").map((c) => c.code);
    if (removed.length && d.plan) {
      api("GET", `/api/layers/${encodeURIComponent("grid:" + d.plan.grid_layer)}/features?zoom=18`).then((fc) => {
        removedLayer.addData({ ...fc, features: fc.features.filter((f) => removed.includes(f.properties.code)) });
      }).catch(fail);
    }
    el.dataset.diffDrawn = Object.keys(change).length;
  }
  // only accounts that may approve get the button (the server checks again)
  // the confirmation names the validation problems still open (validated afresh, as drawn now)
  document.getElementById("approve")?.addEventListener("click", () => {
    if (!planId) return;
    validate().then(() => {
      const open = Number(el.dataset.problems || 0);
      const warning = open
        ? `此方案仍有 ${open} 个校验问题未解决（见“校验”）。\nThis plan still has ${open} open validation problem${open === 1 ? "" : "s"} (see validation).\n\n`
        : "";
      if (!window.confirm(`${warning}批准后此方案成为现行网格，原网格存入历史。继续？\nApprove: the plan becomes the current layer. Continue?`)) return;
      api("POST", `/api/plans/${planId}/approve`, { version })
        .then((r) => say(`已批准：替换 ${r.replaced} 个网格，现有 ${r.cells} 个`, "Approved.", "ok")).catch(fail);
    });
  });

  const start = planId ? load(planId).catch(fail) : Promise.resolve(say("选择或新建一个方案。", "Choose or create a plan."));
  start.then(() => labelPlans().catch(fail)).then(() => { proposedProblems(); el.dataset.ready = "1"; });
  // the committed state (the last step of the history), what a refused edit goes back to
  const committed = () => JSON.parse(history[at]);
  window.gridmapEditor = { map, cells, load, validate, collection, api, say, fail, changed, addCell, codeOf,
    isLocked, newCode, committed, planId: () => planId, cutting: () => cutting > 0 };
})();
