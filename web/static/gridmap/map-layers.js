// The data layers, each loaded for the view (/api/layers/{layer}/features?bbox=&zoom=) when it is
// on and the map stops moving, or drawn from vector tiles (buildings); the layer control, zoom
// and scale controls.
(function () {
  "use strict";
  const { escape, viewKey } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, cfg, withDisplay, latest, bboxOf, index } = gm;
  const overlays = {};
  const groups = {}; // a layer's key → its group
  const loaders = [];
  // Leaflet.VectorGrid 1.3.0 (unmaintained, vendored unchanged) draws a tile's features and
  // makes them the map's click targets (map._targets) when the tile's request answers, even if
  // the tile was unloaded meanwhile (panned away): its unload ran first, so the paths of a tile
  // no longer on the map stayed targets for good — a leak over a day of panning, and stale
  // targets. No release fixes it, hence this subclass, written by hand: a request draws its
  // tile only if it is still the tile's latest (not unloaded, not asked again since), and else
  // answers an empty tile. A failed request (the network, a restart) is drawn empty too: else
  // VectorGrid never marks the tile loaded, the layer never fires "load" and the view is never
  // marked loaded.
  const VectorTiles = L.VectorGrid.Protobuf.extend({
    initialize(url, options) {
      L.VectorGrid.Protobuf.prototype.initialize.call(this, url, options);
      this._asking = {}; // a tile's key → a token of its latest request, until it answers
      // a tile is asked for by its coordinates wrapped round the world, and unloaded by its own
      this.on("tileunload", (e) => { delete this._asking[this._tileCoordsToKey(this._wrapCoords(e.coords))]; });
    },
    _getVectorTilePromise(coords, bounds) {
      const key = this._tileCoordsToKey(coords);
      const token = {};
      this._asking[key] = token;
      return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords, bounds)
        .catch(() => ({ layers: {} }))
        .then((tile) => {
          if (this._asking[key] !== token) return { layers: {} };
          delete this._asking[key];
          return tile;
        });
    },
  });
  // a layer drawn from vector tiles (buildings at street level, /api/tiles/…): the server keeps
  // each tile until the data change and the browser revalidates it (ETag), so a pan asks only
  // for tiles not seen. SVG tiles: VectorGrid's canvas renderer throws on a click with Leaflet
  // 1.9 (web/static/vendor/README.md). Tiles are drawn 512 pixels wide: a street-level view
  // asks for a quarter as many (the tiles one zoom up: {tz}). Its loader's promise is the view's
  // tiles being in.
  function tiled(spec) {
    const layer = new VectorTiles(withDisplay(spec.tiles.replace("{z}", "{tz}")), {
      tileSize: 512, tz: (d) => d.z - 1,
      pane: spec.pane, rendererFactory: L.svg.tile, interactive: true,
      vectorTileLayerStyles: { [spec.layer]: { ...spec.style, fill: true, fillColor: spec.style.color } },
      getFeatureId: (f) => f.properties.code, minZoom: spec.min_zoom, maxNativeZoom: spec.tiles_up_to, maxZoom: 19,
    });
    layer.on("click", (e) => {
      L.DomEvent.stopPropagation(e); // the feature's popup, not the map's click beneath it
      L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(gm.featurePopup(e.layer.properties, spec)).openOn(map);
    });
    const load = () => {
      if (!map.hasLayer(layer) || Math.round(map.getZoom()) < spec.min_zoom) return null;
      // in once the view's tiles are, or the layer is switched off meanwhile
      return layer.isLoading() ? new Promise((resolve) => { layer.once("load", resolve); layer.once("remove", resolve); }) : Promise.resolve();
    };
    return { layer, load };
  }
  for (const spec of cfg.layers) {
    if (spec.tiles) {
      const { layer, load } = tiled(spec);
      overlays[escape(spec.label_zh)] = layer;
      groups[spec.key] = layer;
      if (spec.visible) layer.addTo(map);
      loaders.push(load);
      continue;
    }
    const isStation = spec.layer === "station";
    const group = L.geoJSON(null, {
      pane: spec.pane,
      style: isStation ? undefined : spec.style, // a station's style must not reach its radius circle
      pointToLayer: (f, latlng) => (isStation
        ? L.featureGroup([
          L.circle(latlng, { radius: cfg.station_radius_m, pane: "points", interactive: false,
            color: "#c62828", weight: 1, dashArray: "4 4", fillOpacity: 0.04 }),
          L.circleMarker(latlng, { radius: 6, pane: "points", ...spec.style })])
        : L.circleMarker(latlng, { radius: 5, pane: spec.pane, ...spec.style })),
      onEachFeature: (f, layer) => {
        if (spec.key === "proposals") {
          layer.bindPopup(gm.proposalPopup(f.properties));
          return;
        }
        gm.bindUnitPopup(f, layer, spec);
        if (f.properties.code) index.set(`${spec.layer}:${f.properties.code}`, layer);
      },
    });
    overlays[escape(spec.label_zh)] = group;
    groups[spec.key] = group;
    if (spec.visible) group.addTo(map);
    let loadedKey = null;
    let loading = null;
    const fetchLayer = latest();
    const load = () => {
      if (!map.hasLayer(group)) return null;
      const zoom = Math.round(map.getZoom());
      if (zoom < spec.min_zoom) { group.clearLayers(); loadedKey = null; el.dataset[`loaded_${spec.key}`] = 0; return null; }
      let query = "";
      if (!spec.url && spec.min_zoom > 0) {
        query = `?bbox=${bboxOf(map.getBounds().pad(0.2))}&zoom=${zoom}`;
      } else if (!spec.url) {
        query = `?zoom=${Math.min(zoom, 17)}`;
      }
      const url = withDisplay(spec.url || `/api/layers/${encodeURIComponent(spec.layer)}/features${query}`);
      if (url === loadedKey) return loading;
      loadedKey = url;
      loading = fetchLayer(url)
        .then((data) => {
          if (!data || loadedKey !== url) return; // a newer view was asked for meanwhile
          group.clearLayers(); group.addData(data);
          el.dataset[`loaded_${spec.key}`] = data.features.length;
        })
        .catch((err) => console.warn("layer", spec.layer, err.message));
      return loading;
    };
    loaders.push(load);
    group.on("add", load);
  }
  L.control.layers(null, overlays, { collapsed: window.innerWidth < 700 }).addTo(map);
  // on a phone the zoom buttons move to the bottom, and popups pan clear of the layers button,
  // so a popup's title is never under a control
  if (window.innerWidth < 700) {
    map.zoomControl.setPosition("bottomright");
    // and clear of the bottom sheet (half the screen at most)
    L.Popup.mergeOptions({ autoPanPaddingTopLeft: L.point(10, 60),
      autoPanPaddingBottomRight: L.point(10, Math.round(window.innerHeight * 0.45) + 10) });
  }
  L.control.scale({ imperial: false }).addTo(map);
  // a pan or zoom asks once the map has stopped moving (a drag fires moveend more than once)
  let moveTimer = null;
  // when the layers and gaps of a view are in, data-view-loaded names that view (tests wait on it)
  const loadView = () => {
    const at = viewKey(map);
    return Promise.all([...loaders.map((f) => f()), gm.loadGapView()])
      .then(() => { if (viewKey(map) === at) el.dataset.viewLoaded = at; });
  };
  map.on("moveend", () => {
    clearTimeout(moveTimer);
    moveTimer = setTimeout(loadView, 150);
  });
  loaders.forEach((f) => f());

  Object.assign(gm, { groups, loaders, loadView });
})();
