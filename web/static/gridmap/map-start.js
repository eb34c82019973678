// The start: the account's area outlined; each level's figures fetched, then the view's gaps and
// the panel drawn, and the map marked ready (data-ready="1"; data-view-loaded names the view).
(function () {
  "use strict";
  const { getJSON } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, cfg, figures, shown } = gm;
  if (cfg.area && cfg.area.outline) {
    L.geoJSON(cfg.area.outline, { pane: "highlight", interactive: false,
      style: { color: "#ff6f00", weight: 4, opacity: 0.9, dashArray: "10 6", fill: false } }).addTo(map);
    el.dataset.areaOutline = cfg.area.code;
  }
  const ready = cfg.analysed
    ? Promise.all(["subdistrict", "community", "grid"].map((level) =>
      getJSON(`/api/figures?level=${level}`).then((rows) => { figures[level] = rows; })))
    : Promise.resolve();
  el.dataset.gapsShown = cfg.gaps.filter((g) => shown.has(g.kind)).map((g) => g.kind).join(",");
  ready.then(() => Promise.all([gm.loadView(), gm.renderPanel()]))
    .then(() => { el.dataset.ready = "1"; })
    .catch((err) => { console.warn("start", err.message); gm.renderPanel(); el.dataset.ready = "1"; });
})();
