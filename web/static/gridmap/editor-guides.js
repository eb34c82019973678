// The editor's guides: communities, compounds and buildings of the view, snappable, never edited,
// so shared borders are shared exactly. When every guide of a view is in, data-guides-at names
// that view (common.js viewKey), which tests wait on.
(function () {
  "use strict";
  const { map, api, fail } = window.gridmapEditor;
  const { viewKey } = window.gridmapKit;
  const el = map.getContainer();
  const GUIDES = [
    { layer: "community", minZoom: 0, style: { color: "#d84315", weight: 2, fill: false } },
    { layer: "compound", minZoom: 14, style: { color: "#5d4037", weight: 1, fillOpacity: 0.08, dashArray: "3 3" } },
    { layer: "building", minZoom: 16, style: { color: "#9e9e9e", weight: 1, fillOpacity: 0.15 } },
  ];
  const loaders = GUIDES.map((g) => {
    const group = L.geoJSON(null, { pane: "guides", style: g.style, interactive: false, pmIgnore: true, snapIgnore: false }).addTo(map);
    let key = null;
    let loading = null;
    return () => {
      if (map.getZoom() < g.minZoom) { group.clearLayers(); key = null; return null; }
      const b = map.getBounds().pad(0.3);
      const url = `/api/layers/${g.layer}/features?zoom=18` + (g.minZoom
        ? `&bbox=${[b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(",")}` : "");
      if (url === key) return loading;
      key = url;
      loading = api("GET", url).then((data) => { if (key === url) { group.clearLayers(); group.addData(data); } }).catch(fail);
      return loading;
    };
  });
  const load = () => {
    const at = viewKey(map);
    Promise.all(loaders.map((f) => f())).then(() => { if (viewKey(map) === at) el.dataset.guidesAt = at; });
  };
  map.on("moveend", load);
  load();
})();
