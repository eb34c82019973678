// Paint mode of the planners' editor (涂色, the default where the plan's communities have a unit
// fabric): a plan is an assignment of the fabric's units to cells and every cell is drawn as the
// dissolve of its units (POST /api/fabric/cells), so a painted plan has no overlap and no 留白 by
// construction. Pick a cell, click or brush units into it (mouse, finger or pen), Shift+drag a box;
// 锁定 keeps a cell as it is; undo and redo of any depth. The cells stay the editor's own layers
// (window.gridmapEditor), reshaped in place, so 保存, 校验, 差异 and 批准 work on the painted plan
// unchanged.
(function () {
  "use strict";
  const el = document.getElementById("map");
  const box = document.getElementById("paint");
  const editor = window.gridmapEditor;
  const view = window.gridmapPaintView;
  const cfg = JSON.parse(el.dataset.config);
  if (!box || !editor || !view || !cfg.plan_id) return;
  const { map } = editor;
  const planId = cfg.plan_id;
  const { say, send, fail } = view;

  // ---- state: units, their cells, the cells' figures, locks, the strokes made ----------------------
  map.createPane("units").style.zIndex = 660; // above cells and problems: strokes reach the units
  const UNIT = { pane: "units", color: "#37474f", weight: 0.6, opacity: 0.8, fillColor: "#ff6f00", fillOpacity: 0 };
  const unitsLayer = L.featureGroup();
  const state = { figures: new Map(), locked: new Set(), current: null };
  let units = new Map(); // unit code → { layer, community, centre }
  let assign = new Map(); // unit code → cell code
  let cellInfo = new Map(); // cell code → { name, community, layer, outside (of the planner's area) }
  let history = []; // strokes, each a list of [unit, from cell, to cell]
  let at = 0; // strokes applied
  let painted = false; // the cells are drawn as the dissolves of their units
  let paintable = new Set(); // the cells the planner may paint with (in the area, with units)
  let mode = "paint";
  let ui = null;
  const blocked = (cell) => cell !== null && cell !== undefined && (state.locked.has(cell) || cellInfo.get(cell).outside);
  const dirty = () => el.dataset.dirty === "1";

  function setUp(rows, collections) {
    unitsLayer.clearLayers();
    units = new Map(); assign = new Map(); cellInfo = new Map(); history = []; at = 0; painted = false;
    state.figures.clear(); state.current = null;
    editor.cells.eachLayer((layer) => {
      const p = layer.feature.properties;
      cellInfo.set(p.code, { name: p.name || p.code, community: p.community_code, layer, outside: Boolean(layer.options.pmIgnore) });
    });
    for (const fc of collections) for (const f of fc.features) {
      const layer = L.geoJSON(f, { pane: "units", style: () => UNIT, pmIgnore: true, snapIgnore: true }).getLayers()[0];
      layer.unit = f.properties.code;
      units.set(layer.unit, { layer, community: f.properties.community_code, centre: layer.getBounds().getCenter() });
      unitsLayer.addLayer(layer);
    }
    for (const r of rows) if (units.has(r.unit_code) && cellInfo.has(r.cell_code)) assign.set(r.unit_code, r.cell_code);
    for (const [u, from, to] of view.keepInCommunity(assign, units, cellInfo)) {
      say(`单元 ${u} 属于另一社区，已从 ${from} 改入 ${to || "（无）"}`, `Unit ${u} lies in another community: moved from ${from} to ${to || "no cell"}.`);
    }
    return send("POST", "/api/fabric/cells", body(new Set(assign.values()))).then((fc) => {
      fc.features.forEach((f) => state.figures.set(f.properties.code, f.properties));
      paintable = new Set(state.figures.keys());
      el.dataset.paint = "ready";
      render(); buttons(); setMode(mode);
    });
  }

  // ---- strokes, undo, redo ---------------------------------------------------------------------
  let stroke = null; // { target, units: Set }
  function touch(u) {
    if (!stroke || stroke.units.has(u)) return;
    const from = assign.get(u);
    const ok = from !== stroke.target && !blocked(from) && !blocked(stroke.target) &&
      cellInfo.get(stroke.target).community === units.get(u).community;
    if (!ok) return;
    stroke.units.add(u);
    units.get(u).layer.setStyle({ fillOpacity: 0.6 });
  }
  function endStroke() {
    const s = stroke;
    stroke = null;
    map.dragging.enable();
    const moves = [...s.units].map((u) => [u, assign.get(u) ?? null, s.target]);
    if (!moves.length) { // locked, outside the area, in another community, or already there
      el.dataset.paintRefused = Number(el.dataset.paintRefused || 0) + 1;
      say("这一笔没有可移动的单元（已锁定、不在范围内或属另一社区）", "Nothing to move in this stroke (locked, outside your area, or another community).");
      return;
    }
    history = history.slice(0, at);
    history.push(moves);
    at = history.length;
    apply(moves, 2);
  }
  function apply(moves, side) { // side 2: as stroked, 1: undone
    const touched = new Set();
    for (const m of moves) {
      if (m[side] === null) assign.delete(m[0]); else assign.set(m[0], m[side]);
      if (m[1] !== null) touched.add(m[1]);
      touched.add(m[2]);
    }
    refresh(touched);
  }
  // a step that would change a cell locked since is refused, as a stroke would be
  const free = (moves) => {
    if (!moves.some((m) => blocked(m[1]) || blocked(m[2]))) return true;
    el.dataset.paintRefused = Number(el.dataset.paintRefused || 0) + 1;
    say("这一步会改变已锁定的网格，先解锁", "This step would change a locked cell; unlock it first.", "error");
    return false;
  };
  const undo = () => { if (at > 0 && free(history[at - 1])) { at -= 1; apply([...history[at]].reverse(), 1); } };
  const redo = () => { if (at < history.length && free(history[at])) { apply(history[at], 2); at += 1; } };

  // ---- each stroke: the touched cells dissolved from their units, with their figures ----------------
  function body(cells) {
    const out = { units: {}, names: {} };
    for (const [u, c] of assign) if (cells.has(c)) out.units[u] = c;
    for (const c of cells) out.names[c] = cellInfo.get(c).name;
    return out;
  }
  let queue = Promise.resolve();
  let pending = 0;
  function refresh(touched) {
    pending += 1;
    el.dataset.paintBusy = "1";
    el.dataset.dirty = "1";
    restyle(); buttons();
    queue = queue.then(() => {
      // the first stroke redraws every cell the planner may paint from its units
      const cells = painted ? touched : new Set([...paintable].filter((c) => !cellInfo.get(c).outside));
      painted = true;
      const started = performance.now();
      const request = body(cells);
      const answer = Object.keys(request.units).length ? send("POST", "/api/fabric/cells", request) : Promise.resolve({ features: [] });
      return answer.then((fc) => {
        draw(cells, fc);
        view.figures(ui, fc.features.map((f) => f.properties).filter((p) => touched.has(p.code)), cfg.band);
        el.dataset.paintMs = Math.round(performance.now() - started);
      }).catch(fail);
    }).finally(() => {
      pending -= 1;
      if (pending) return;
      render(); buttons(); checkSoon();
      el.dataset.paintBusy = "0";
      el.dataset.paintAt = at;
    });
  }
  function draw(cells, fc) {
    const made = new Map(fc.features.map((f) => [f.properties.code, f]));
    for (const code of cells) {
      const { layer } = cellInfo.get(code);
      const f = made.get(code);
      if (!f) { // every unit moved out: the cell goes (an undo brings it back)
        editor.cells.removeLayer(layer);
        state.figures.delete(code);
        continue;
      }
      const g = f.geometry;
      layer.setLatLngs(L.GeoJSON.coordsToLatLngs(g.coordinates, g.type === "Polygon" ? 1 : 2));
      if (!editor.cells.hasLayer(layer)) editor.cells.addLayer(layer);
      layer.setStyle({ fillColor: view.BAND_COLOUR[f.properties.band], fillOpacity: 0.25 });
      state.figures.set(code, f.properties);
    }
  }
  // validation and the cells' labels follow the painting, once it pauses; data-paint-checked
  // says up to which stroke the validation list is current
  let timer = null;
  function checkSoon() {
    clearTimeout(timer);
    const upTo = at;
    timer = setTimeout(() => {
      editor.validate().then(() => { el.dataset.paintChecked = upTo; });
      if (window.gridmapEditorLabels) window.gridmapEditorLabels();
    }, 400);
  }
  function restyle() {
    for (const [u, info] of units) {
      const c = assign.get(u);
      info.layer.setStyle(blocked(c) ? { fillColor: "#757575", fillOpacity: 0.3 }
        : { fillColor: UNIT.fillColor, fillOpacity: c && c === state.current ? 0.35 : 0 });
    }
  }

  // ---- the panel ---------------------------------------------------------------------------------
  function render() {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#paint-cells tr");
    const cells = [...paintable].filter((c) => !cellInfo.get(c).outside).sort()
      .map((code) => ({ code, name: cellInfo.get(code).name }));
    view.list(ui, cells, state, cfg.band);
    if (focused) ui.list.querySelector(`tr[data-code="${CSS.escape(focused.dataset.code)}"] button.pick`)?.focus();
  }
  function buttons() {
    ui.undo.disabled = mode !== "paint" || at === 0;
    ui.redo.disabled = mode !== "paint" || at >= history.length;
    ui.paint.disabled = mode === "paint" || dirty() || el.dataset.paint !== "ready" && el.dataset.paint !== "draw";
    ui.draw.disabled = mode === "draw" || (painted && dirty());
    ui.draw.title = painted && dirty() ? "先保存涂色，再绘制 / save the painting before drawing" : "绘制 / draw and edit cells freely";
    ui.paint.title = dirty() && mode === "draw" ? "先保存绘制的修改，再涂色 / save your drawing before painting" : "涂色 / paint units into cells";
    // once painted, the drawing tools and the drawing's own undo would act on a stale history
    const drawing = !(mode === "paint" && painted);
    document.querySelectorAll(".leaflet-pm-toolbar").forEach((t) => { t.style.display = drawing ? "" : "none"; });
    for (const id of ["undo", "redo", "merge"]) { const b = document.getElementById(id); if (b) b.hidden = !drawing; }
    document.body.classList.toggle("painting", !drawing); // the one-click fixes are drawing too
  }
  function pick(code, fromMap) {
    const info = code && cellInfo.get(code);
    if (!info) return;
    if (fromMap) info.layer.fire("click"); // the cell's own figures, as a click on it shows them
    if (blocked(code)) {
      say(`网格 ${info.name}（${code}）已锁定或不在您的范围内`, `Cell ${code} is locked or outside your area.`, "error");
      return;
    }
    state.current = code;
    restyle(); render();
    say(`用 ${info.name}（${code}）涂色：点击或拖刷单元`, `Painting with ${code}: click or brush units.`);
  }
  function setMode(next) {
    const leaving = mode === "paint" && next === "draw" && painted;
    mode = next;
    ui.paint.setAttribute("aria-pressed", String(next === "paint"));
    ui.draw.setAttribute("aria-pressed", String(next === "draw"));
    ui.tools.hidden = next !== "paint";
    if (next === "paint") { unitsLayer.addTo(map); map.boxZoom.disable(); } else { map.removeLayer(unitsLayer); map.boxZoom.enable(); }
    if (leaving) editor.load(planId).then(() => { el.dataset.paint = "draw"; buttons(); }).catch(fail); // the saved cells, a fresh drawing history
    buttons();
  }
  function start() {
    return send("GET", `/api/fabric/assignment?plan=${planId}`).then((table) => {
      const communities = [...new Set(table.units.map((u) => u.community_code))];
      return Promise.all(communities.map((c) => send("GET", `/api/fabric?community=${encodeURIComponent(c)}`)))
        .then((collections) => setUp(table.units, collections));
    });
  }

  // ---- events --------------------------------------------------------------------------------------
  unitsLayer.on("mousedown", (e) => {
    const ev = e.originalEvent;
    if (mode !== "paint" || ev.button !== 0 || ev.shiftKey) return;
    if (ev.altKey || !state.current) { pick(assign.get(e.layer.unit), true); return; }
    map.dragging.disable();
    stroke = { target: state.current, units: new Set() };
    touch(e.layer.unit);
  });
  unitsLayer.on("mouseover", (e) => touch(e.layer.unit));
  let boxing = null;
  map.on("mousedown", (e) => {
    if (mode !== "paint" || !e.originalEvent.shiftKey || !state.current) return;
    map.dragging.disable();
    boxing = { start: e.latlng, rect: L.rectangle([e.latlng, e.latlng], { pane: "units", weight: 1, dashArray: "4 4", interactive: false }).addTo(map) };
  });
  map.on("mousemove", (e) => { if (boxing) boxing.rect.setBounds(L.latLngBounds(boxing.start, e.latlng)); });
  document.addEventListener("mouseup", () => {
    if (boxing) {
      const bounds = boxing.rect.getBounds();
      map.removeLayer(boxing.rect);
      boxing = null;
      stroke = { target: state.current, units: new Set() };
      for (const [u, info] of units) if (bounds.contains(info.centre)) touch(u);
    }
    if (stroke) endStroke();
  });
  // a finger or a pen brushes as the mouse does. Their pointer events stay with the element
  // first touched, so the unit under the finger is found by its position; they are taken on the
  // map before Leaflet's own handlers (capture), so that the brush does not pan the map.
  const inRing = (ring, p) => { // even-odd ray casting, lng as x, lat as y
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = ring[i], b = ring[j];
      if ((a.lat > p.lat) !== (b.lat > p.lat) && p.lng < ((b.lng - a.lng) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lng) inside = !inside;
    }
    return inside;
  };
  const polygons = (latlngs) => (Array.isArray(latlngs[0][0]) ? latlngs : [latlngs]); // [[outer, holes…], …]
  function unitAt(p) {
    for (const [u, info] of units) {
      if (!info.layer.getBounds().contains(p)) continue;
      if (polygons(info.layer.getLatLngs()).some((rings) => rings.reduce((n, ring) => n + inRing(ring, p), 0) % 2 === 1)) return u;
    }
    return null;
  }
  let finger = null; // the pointer id of the brushing finger or pen
  el.addEventListener("pointerdown", (ev) => {
    if (ev.pointerType === "mouse" || finger !== null || mode !== "paint" || !ev.isPrimary) return;
    const u = unitAt(map.mouseEventToLatLng(ev));
    if (!u) return; // off the units: the finger pans and zooms the map
    ev.preventDefault();
    ev.stopPropagation();
    if (!state.current) { pick(assign.get(u), true); return; } // the first touch picks a cell
    finger = ev.pointerId;
    map.dragging.disable();
    stroke = { target: state.current, units: new Set() };
    touch(u);
  }, true);
  el.addEventListener("pointermove", (ev) => {
    if (ev.pointerId !== finger) return;
    ev.preventDefault();
    ev.stopPropagation();
    const u = unitAt(map.mouseEventToLatLng(ev));
    if (u) touch(u);
  }, true);
  const lift = (ev) => {
    if (ev.pointerId !== finger) return;
    ev.stopPropagation();
    finger = null;
    if (stroke) endStroke();
  };
  el.addEventListener("pointerup", lift, true);
  el.addEventListener("pointercancel", lift, true);
  document.addEventListener("keydown", (e) => {
    if (mode !== "paint" || !(e.ctrlKey || e.metaKey) || /INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
    const key = e.key.toLowerCase();
    if (key === "z" && !e.shiftKey) { e.preventDefault(); undo(); } else if (key === "y" || (key === "z" && e.shiftKey)) { e.preventDefault(); redo(); }
  });
  // a drawing tool chosen before any painting switches to drawing
  for (const name of ["draw", "edit", "removal", "cut", "drag"]) {
    map.on(`pm:global${name}modetoggled`, (e) => { if (e.enabled && mode === "paint" && ui && !ui.draw.disabled) setMode("draw"); });
  }

  function open() {
    ui = view.build(box);
    box.hidden = false;
    ui.undo.addEventListener("click", undo);
    ui.redo.addEventListener("click", redo);
    ui.paint.addEventListener("click", () => { mode = "paint"; el.dataset.paint = "loading"; buttons(); start().catch(fail); });
    ui.draw.addEventListener("click", () => setMode("draw"));
    ui.list.addEventListener("click", (e) => { const b = e.target.closest("button.pick"); if (b) pick(b.closest("tr").dataset.code, false); });
    ui.list.addEventListener("change", (e) => {
      if (!e.target.classList.contains("lock")) return;
      const code = e.target.closest("tr").dataset.code;
      if (e.target.checked) state.locked.add(code); else state.locked.delete(code);
      if (state.current === code && e.target.checked) state.current = null;
      e.target.closest("tr").querySelector("button.pick").disabled = e.target.checked;
      restyle();
    });
    new MutationObserver(buttons).observe(el, { attributes: true, attributeFilter: ["data-dirty", "data-version"] });
    if (map.pm.globalDrawModeEnabled() || map.pm.globalEditModeEnabled()) mode = "draw"; // a tool already in use
    el.dataset.paint = "loading";
    buttons();
    start().catch((err) => { // no fabric here: drawing only
      el.dataset.paint = "off";
      box.hidden = true;
      mode = "draw";
      console.warn("paint mode off:", err.message);
    });
  }
  const whenReady = new MutationObserver(() => {
    if (el.dataset.ready !== "1") return;
    whenReady.disconnect();
    open();
  });
  whenReady.observe(el, { attributes: true, attributeFilter: ["data-ready"] });
  window.gridmapPaint = { assignment: () => Object.fromEntries(assign), figures: () => Object.fromEntries(state.figures), undo, redo };
})();
