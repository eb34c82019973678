// The gaps on the map: one layer per kind, refilled with the gaps of the view (/api/gaps?kind=&
// bbox=&zoom=, simplified for the zoom), each with its popup; a kind shown or hidden by the legend.
(function () {
  "use strict";
  const gm = window.gridmap;
  const { map, el, cfg, withDisplay, latest, bboxOf } = gm;
  const gapLayers = {}; // kind → its layer, refilled with the gaps of the view
  const drawn = new Map(); // "kind:layer:code" → the drawn gap, for the list's zoom
  const shown = new Set(cfg.gaps.filter((g) => g.count && g.visible).map((g) => g.kind));
  const gapKey = (p) => `${p.kind}:${p.layer}:${p.code}`;

  let drawingZoom = null;
  for (const g of cfg.gaps) {
    gapLayers[g.kind] = L.geoJSON(null, {
      pane: g.area ? "gaps" : "gapfeatures",
      style: { color: g.colour, weight: 3, fillColor: g.colour, fillOpacity: g.area ? 0.5 : 0.12,
        className: g.area ? "" : "gap-outline" },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, pane: "gaps", color: g.colour, weight: 2, fillOpacity: 0.7 }),
      onEachFeature: (f, l) => {
        l.bindPopup(gm.gapPopup(f.properties), { maxWidth: 340 });
        l.gapZoom = drawingZoom;
        drawn.set(gapKey(f.properties), l);
      },
    });
    if (shown.has(g.kind)) gapLayers[g.kind].addTo(map);
  }

  // the gaps of the view (padded as the layers are), simplified for its zoom; a gap already
  // drawn at this zoom stays, and so does one whose popup is open
  const fetchGaps = latest();
  let gapsUrl = null;
  function loadGapView() {
    const kinds = cfg.gaps.filter((g) => shown.has(g.kind)).map((g) => g.kind);
    if (!kinds.length) { fetchGaps.cancel(); gapsUrl = null; return Promise.resolve(); }
    const zoom = Math.min(Math.round(map.getZoom()), 17);
    const url = withDisplay(`/api/gaps?kind=${kinds.join(",")}&bbox=${bboxOf(map.getBounds().pad(0.2))}&zoom=${zoom}`);
    return fetchGaps(url).then((data) => {
      if (!data || url === gapsUrl) return; // a newer view was asked for, or this one is drawn
      gapsUrl = url;
      const wanted = new Map(data.features.map((f) => [gapKey(f.properties), f]));
      drawn.clear();
      for (const [kind, group] of Object.entries(gapLayers)) {
        group.eachLayer((l) => {
          const key = gapKey(l.feature.properties);
          if ((wanted.has(key) && l.gapZoom === zoom) || l.isPopupOpen()) {
            drawn.set(key, l);
            wanted.delete(key);
          } else group.removeLayer(l);
        });
        if (!shown.has(kind)) group.clearLayers();
      }
      drawingZoom = zoom;
      for (const f of wanted.values()) if (gapLayers[f.properties.kind]) gapLayers[f.properties.kind].addData(f);
      el.dataset.gapsDrawn = drawn.size;
    }).catch((err) => console.warn("gaps", err.message));
  }

  // a kind on or off: its layer, its legend box, the view's gaps and the list
  function showKind(kind, on) {
    if (on) shown.add(kind); else shown.delete(kind);
    const input = document.getElementById("gap-kinds").querySelector(`input[data-kind="${kind}"]`);
    if (input) input.checked = on;
    if (on) gapLayers[kind].addTo(map); else map.removeLayer(gapLayers[kind]);
    return Promise.all([on ? loadGapView() : null, gm.loadList()]).then(() => {
      el.dataset.gapsShown = cfg.gaps.filter((g) => shown.has(g.kind)).map((g) => g.kind).join(",");
    });
  }

  Object.assign(gm, { gaps: drawn, shown, gapKey, loadGapView, showKind });
})();
