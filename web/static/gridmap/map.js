// gridmap coordinator map: the map, its panes and basemap, the unit the panel shows, and the one
// object the map's files share, window.gridmap. Each panel or feature is a file of its own, loaded
// in this order by map.html, each adding to window.gridmap what the others use:
//   map.js           the map and its panes, the unit shown (state), names, request helpers
//   map-popups.js    what a popup says: a feature's figures, a gap, its next step and links
//   map-layers.js    data layers loaded per view (/api/layers/{layer}/features), layer control
//   map-gaps.js      gaps drawn per view (/api/gaps?bbox=&zoom=), one layer per kind
//   map-legend.js    the gap legend: per-kind toggles, counts of the unit shown, unchecked kinds
//   map-gap-list.js  the gap list (/api/gaps/list: a box per gap) that zooms to each gap
//   map-panel.js     the side panel's drill-down subdistrict → community → grid
//   map-theme.js     the choropleth of the 两个覆盖 rates
//   map-sheet.js     the panel as a bottom sheet on a phone
//   map-export.js    the export and report links, which follow the drill-down
//   map-start.js     the account's area outline; the figures fetched, then the first view drawn
//   map-search.js    search by name or code
// A function of a later file is called through window.gridmap when it runs, never at load.
(function () {
  "use strict";
  const el = document.getElementById("map");
  const cfg = JSON.parse(el.dataset.config);
  const display = cfg.basemap ? cfg.basemap.display : "wgs84";
  // its own zoom range: else a tile layer's (buildings from zoom 16) would become the map's
  const map = L.map(el, { minZoom: 0, maxZoom: 19 });
  // panes, bottom to top; each gets its own SVG renderer, so clicks reach the topmost feature
  // (buildings, drawn from tiles, have a pane of their own above the compounds they stand in)
  // gap ground (留白, overlaps, slivers, out of reach) lies above the whole features that are gaps
  // (a grid across communities), so a click on a planted 留白 reaches the 留白
  ["areas", "choropleth", "grids", "units", "buildings", "points", "proposals", "gapfeatures", "gaps", "highlight"].forEach(
    (name, i) => { map.createPane(name).style.zIndex = 401 + i; });
  if (cfg.basemap) {
    L.tileLayer(cfg.basemap.url, { subdomains: cfg.basemap.subdomains, maxZoom: 19,
      attribution: cfg.basemap.attribution }).addTo(map);
  }
  const home = cfg.bounds ? L.latLngBounds([cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]) : null;
  if (home) map.fitBounds(home); else map.setView([30.66, 104.06], 13);

  const withDisplay = (url) => (display === "wgs84" ? url : url + (url.includes("?") ? "&" : "?") + `display=${display}`);
  // one request at a time for one purpose: asking for another URL aborts the one in flight (its
  // promise resolves to null); asking again for the same URL shares its promise
  function latest() {
    let current = { url: null, promise: null, controller: null };
    const get = (url) => {
      if (url === current.url) return current.promise;
      if (current.controller) current.controller.abort();
      const controller = new AbortController();
      const promise = fetch(url, { signal: controller.signal })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${url}: ${r.status}`))))
        .then((data) => (current.url === url ? data : null))
        .catch((err) => {
          if (err.name === "AbortError") return null;
          if (current.url === url) current = { url: null, promise: null, controller: null };
          throw err;
        });
      current = { url, promise, controller };
      return promise;
    };
    get.cancel = () => {
      if (current.controller) current.controller.abort();
      current = { url: null, promise: null, controller: null };
    };
    return get;
  }
  const bboxOf = (bounds) => [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
    .map((v) => v.toFixed(4)).join(",");

  const LEVEL_ZH = { subdistrict: "街道", community: "社区", grid: "网格", compound: "小区" };
  const GAPS = Object.fromEntries(cfg.gaps.map((g) => [g.kind, g]));
  // a layer's Chinese name: "grid:party" → 党建网格 (from the map's layers), "member" → 党员
  const LAYER_ZH = { ...(cfg.layer_names || {}), ...Object.fromEntries(cfg.layers.map((s) => [s.layer, s.label_zh])) };
  const layerZh = (layer) => LAYER_ZH[layer]
    || (String(layer).startsWith("grid:") ? `${LAYER_ZH.grid || "网格"} ${String(layer).slice(5)}` : String(layer ?? ""));
  const SUBDISTRICT_ZH = cfg.subdistrict && cfg.subdistrict.name ? cfg.subdistrict.name : LEVEL_ZH.subdistrict;
  const index = new Map(); // "community:SQ01" → a drawn feature, for drill-down and search

  // the unit the panel shows: an account limited to a community or a grid opens on its area, and
  // drills no higher
  const area = cfg.area && (cfg.area.level === "community" || cfg.area.level === "grid") ? cfg.area : null;
  const top = area ? area.level : "subdistrict";
  const state = area
    ? { level: area.level, community: area.level === "community" ? area.code : area.community, grid: area.level === "grid" ? area.code : null }
    : { level: "subdistrict", community: null, grid: null };
  // the unit shown, as the query of its gap list and counts
  const unitQuery = () => (state.grid
    ? `&community=${encodeURIComponent(state.community || "")}&grid=${encodeURIComponent(state.grid)}`
    : state.community ? `&community=${encodeURIComponent(state.community)}` : "");
  // each level's figures (/api/figures?level=), fetched at the start
  const figures = { community: [], grid: [], subdistrict: [] };

  function nameOf(level, code) {
    const f = (figures[level] || []).find((x) => x.code === code);
    if (f && f.name) return f.name;
    return area && area.code === code && area.name ? area.name : code;
  }

  window.gridmap = { map, el, cfg, home, withDisplay, latest, bboxOf, LEVEL_ZH, GAPS, layerZh,
    SUBDISTRICT_ZH, index, area, top, state, unitQuery, figures, nameOf };
})();
