// The map of the comparison page (/plans/compare): the pieces of ground whose cell code differs
// between the two sides, on a blank background (no tiles: the page asks nothing outside the app).
(function () {
  "use strict";
  const el = document.getElementById("compare-map");
  const data = JSON.parse(document.getElementById("compare-data").textContent);
  const map = L.map(el, { zoomControl: false, attributionControl: false, preferCanvas: false });
  const label = (p) => `${p.a_code || "（无）"} → ${p.b_code || "（无）"}`;
  const layer = L.geoJSON(data, {
    style: (f) => ({ color: f.properties.b_code ? "#c62828" : "#1565c0", weight: 1, fillOpacity: 0.45 }),
    onEachFeature: (f, l) => l.bindTooltip(`${label(f.properties)}：${Math.round(f.properties.area_m2)} m²`),
  }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  if (data.features.length) map.fitBounds(layer.getBounds(), { padding: [12, 12] });
  else map.setView([0, 0], 2);
  el.dataset.drawn = String(data.features.length);
})();
