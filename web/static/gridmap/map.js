// gridmap coordinator map: layers load per viewport from /api/layers/{layer}/features.
(function () {
  "use strict";
  const el = document.getElementById("map");
  const bounds = JSON.parse(el.dataset.bounds);
  const layers = JSON.parse(el.dataset.layers);
  const map = L.map(el, { maxZoom: 19, preferCanvas: true });
  if (bounds) map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]);
  else map.setView([30.66, 104.06], 13);

  const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const LABELS = { code: "编号", name: "名称", households: "户数", floors: "层数",
    community_code: "所属社区", compound_code: "所属小区", kind: "类型", layer: "图层",
    property_company: "物业公司", repair_note: "几何修复" };

  function popup(props) {
    if (props.message_zh) {
      return `<b>${escape(props.kind)}</b> <code>${escape(props.code)}</code><br>${escape(props.message_zh)}` +
        `<br><small>${escape(props.message_en)}</small>`;
    }
    const rows = Object.entries(props)
      .filter(([k, v]) => k in LABELS && v !== null && v !== "")
      .map(([k, v]) => `<tr><td>${LABELS[k]}</td><td>${escape(v)}</td></tr>`).join("");
    return `<table>${rows}</table>`;
  }

  const overlays = {};
  const loaders = [];
  for (const spec of layers) {
    // the many per-building and per-member findings stay faint so area gaps stand out
    const FAINT = new Set(["building_without_member", "member_not_reported", "ambiguous_parent"]);
    const style = spec.key !== "gaps" ? spec.style : (f) => (FAINT.has(f.properties.kind)
      ? { color: "#ef9a9a", weight: 1, fillOpacity: 0.1 } : spec.style);
    const group = L.geoJSON(null, {
      style,
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 5, ...(typeof style === "function" ? style(f) : style) }),
      onEachFeature: (f, layer) => layer.bindPopup(popup(f.properties)),
    });
    overlays[`${spec.label_zh} <small>${spec.layer}</small>`] = group;
    if (spec.visible) group.addTo(map);
    let loadedKey = null;
    const load = () => {
      if (!map.hasLayer(group)) return;
      if (map.getZoom() < spec.min_zoom) { group.clearLayers(); loadedKey = null; return; }
      const b = map.getBounds();
      const box = spec.min_zoom > 0
        ? [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",")
        : "all";
      if (box === loadedKey) return;
      loadedKey = box;
      const query = box === "all" ? "" : `?bbox=${box}`;
      const url = spec.url || `/api/layers/${encodeURIComponent(spec.layer)}/features${query}`;
      fetch(url)
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((data) => { group.clearLayers(); group.addData(data); el.dataset[`loaded_${spec.key}`] = data.features.length; })
        .catch((status) => console.warn("layer", spec.layer, status));
    };
    loaders.push(load);
    map.on("overlayadd", load);
  }
  L.control.layers(null, overlays, { collapsed: window.innerWidth < 600 }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  const reload = () => loaders.forEach((f) => f());
  map.on("moveend", reload);
  reload();
})();
