// Search by name or code (map.html's #q): results as a listbox (arrow keys, Enter, Escape); the
// chosen result is framed and outlined, its popup opened, and the panel driven to it (a community
// or grid to itself, a compound to its community).
(function () {
  "use strict";
  const { escape, getJSON, named } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, cfg, area, index, loaders, layerZh, showUnit } = gm;
  const q = document.getElementById("q");
  const hitsEl = document.getElementById("hits");
  let hits = [];
  let active = -1;
  let highlight = null;
  let searchTimer = null;

  function close() {
    hitsEl.hidden = true;
    q.setAttribute("aria-expanded", "false");
    q.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function activate(i) {
    const options = hitsEl.querySelectorAll("[role=option]");
    if (!options.length) return;
    active = (i + options.length) % options.length;
    options.forEach((o, j) => o.setAttribute("aria-selected", String(j === active)));
    q.setAttribute("aria-activedescendant", options[active].id);
    options[active].scrollIntoView({ block: "nearest" });
  }

  function choose(i) {
    const h = hits[i];
    close();
    if (h) showHit(h);
  }

  q.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      const text = q.value.trim();
      if (!text) { close(); return; }
      getJSON(`/api/search?q=${encodeURIComponent(text)}`).then((found) => {
        hits = found;
        active = -1;
        hitsEl.innerHTML = hits.length ? hits.map((h, i) =>
          `<li role="option" id="hit-${i}" aria-selected="false" data-hit="${i}" data-code="${escape(h.code)}">` +
          `${named(h.name, h.code)} <small class="layer">${escape(layerZh(h.layer))}</small></li>`).join("")
          : '<li class="note" role="option" aria-disabled="true" id="hit-none">没有结果 <small>no match</small></li>';
        hitsEl.hidden = false;
        q.setAttribute("aria-expanded", "true");
      }).catch((err) => console.warn("search", err.message));
    }, 200);
  });

  hitsEl.addEventListener("click", (e) => {
    const li = e.target.closest("[data-hit]");
    if (li) choose(Number(li.dataset.hit));
  });
  q.addEventListener("keydown", (e) => {
    if (hitsEl.hidden) return;
    if (e.key === "ArrowDown") { e.preventDefault(); activate(active + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); activate(active - 1); }
    else if (e.key === "Escape") { e.preventDefault(); close(); }
  });
  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    choose(active >= 0 ? active : 0);
  });

  // frame a hit, and once the view is drawn open its popup (its figures, for a unit); a hit the
  // map does not draw at this zoom gets a popup of its name at the middle of its box
  function showHit(h) {
    if (!h.bbox) return;
    const b = L.latLngBounds([h.bbox[1], h.bbox[0]], [h.bbox[3], h.bbox[2]]);
    map.closePopup();
    map.fitBounds(b, { maxZoom: 18, padding: [30, 30], animate: false });
    if (highlight) map.removeLayer(highlight);
    highlight = L.rectangle(b, { pane: "highlight", color: "#ffd600", weight: 4, fill: false, interactive: false }).addTo(map);
    el.dataset.found = `${h.layer}:${h.code}`;
    panelTo(h);
    Promise.all(loaders.map((f) => f())).then(() => {
      if (el.dataset.found !== `${h.layer}:${h.code}`) return; // another hit was chosen meanwhile
      const layer = index.get(`${h.layer}:${h.code}`);
      if (layer && map.hasLayer(layer)) { layer.openPopup(b.getCenter()); return; }
      const popup = L.popup({ maxWidth: 320 }).setLatLng(b.getCenter()).openOn(map)
        .setContent(`<b class="title">${named(h.name, h.code)}</b> <small>${escape(layerZh(h.layer))}</small>`);
      // a feature drawn from tiles (a building) is in no index: its popup from its item
      const tiled = cfg.layers.find((s) => s.tiles && s.layer === h.layer);
      if (tiled) {
        getJSON(`/ogc/collections/${encodeURIComponent(h.layer)}/items/${encodeURIComponent(h.code)}?f=json`)
          .then((f) => { if (popup.isOpen()) popup.setContent(gm.featurePopup(f.properties, tiled)); })
          .catch(() => {});
      }
    });
  }

  // the units the account may drill to (an account of a community or grid drills no higher)
  const may = (level, code, community) => !area || area.level === "subdistrict"
    || (area.level === "community" && (level === "community" ? code : community) === area.code)
    || (area.level === "grid" && level === "grid" && code === area.code);

  function panelTo(h) {
    if (h.layer === "community" && may("community", h.code)) showUnit("community", h.code);
    else if (h.layer === "grid:unified") {
      const row = window.gridmap.figures.grid.find((f) => f.code === h.code);
      if (row && may("grid", h.code, row.community_code)) showUnit("grid", h.code, row.community_code);
    } else if (h.layer === "compound") {
      getJSON(`/api/figures/compound/${encodeURIComponent(h.code)}`).then((f) => {
        if (f.community_code && may("community", f.community_code) && el.dataset.found === `compound:${h.code}`) {
          showUnit("community", f.community_code);
        }
      }).catch(() => {});
    }
  }
})();
