// Free drawing on a shared topology. leaflet-geoman (free edition) edits one cell at a time; here
// a vertex shared by several cells is one object: dragging it moves it in every editable cell
// that has it, a vertex inserted on a shared edge (geoman's middle markers) goes into the
// neighbour's ring too, and a shared vertex removed is removed from both. After each edit the
// server checks that the cells still tile (POST /api/plans/{id}/topology/check: no overlap, no
// 留白, nothing beyond the plan's ground, no locked cell changed) and welds new corners into the
// neighbours' borders; a refused edit is undone here and the reason shown. A drawn cell is
// carved from the cells it covers (/topology/carve). State for tests: data-topology
// ("busy"/"idle"), data-topology-checks, data-topology-refused on #map.
(function () {
  "use strict";
  const editor = window.gridmapEditor;
  if (!editor) return;
  const { map, cells, codeOf } = editor;
  const el = document.getElementById("map");
  // degrees (about 1 mm): two vertices closer than this are one — the cells as loaded carry more
  // decimals than the 8 (GeoJSON's usual) of a cell put back as it was
  const SAME = 1e-8;
  const same = (a, b) => Math.abs(a.lat - b.lat) < SAME && Math.abs(a.lng - b.lng) < SAME;
  const editable = (l) => !l.options.pmIgnore && !editor.isLocked(l);

  // ---- rings addressed by index paths, as geoman does ([ring…, vertex]) ---------------------------
  const isRing = (a) => a.length === 0 || a[0] instanceof L.LatLng;
  function* vertices(latlngs, path = []) {
    if (isRing(latlngs)) { for (let i = 0; i < latlngs.length; i++) yield [latlngs, i, [...path, i]]; return; }
    for (let i = 0; i < latlngs.length; i++) yield* vertices(latlngs[i], [...path, i]);
  }
  const ringAt = (latlngs, path) => path.slice(0, -1).reduce((a, i) => a[i], latlngs);
  const redraw = (layer) => layer.setLatLngs(layer.getLatLngs()); // re-projects after edits in place

  // ---- the vertex being dragged and the cells that share it ---------------------------------------
  let drag = null; // { layer, path, partners: [[layer, path]] }
  function sharing(layer, at) {
    const out = [];
    cells.eachLayer((other) => {
      if (other === layer || !editable(other)) return;
      for (const [, , path] of vertices(other.getLatLngs())) if (same(ringAt(other.getLatLngs(), path)[path.at(-1)], at)) out.push([other, path]);
    });
    return out;
  }
  function follow() { // the partners take the dragged vertex's position, exactly
    if (!drag) return;
    const pos = ringAt(drag.layer.getLatLngs(), drag.path)[drag.path.at(-1)];
    const moved = new Set();
    for (const [other, path] of drag.partners) {
      ringAt(other.getLatLngs(), path)[path.at(-1)] = L.latLng(pos.lat, pos.lng);
      moved.add(other);
    }
    moved.forEach(redraw);
  }
  function bind(layer) {
    if (layer.topologyBound) return;
    layer.topologyBound = true;
    layer.on("pm:markerdragstart", (e) => {
      if (!e.indexPath) return;
      const start = ringAt(layer.getLatLngs(), e.indexPath)[e.indexPath.at(-1)];
      drag = { layer, path: e.indexPath, partners: sharing(layer, start) };
      el.dataset.topology = "busy";
    });
    layer.on("pm:markerdrag", follow);
    layer.on("pm:markerdragend", () => {
      const done = drag;
      // after geoman's own checks (a drag that crosses the cell's own outline is put back)
      Promise.resolve().then(() => { drag = done; follow(); drag = null; touch([done.layer, ...done.partners.map((p) => p[0])]); });
    });
    layer.on("pm:vertexadded", (e) => inserted(layer, e.indexPath));
    layer.on("pm:vertexremoved", (e) => removed(layer, e.indexPath, e.marker.getLatLng()));
  }
  cells.on("layeradd", (e) => bind(e.layer));
  cells.eachLayer(bind);

  // a vertex put on an edge: exactly on the straight edge (geoman puts it at the screen's middle,
  // a few millimetres off), and into every editable cell having that edge
  function inserted(layer, path) {
    const ring = ringAt(layer.getLatLngs(), path);
    const i = path.at(-1);
    const prev = ring[(i - 1 + ring.length) % ring.length];
    const next = ring[(i + 1) % ring.length];
    const mid = L.latLng((prev.lat + next.lat) / 2, (prev.lng + next.lng) / 2);
    ring[i] = mid;
    redraw(layer);
    const partners = [layer];
    cells.eachLayer((other) => {
      if (other === layer || !editable(other)) return;
      for (const [r, j] of [...vertices(other.getLatLngs())].reverse()) {
        const k = (j + 1) % r.length;
        if ((same(r[j], prev) && same(r[k], next)) || (same(r[j], next) && same(r[k], prev))) {
          r.splice(j + 1, 0, L.latLng(mid.lat, mid.lng));
          partners.push(other);
        }
      }
    });
    partners.slice(1).forEach(redraw);
    touch(partners);
  }
  // a vertex removed: also from the cells that share it and both its edges
  function removed(layer, path, at) {
    const ring = ringAt(layer.getLatLngs(), path);
    const i = path.at(-1) % Math.max(ring.length, 1);
    const prev = ring[(i - 1 + ring.length) % ring.length];
    const next = ring[i];
    const partners = [layer];
    cells.eachLayer((other) => {
      if (other === layer || !editable(other)) return;
      for (const [r, j] of [...vertices(other.getLatLngs())].reverse()) {
        if (!same(r[j], at) || r.length <= 3) continue;
        const a = r[(j - 1 + r.length) % r.length];
        const b = r[(j + 1) % r.length];
        if ((same(a, prev) && same(b, next)) || (same(a, next) && same(b, prev))) { r.splice(j, 1); partners.push(other); }
      }
    });
    partners.slice(1).forEach(redraw);
    touch(partners);
  }

  // ---- after each edit: the server's check, then keep or undo -------------------------------------
  const pending = new Map(); // code → layer (or a layer removed since)
  let queued = null;
  let chain = Promise.resolve();
  function touch(layers) {
    layers.forEach((l) => pending.set(codeOf(l), l));
    el.dataset.topology = "busy";
    if (!queued) queued = Promise.resolve().then(() => { queued = null; chain = chain.then(settle); return chain; });
    return queued;
  }
  const count = (name) => { el.dataset[name] = Number(el.dataset[name] || 0) + 1; };
  function boundsOf(geometry) {
    const b = L.latLngBounds([]);
    const walk = (c) => { if (typeof c[0] === "number") b.extend([c[1], c[0]]); else c.forEach(walk); };
    walk(geometry.coordinates);
    return b;
  }
  const refusedLayer = L.geoJSON(null, { pane: "problems", pmIgnore: true, snapIgnore: true, interactive: false,
    style: { color: "#6a1b9a", weight: 3, fillColor: "#ab47bc", fillOpacity: 0.45 } }).addTo(map);

  // the cells around the touched ones, as committed and as drawn now (equal ones are context)
  function around(codes) {
    const before = editor.committed().features;
    const now = new Map(cells.getLayers().map((l) => [codeOf(l), l]));
    const box = L.latLngBounds([]);
    for (const f of before) if (codes.has(f.properties.code)) box.extend(boundsOf(f.geometry));
    for (const c of codes) if (now.has(c)) box.extend(now.get(c).getBounds());
    if (!box.isValid()) return null;
    const near = new Set(codes);
    for (const f of before) if (boundsOf(f.geometry).intersects(box)) near.add(f.properties.code);
    for (const [c, l] of now) if (l.getBounds().intersects(box)) near.add(c);
    const fc = (features) => ({ type: "FeatureCollection", features });
    return { before: fc(before.filter((f) => near.has(f.properties.code))), beforeAll: before,
      after: fc([...now].filter(([c]) => near.has(c)).map(([, l]) => l.toGeoJSON(8))) };
  }
  const waiting = () => drag || editor.cutting(); // a drag or a cut not finished: its end settles
  function settle() {
    if (waiting() || !pending.size) { if (!waiting()) el.dataset.topology = "idle"; return Promise.resolve(); }
    const touched = new Map(pending);
    pending.clear();
    const body = around(new Set(touched.keys()));
    if (!body) { el.dataset.topology = "idle"; return Promise.resolve(); }
    return editor.api("POST", `/api/plans/${editor.planId()}/topology/check`, { before: body.before, after: body.after })
      .then((answer) => (answer.ok ? keep(answer, [...touched.values()]) : refuse(answer, body)))
      .catch((err) => { editor.fail(err); refuse(null, body); })
      .finally(() => { count("topologyChecks"); if (!pending.size && !waiting()) el.dataset.topology = "idle"; });
  }
  function reshape(layer, geometry) {
    const editing = layer.pm && layer.pm.enabled();
    if (editing) layer.pm.disable();
    layer.setLatLngs(L.GeoJSON.coordsToLatLngs(geometry.coordinates, geometry.type === "Polygon" ? 1 : 2));
    if (editing) layer.pm.enable();
  }
  // the server's answer drawn: the welded outlines, new cells added, emptied ones removed
  function apply(answer) {
    const byCode = new Map(cells.getLayers().map((l) => [codeOf(l), l]));
    const out = [];
    for (const f of answer.cells.features) {
      const layer = byCode.get(f.properties.code);
      if (layer) { reshape(layer, f.geometry); out.push(layer); } else out.push(editor.addCell(f));
    }
    for (const code of answer.removed || []) if (byCode.has(code)) cells.removeLayer(byCode.get(code));
    return out;
  }
  function keep(answer, touched) {
    refusedLayer.clearLayers();
    if (!answer.cells.features.length && !(answer.removed || []).length) return; // nothing changed
    const drawn = apply(answer);
    editor.changed([...new Set([...touched, ...drawn])].filter((l) => cells.hasLayer(l)));
  }
  // back to the committed cells: each touched or nearby cell as it was, new ones gone
  function refuse(answer, body) {
    const was = new Map(body.beforeAll.map((f) => [f.properties.code, f]));
    const codes = new Set(body.after.features.map((f) => f.properties.code).concat(body.before.features.map((f) => f.properties.code)));
    const byCode = new Map(cells.getLayers().map((l) => [codeOf(l), l]));
    for (const code of codes) {
      const layer = byCode.get(code);
      const f = was.get(code);
      if (!f) { if (layer) cells.removeLayer(layer); continue; }
      if (!layer) editor.addCell(f); else if (JSON.stringify(layer.toGeoJSON(8).geometry) !== JSON.stringify(f.geometry)) reshape(layer, f.geometry);
    }
    if (!answer) return;
    count("topologyRefused");
    refusedLayer.clearLayers();
    refusedLayer.addData(answer.problems);
    editor.say(answer.message_zh, answer.message_en, "error");
  }

  // ---- a drawn cell: its ground carved from the cells it covers -------------------------------------
  function drawn(layer) {
    const box = layer.getBounds();
    const near = cells.getLayers().filter((l) => l.getBounds().intersects(box));
    const code = editor.newCode();
    el.dataset.topology = "busy";
    chain = chain.then(() => editor.api("POST", `/api/plans/${editor.planId()}/topology/carve`, {
      cells: { type: "FeatureCollection", features: near.map((l) => l.toGeoJSON(8)) }, drawn: layer.toGeoJSON(8), code,
    }).then((answer) => {
      if (!answer.ok) {
        count("topologyRefused");
        refusedLayer.clearLayers();
        refusedLayer.addData(answer.problems);
        editor.say(answer.message_zh, answer.message_en, "error");
        return;
      }
      keep(answer, []);
      editor.say(`新网格 ${code} 已从所覆盖的网格中划出`, `New cell ${code} carved from the cells it covers.`, "ok");
    }).catch(editor.fail).finally(() => { count("topologyChecks"); if (!pending.size && !waiting()) el.dataset.topology = "idle"; }));
    return chain;
  }

  window.gridmapTopology = { edited: (layers) => touch(layers), drawn };
})();
