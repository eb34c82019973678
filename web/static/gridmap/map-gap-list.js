// The gap list: the shown kinds' gaps of the unit shown (/api/gaps/list?kind=&community=&grid=,
// no geometry, a box per gap), in legend order; a click zooms to the gap, in view or not, and
// opens its popup.
(function () {
  "use strict";
  const { escape } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, cfg, GAPS, withDisplay, latest, unitQuery } = gm;
  const listEl = document.getElementById("gap-list");
  const LIST_MAX = 300;
  const fetchList = latest();

  function loadList() {
    const kinds = cfg.gaps.filter((g) => g.count && gm.shown.has(g.kind)).map((g) => g.kind);
    if (!kinds.length) { fetchList.cancel(); renderList({ total: 0, gaps: [] }); return Promise.resolve(); }
    return fetchList(withDisplay(`/api/gaps/list?kind=${kinds.join(",")}&limit=${LIST_MAX}${unitQuery()}`))
      .then((data) => { if (data) renderList(data); })
      .catch((err) => console.warn("gap list", err.message));
  }

  function renderList(data) {
    listEl.innerHTML = "";
    data.gaps.forEach((p) => {
      const g = GAPS[p.kind] || { colour: "#d50000", label_zh: p.kind };
      const li = document.createElement("li");
      li.innerHTML = `<a href="#" data-kind="${escape(p.kind)}" data-code="${escape(p.code)}">` +
        `${gm.swatch(g)}` +
        `${escape(g.label_zh)} · ${gm.aboutOf(p)}</a>`;
      li.firstChild.addEventListener("click", (e) => { e.preventDefault(); zoomToGap(p); });
      listEl.appendChild(li);
    });
    const more = data.total - data.gaps.length;
    if (more > 0) {
      const li = document.createElement("li");
      li.className = "note";
      li.textContent = `另有 ${more} 条，请进入社区 (${more} more: drill down)`;
      listEl.appendChild(li);
    }
    el.dataset.gapListed = data.total;
  }

  // fit the gap's box; once the view's gaps are in, open the gap's own popup (or, where it is not
  // drawn at this zoom, a popup at the middle of its box)
  function zoomToGap(p) {
    const [west, south, east, north] = p.bbox;
    map.once("moveend", () => gm.loadGapView().then(() => {
      const layer = gm.gaps.get(gm.gapKey(p));
      if (layer) layer.openPopup();
      else L.popup({ maxWidth: 340 }).setLatLng([(south + north) / 2, (west + east) / 2]).setContent(gm.gapPopup(p)).openOn(map);
    }));
    map.fitBounds([[south, west], [north, east]], { maxZoom: 17, padding: [40, 40] });
  }

  Object.assign(gm, { loadList });
})();
