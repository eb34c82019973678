// gridmap coordinator map. Layers and gaps load per viewport (/api/layers/{layer}/features,
// /api/gaps?bbox=&zoom=); the side panel drills down subdistrict → community → grid with figures,
// a choropleth, the gap legend (per-kind toggles, the whole area's counts from the page, the kinds
// the analysis could not check from /api/summary) and a gap
// list (/api/gaps/list: no geometry, a box per gap) that zooms to each gap, in view or not.
(function () {
  "use strict";
  const el = document.getElementById("map");
  const cfg = JSON.parse(el.dataset.config);
  const display = cfg.basemap ? cfg.basemap.display : "wgs84";
  const map = L.map(el, { maxZoom: 19 });
  // panes, bottom to top; each gets its own SVG renderer, so clicks reach the topmost feature
  // gap ground (留白, overlaps, slivers, out of reach) lies above the whole features that are gaps
  // (a grid across communities), so a click on a planted 留白 reaches the 留白
  ["areas", "choropleth", "grids", "units", "points", "proposals", "gapfeatures", "gaps", "highlight"].forEach(
    (name, i) => { map.createPane(name).style.zIndex = 401 + i; });
  if (cfg.basemap) {
    L.tileLayer(cfg.basemap.url, { subdomains: cfg.basemap.subdomains, maxZoom: 19,
      attribution: cfg.basemap.attribution }).addTo(map);
  }
  const home = cfg.bounds ? L.latLngBounds([cfg.bounds[1], cfg.bounds[0]], [cfg.bounds[3], cfg.bounds[2]]) : null;
  if (home) map.fitBounds(home); else map.setView([30.66, 104.06], 13);

  const { escape, pct, getJSON, named, codesSmall } = window.gridmapKit;
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
  // what a feature's popup lists before its figures arrive; places it belongs to by name
  const LABELS = { households: "户数", floors: "层数", community_code: "所属社区", compound_code: "所属小区",
    property_company: "物业公司", repair_note: "几何修复", address: "地址" };
  const PROPOSALS = { branch: "单独建立党支部", general_branch: "党总支 / 分设支部", joint_branch: "联合党支部",
    not_joinable: "暂无法联建", party_group: "党小组", split_branch: "分设党支部", member_household: "党员中心户" };
  const UNITS = { m2: "平方米 <small>m²</small>", m: "米 <small>m</small>", households: "户 <small>households</small>",
    members: "名党员 <small>members</small>", units: "个单位 <small>units</small>", count: "个 <small>count</small>" };
  const LEVEL_ZH = { subdistrict: "街道", community: "社区", grid: "网格", compound: "小区" };
  const GAPS = Object.fromEntries(cfg.gaps.map((g) => [g.kind, g]));
  // a layer's Chinese name: "grid:party" → 党建网格 (from the map's layers), "member" → 党员
  const LAYER_ZH = { ...(cfg.layer_names || {}), ...Object.fromEntries(cfg.layers.map((s) => [s.layer, s.label_zh])) };
  const layerZh = (layer) => LAYER_ZH[layer]
    || (String(layer).startsWith("grid:") ? `${LAYER_ZH.grid || "网格"} ${String(layer).slice(5)}` : String(layer ?? ""));
  const SUBDISTRICT_ZH = cfg.subdistrict && cfg.subdistrict.name ? cfg.subdistrict.name : LEVEL_ZH.subdistrict;
  const index = new Map(); // "community:SQ01" → a drawn feature, for drill-down and search

  function propsTable(props) {
    const place = { community_code: "community", compound_code: "compound" };
    const rows = Object.entries(props)
      .filter(([k, v]) => k in LABELS && v !== null && v !== "")
      .map(([k, v]) => `<tr><th>${LABELS[k]}</th><td>${place[k] ? named(nameOf(place[k], v), v) : escape(v)}</td></tr>`).join("");
    return `<table>${rows}</table>`;
  }

  function figuresTable(f) {
    const rows = [
      ["户数", "households", f.households], ["楼栋", "buildings", f.buildings],
      ["小区", "compounds", f.level === "compound" ? null : f.compounds],
      ["党员 (正式/预备)", "members (full/probationary)", `${f.members} (${f.members_full}/${f.members_probationary})`],
      ["组织覆盖率", "organisational coverage", f.org_coverage === null ? null : pct(f.org_coverage)],
      ["单独组建率", "own-branch rate", f.own_branch_rate === null ? null : pct(f.own_branch_rate)],
      ["党员覆盖率", "compounds with members", f.member_coverage === null ? null : pct(f.member_coverage)],
      ["组织设置建议", "proposal", f.proposal ? escape(PROPOSALS[f.proposal] || f.proposal) : null],
    ].filter((r) => r[2] !== null && r[2] !== undefined);
    return `<table class="figures">${rows.map(([zh, en, v]) =>
      `<tr><th title="${en}">${zh}</th><td>${v}</td></tr>`).join("")}</table>`;
  }

  function gapsOf(f) {
    if (!f.gaps || !f.gaps.length) return "";
    return `<p><b>问题 <small>why it is a gap</small></b></p><ul class="why">${f.gaps.map((g) =>
      `<li><b>${escape(GAPS[g.kind] ? GAPS[g.kind].label_zh : g.kind)}</b>：${codesSmall(g.message_zh)}<br><small>${codesSmall(g.message_en)}</small>${nextStep(g.kind)}</li>`).join("")}</ul>`;
  }

  const levelOf = (layer) => ({ community: "community", "grid:unified": "grid", compound: "compound" })[layer];

  // a click on a community, unified grid cell or compound fetches its figures into the popup
  function bindUnitPopup(feature, layer, spec) {
    const props = feature.properties;
    const level = levelOf(spec.layer);
    const head = `<b class="title">${named(props.name, props.code)}</b> <small>${escape(spec.label_zh)}</small>`;
    layer.bindPopup(`${head}${propsTable(props)}`, { maxWidth: 320 });
    if (!level) return;
    layer.on("popupopen", (e) => {
      getJSON(`/api/figures/${level}/${encodeURIComponent(props.code)}`)
        .then((f) => {
          const drill = level === "community" || level === "grid"
            ? `<p><a href="#" class="drill" data-level="${level}" data-code="${escape(props.code)}" data-community="${escape(f.community_code || "")}">进入${LEVEL_ZH[level]} <small>drill down</small></a></p>` : "";
          e.popup.setContent(`${head}${drill}${figuresTable(f)}${gapsOf(f)}`);
        })
        .catch(() => {});
    });
  }

  // ---- data layers ----------------------------------------------------------------------------
  const overlays = {};
  const groups = {}; // a layer's key → its group
  const loaders = [];
  for (const spec of cfg.layers) {
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
          const p = f.properties;
          layer.bindPopup(`<b>${escape(PROPOSALS[p.kind] || p.kind)}</b> <code>${escape(p.proposal_id)}</code><br>` +
            `${escape(p.explanation_zh)}<br><small>${escape(p.explanation_en)}</small>`);
          return;
        }
        bindUnitPopup(f, layer, spec);
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
  map.on("moveend", () => {
    clearTimeout(moveTimer);
    moveTimer = setTimeout(() => { loaders.forEach((f) => f()); loadGapView(); }, 150);
  });
  loaders.forEach((f) => f());

  // ---- gaps: one layer per kind, filled per view; legend with toggles and counts; list that zooms
  const gapLayers = {}; // kind → its layer, refilled with the gaps of the view
  const drawn = new Map(); // "kind:layer:code" → the drawn gap, for the list's zoom
  const shown = new Set(cfg.gaps.filter((g) => g.count && g.visible).map((g) => g.kind));
  const kindsEl = document.getElementById("gap-kinds");
  const listEl = document.getElementById("gap-list");
  // an account limited to a community or a grid opens on its area, and drills no higher
  const area = cfg.area && (cfg.area.level === "community" || cfg.area.level === "grid") ? cfg.area : null;
  const top = area ? area.level : "subdistrict";
  const state = area
    ? { level: area.level, community: area.level === "community" ? area.code : area.community, grid: area.level === "grid" ? area.code : null }
    : { level: "subdistrict", community: null, grid: null };
  const gapKey = (p) => `${p.kind}:${p.layer}:${p.code}`;

  // what a gap is about, by name: a piece of a community (留白, a sliver) is about the community,
  // the others about their own feature
  const ABOUT_COMMUNITY = new Set(["uncovered_area", "sliver"]);
  function aboutOf(p) {
    if (ABOUT_COMMUNITY.has(p.kind) && p.community_code) {
      return `${named(nameOf("community", p.community_code), p.community_code)}`;
    }
    const layer = p.layer === "member" ? "党员" : layerZh(p.layer);
    return `${named(p.name, p.code)} <small>${escape(layer)}</small>`;
  }
  // the kind's next step (下一步), one line for a coordinator
  function nextStep(kind) {
    const g = GAPS[kind];
    return g && g.next_zh ? `<p class="next"><b>下一步</b> ${escape(g.next_zh)}<br><small>Next: ${escape(g.next_en)}</small></p>` : "";
  }
  // links from a gap to the figures of its unit and to its community's organisation proposals
  function gapLinks(p) {
    const c = p.community_code;
    if (!c) return "";
    const grid = p.layer === "grid:unified" && !ABOUT_COMMUNITY.has(p.kind);
    const figures = grid
      ? `<a href="#" data-level="grid" data-code="${escape(p.code)}" data-community="${escape(c)}">网格数字 <small>grid figures</small></a>`
      : `<a href="#" data-level="community" data-code="${escape(c)}">${escape(nameOf("community", c))}的数字 <small>figures</small></a>`;
    return `<p class="links">${figures} · <a href="#" class="proposals-link" data-community="${escape(c)}">组织设置建议 <small>proposals</small></a></p>`;
  }

  function gapPopup(p) {
    const g = GAPS[p.kind] || { label_zh: p.kind };
    const value = p.unit === "share" ? pct(p.measure)
      : `${Number(p.measure).toLocaleString("zh-CN", { maximumFractionDigits: 1 })} ${UNITS[p.unit] || escape(p.unit || "")}`;
    const measure = p.measure === null || p.measure === undefined ? "" : `<br>度量 <small>measure</small>: ${value}`;
    const why = p.message_zh ? `<p class="gap-msg">${codesSmall(p.message_zh)}<br><small>${codesSmall(p.message_en)}</small></p>` : "";
    return `<b class="title">${escape(g.label_zh)} · ${aboutOf(p)}</b>${why}${measure}${nextStep(p.kind)}${gapLinks(p)}`;
  }

  let drawingZoom = null;
  for (const g of cfg.gaps) {
    gapLayers[g.kind] = L.geoJSON(null, {
      pane: g.area ? "gaps" : "gapfeatures",
      style: { color: g.colour, weight: 3, fillColor: g.colour, fillOpacity: g.area ? 0.5 : 0.12,
        className: g.area ? "" : "gap-outline" },
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 6, pane: "gaps", color: g.colour, weight: 2, fillOpacity: 0.7 }),
      onEachFeature: (f, l) => {
        l.bindPopup(gapPopup(f.properties), { maxWidth: 340 });
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

  function showKind(kind, on) {
    if (on) shown.add(kind); else shown.delete(kind);
    const input = kindsEl.querySelector(`input[data-kind="${kind}"]`);
    if (input) input.checked = on;
    if (on) gapLayers[kind].addTo(map); else map.removeLayer(gapLayers[kind]);
    return Promise.all([on ? loadGapView() : null, loadList()]).then(() => {
      el.dataset.gapsShown = cfg.gaps.filter((g) => shown.has(g.kind)).map((g) => g.kind).join(",");
    });
  }

  // a piece of land is a filled square, a whole unit an outlined one: told apart without colour
  const swatch = (g) => `<span class="swatch${g.area ? "" : " outline"}" style="--c:${g.colour}" aria-hidden="true"></span>`;
  for (const g of cfg.gaps) {
    if (!g.count) continue;
    const li = document.createElement("li");
    // a gap about one member is drawn at their home: roles that may not see personal data get
    // its count only, and are told why there is nothing to tick
    const only = g.counts_only
      ? ` <small class="counts-only">仅计数（党员个人信息）· count only (personal data)</small>` : "";
    li.innerHTML = `<label title="${escape(g.label_en)}"><input type="checkbox" data-kind="${g.kind}" ${g.visible ? "checked" : ""} ${g.counts_only ? "disabled" : ""}>` +
      `${swatch(g)}${escape(g.label_zh)} <small>${escape(g.label_en)}</small>${only}` +
      `<span class="count">${g.count}</span></label>`;
    kindsEl.appendChild(li);
    li.querySelector("input").addEventListener("change", (e) => showKind(g.kind, e.target.checked));
  }

  // kinds the analysis could not check (no column or layer for them, /api/summary's "unchecked"):
  // greyed with 未能检查 and the reason, never a count of 0
  function showUnchecked(unchecked) {
    for (const u of unchecked) {
      const g = GAPS[u.kind] || { label_zh: u.kind, label_en: u.kind };
      const old = kindsEl.querySelector(`input[data-kind="${u.kind}"]`);
      if (old) old.closest("li").remove();
      const li = document.createElement("li");
      li.className = "unchecked";
      li.dataset.kind = u.kind;
      li.title = `未能检查：${u.reason_zh}\nNot checked: ${u.reason_en}`;
      li.innerHTML = `<span class="swatch"></span>${escape(g.label_zh)} <small>${escape(g.label_en)}</small>` +
        `<span class="count">未能检查 <small>not checked</small></span>` +
        `<small class="why">${escape(u.reason_zh)}<br>${escape(u.reason_en)}</small>`;
      kindsEl.appendChild(li);
    }
    el.dataset.unchecked = unchecked.map((u) => u.kind).join(",");
  }
  if (cfg.analysed) {
    getJSON("/api/summary").then((s) => showUnchecked(s.unchecked || []))
      .catch((err) => console.warn("summary", err.message));
  }

  // the list: the shown kinds' gaps of the area (or of the community drilled into), in legend
  // order, each with its box, so it can zoom to a gap wherever the map is
  const LIST_MAX = 300;
  const fetchList = latest();
  function loadList() {
    const kinds = cfg.gaps.filter((g) => g.count && shown.has(g.kind)).map((g) => g.kind);
    if (!kinds.length) { fetchList.cancel(); renderList({ total: 0, gaps: [] }); return Promise.resolve(); }
    return fetchList(withDisplay(`/api/gaps/list?kind=${kinds.join(",")}&limit=${LIST_MAX}${unitQuery()}`))
      .then((data) => { if (data) renderList(data); })
      .catch((err) => console.warn("gap list", err.message));
  }

  // the unit the panel shows, as the query of its gap list, counts and export
  const unitQuery = () => (state.grid
    ? `&community=${encodeURIComponent(state.community || "")}&grid=${encodeURIComponent(state.grid)}`
    : state.community ? `&community=${encodeURIComponent(state.community)}` : "");

  // the legend counts the unit shown: the whole area's from the page, a unit's asked for
  const fetchCounts = latest();
  function loadCounts() {
    const unit = state.level === top ? "" : state.grid || state.community;
    const put = (counts) => {
      kindsEl.querySelectorAll("input[data-kind]").forEach((input) => {
        input.closest("label").querySelector(".count").textContent = counts[input.dataset.kind] || 0;
      });
      el.dataset.legendFor = unit;
    };
    if (!unit) { // the account's whole area: the page's counts
      fetchCounts.cancel();
      put(Object.fromEntries(cfg.gaps.map((g) => [g.kind, g.count])));
      return Promise.resolve();
    }
    return fetchCounts(`/api/gaps/counts?${unitQuery().slice(1)}`)
      .then((counts) => { if (counts) put(counts); })
      .catch((err) => console.warn("gap counts", err.message));
  }

  function renderList(data) {
    listEl.innerHTML = "";
    data.gaps.forEach((p) => {
      const g = GAPS[p.kind] || { colour: "#d50000", label_zh: p.kind };
      const li = document.createElement("li");
      li.innerHTML = `<a href="#" data-kind="${escape(p.kind)}" data-code="${escape(p.code)}">` +
        `${swatch(g)}` +
        `${escape(g.label_zh)} · ${aboutOf(p)}</a>`;
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
    map.once("moveend", () => loadGapView().then(() => {
      const layer = drawn.get(gapKey(p));
      if (layer) layer.openPopup();
      else L.popup({ maxWidth: 340 }).setLatLng([(south + north) / 2, (west + east) / 2]).setContent(gapPopup(p)).openOn(map);
    }));
    map.fitBounds([[south, west], [north, east]], { maxZoom: 17, padding: [40, 40] });
  }

  // ---- drill-down: subdistrict → community → grid --------------------------------------------
  const figuresEl = document.getElementById("figures");
  const childrenEl = document.getElementById("children");
  const crumbsEl = document.getElementById("crumbs");
  let figures = { community: [], grid: [], subdistrict: [] };

  function renderPanel() {
    const crumbs = [];
    if (top === "subdistrict") crumbs.push(`<a href="#" data-level="subdistrict">${escape(SUBDISTRICT_ZH)} <small>subdistrict</small></a>`);
    if (state.community && top !== "grid") crumbs.push(`<a href="#" data-level="community" data-code="${escape(state.community)}">${escape(nameOf("community", state.community))}</a>`);
    if (state.grid) crumbs.push(`<span>${escape(nameOf("grid", state.grid))}</span>`);
    crumbsEl.innerHTML = crumbs.join(" › ");
    const here = state.grid ? figures.grid.find((f) => f.code === state.grid)
      : state.community ? figures.community.find((f) => f.code === state.community) : figures.subdistrict[0];
    const heading = here && (here.name || (here.level === "subdistrict" ? SUBDISTRICT_ZH : LEVEL_ZH[here.level]));
    figuresEl.innerHTML = here ? `<h2>${escape(heading)} <small>${here.level}</small></h2>${figuresTable(here)}` : "";
    const kids = state.grid ? [] : state.community
      ? figures.grid.filter((f) => f.community_code === state.community) : figures.community;
    childrenEl.innerHTML = kids.length ? `<h2>${state.community ? "网格 <small>grids</small>" : "社区 <small>communities</small>"}</h2>` +
      `<table class="children"><tr><th>名称</th><th title="households">户数</th><th title="members">党员</th><th title="organisational coverage">覆盖率</th></tr>` +
      kids.map((f) => `<tr><td><a href="#" data-level="${f.level}" data-code="${escape(f.code)}" data-community="${escape(f.community_code || "")}">${escape(f.name || f.code)}</a></td>` +
        `<td>${f.households}</td><td>${f.members}</td><td>${pct(f.org_coverage)}</td></tr>`).join("") + "</table>" : "";
    el.dataset.level = state.level;
    renderTheme();
    exportHref();
    return Promise.all([loadList(), loadCounts()]);
  }

  function nameOf(level, code) {
    const f = (figures[level] || []).find((x) => x.code === code);
    if (f && f.name) return f.name;
    return area && area.code === code && area.name ? area.name : code;
  }

  // the panel on a unit (its figures, legend counts, list and export), the map left as it is
  function showUnit(level, code, community) {
    state.level = level;
    state.community = level === "subdistrict" ? null : level === "community" ? code : community || state.community;
    state.grid = level === "grid" ? code : null;
    return renderPanel();
  }

  function drill(level, code, community) {
    showUnit(level, code, community);
    const target = level === "subdistrict" ? null : index.get(`${level === "grid" ? "grid:unified" : level}:${code}`);
    if (target && target.getBounds) map.fitBounds(target.getBounds(), { padding: [20, 20] });
    else if ((level === "subdistrict" || (area && code === area.code)) && home) map.fitBounds(home);
    else if (level === "grid") getJSON(`/api/search?q=${encodeURIComponent(code)}&limit=5`).then((hits) => {
      const hit = hits.find((h) => h.code === code);
      if (hit && hit.bbox) map.fitBounds([[hit.bbox[1], hit.bbox[0]], [hit.bbox[3], hit.bbox[2]]]);
    });
    map.closePopup();
  }

  document.addEventListener("click", (e) => {
    const shown = e.target.closest("a.proposals-link");
    if (shown) { // a gap's link to its community's organisation proposals: the layer on, the community shown
      e.preventDefault();
      if (groups.proposals && !map.hasLayer(groups.proposals)) groups.proposals.addTo(map);
      drill("community", shown.dataset.community);
      return;
    }
    const a = e.target.closest("a[data-level]");
    if (!a) return;
    e.preventDefault();
    drill(a.dataset.level, a.dataset.code, a.dataset.community);
  });

  // ---- choropleth of the 两个覆盖 rates, per community (or per grid inside a community) ---------
  const themeSelect = document.getElementById("theme-select");
  const themeLegend = document.getElementById("theme-legend");
  // rates run from red (little covered: where work is needed) to green (all covered); member
  // counts are amounts, in blues, with nothing alarming about few or many
  const RATE_RAMP = ["#b2182b", "#ef8a62", "#fee08b", "#a6d96a", "#1a9850"];
  const COUNT_RAMP = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"];
  // shown above the compounds, buildings and the stations' walking circles (which would wash it
  // out), level with the proposals (created later, so drawn over it) and below the gaps; back in
  // its place when no theme is shown
  const themePane = map.getPane("choropleth");
  const themeZ = { off: themePane.style.zIndex, on: map.getPane("proposals").style.zIndex };
  let theme = L.geoJSON(null, { pane: "choropleth" });
  const themeCache = {};

  function renderTheme() {
    map.removeLayer(theme);
    themeLegend.innerHTML = "";
    const metric = themeSelect.value;
    el.dataset.theme = metric;
    themePane.style.zIndex = metric ? themeZ.on : themeZ.off;
    if (!metric) return;
    const RAMP = metric === "members" ? COUNT_RAMP : RATE_RAMP;
    const level = state.community ? "grid" : "community";
    const layerName = level === "grid" ? "grid:unified" : "community";
    const rows = figures[level].filter((f) => level === "community" || f.community_code === state.community);
    const values = Object.fromEntries(rows.map((f) => [f.code, f[metric]]));
    const max = metric === "members" ? Math.max(1, ...Object.values(values).map(Number)) : 1;
    const colour = (v) => (v === null || v === undefined ? "#bdbdbd"
      : RAMP[Math.min(RAMP.length - 1, Math.floor((v / max) * RAMP.length))]);
    const draw = (data) => {
      map.removeLayer(theme);
      theme = L.geoJSON(data, {
        pane: "choropleth",
        filter: (f) => f.properties.code in values,
        style: (f) => ({ color: "#555", weight: 1, fillColor: colour(values[f.properties.code]), fillOpacity: 0.65 }),
        onEachFeature: (f, l) => {
          const v = values[f.properties.code];
          l.bindTooltip(`${escape(f.properties.name || f.properties.code)}: ${metric === "members" ? v : pct(v)}`);
          l.on("click", () => drill(level, f.properties.code, state.community));
        },
      }).addTo(map);
      el.dataset.themeFeatures = theme.getLayers().length;
    };
    const url = withDisplay(`/api/layers/${encodeURIComponent(layerName)}/features?zoom=15`);
    if (themeCache[url]) draw(themeCache[url]);
    else getJSON(url).then((data) => { themeCache[url] = data; if (themeSelect.value === metric) draw(data); })
      .catch((err) => console.warn("theme", err.message));
    const steps = RAMP.map((c, i) => {
      const lo = (i / RAMP.length) * max; const hi = ((i + 1) / RAMP.length) * max;
      const text = metric === "members" ? `${Math.round(lo)}–${Math.round(hi)}` : `${pct(lo)}–${pct(hi)}`;
      return `<span><i style="background:${c}"></i>${text}</span>`;
    });
    themeLegend.innerHTML = `${steps.join("")}<span><i style="background:#bdbdbd"></i>无数据 <small>no data</small></span>`;
  }
  themeSelect.addEventListener("change", renderTheme);

  // ---- panel on a phone: a bottom sheet over the map, peek / half / full (a tap on its handle
  // goes one step up, from full back to peek); on a desktop a side panel
  const toggle = document.getElementById("panel-toggle");
  const SHEET = { peek: ["half", "展开 <small>more</small>"], half: ["full", "全屏 <small>full</small>"],
    full: ["peek", "收起 <small>less</small>"] };
  function sheet(at) {
    document.body.dataset.sheet = at;
    el.dataset.sheet = at;
    toggle.setAttribute("aria-expanded", String(at !== "peek"));
    toggle.innerHTML = `<span class="grip" aria-hidden="true"></span>${SHEET[at][1]}`;
  }
  sheet("half");
  toggle.addEventListener("click", () => sheet(SHEET[document.body.dataset.sheet || "half"][0]));

  // ---- export: a layer or the latest analysis's results as a file (/api/export, the area's part) ---
  const exportLayer = document.getElementById("export-layer");
  const exportFormat = document.getElementById("export-format");
  const exportLink = document.getElementById("export-link");
  const exportScope = document.getElementById("export-scope");
  for (const e of cfg.exports || []) {
    const option = document.createElement("option");
    option.value = e.path;
    option.textContent = e.label_zh;
    exportLayer.appendChild(option);
  }
  // the export follows the drill-down: the unit shown, its file named after it
  function exportHref() {
    const path = exportLayer.value;
    if (!path) return;
    const unit = state.level === top ? null : state.grid || state.community;
    const place = unit ? `&place=${encodeURIComponent(unit)}` : "";
    exportLink.href = path + (path.includes("?") ? "&" : "?") + `format=${exportFormat.value}${place}`;
    document.getElementById("report-link").href = unit ? `/report?place=${encodeURIComponent(unit)}` : "/report";
    exportScope.innerHTML = unit
      ? `范围：${named(nameOf(state.grid ? "grid" : "community", unit), unit)} <small>only the unit shown</small>`
      : `范围：${escape(area && area.name ? area.name : SUBDISTRICT_ZH)} 全部 <small>the whole area</small>`;
  }
  exportLayer.addEventListener("change", exportHref);
  exportFormat.addEventListener("change", exportHref);
  if (exportLayer.options.length) exportHref();

  // ---- the account's area ----------------------------------------------------------------------
  if (cfg.area && cfg.area.outline) {
    L.geoJSON(cfg.area.outline, { pane: "highlight", interactive: false,
      style: { color: "#ff6f00", weight: 4, opacity: 0.9, dashArray: "10 6", fill: false } }).addTo(map);
    el.dataset.areaOutline = cfg.area.code;
  }

  // ---- start -----------------------------------------------------------------------------------
  const ready = cfg.analysed
    ? Promise.all(["subdistrict", "community", "grid"].map((level) =>
      getJSON(`/api/figures?level=${level}`).then((rows) => { figures[level] = rows; })))
    : Promise.resolve();
  el.dataset.gapsShown = cfg.gaps.filter((g) => shown.has(g.kind)).map((g) => g.kind).join(",");
  ready.then(() => Promise.all([loadGapView(), renderPanel()]))
    .then(() => { el.dataset.ready = "1"; })
    .catch((err) => { console.warn("start", err.message); renderPanel(); el.dataset.ready = "1"; });
  // what the panel files (map-search.js) use
  window.gridmap = { map, drill, showKind, showUnit, state, gaps: drawn, el, area, index, loaders,
    layerZh, figures: () => figures };
})();
