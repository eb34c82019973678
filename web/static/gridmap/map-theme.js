// The choropleth of the 两个覆盖 rates, the staffing rates (网格员, 书记, 红色物业小区) or member
// counts, per community, or per grid inside the community shown; a click on a unit drills to it.
(function () {
  "use strict";
  const { escape, pct, getJSON } = window.gridmapKit;
  const gm = window.gridmap;
  const { map, el, state, figures, withDisplay } = gm;
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
  // what a staffing theme (人员配备, the analysis's staffing rates per unit) counts, per level
  // shown: communities of the subdistrict, or the grids (unified cells) of a community
  const STAFFING_NOTES = {
    grid_staffed_rate: {
      community: ["有住户的网格中，有网格长或网格员的比例", "share of the grids with households that have a grid leader or worker"],
      grid: ["本网格住户所在的基础网格中，有网格长或网格员的比例 (通常只一个：有为 100%，无为 0%)",
        "share of the base-layer grids holding the grid's households that have a grid leader or worker (usually one: 100% or 0%)"],
    },
    qualified_secretary_rate: {
      community: ["党支部、联合党支部中，书记为正式党员且党龄达到要求的比例",
        "share of branches and joint branches whose secretary is a full member of the required Party age"],
      grid: ["网格不设支部：按覆盖本网格内小区的党支部、联合党支部计，书记达标的比例；灰色为没有支部覆盖",
        "grids have no branch of their own: the share of the branches covering the grid's compounds whose secretary qualifies; grey where no branch covers them"],
    },
    red_property_rate: {
      community: ["有物业服务企业的小区中，物业企业建有党组织 (单独或联合) 的比例",
        "share of the compounds served by a property company whose company has its own or a joint Party organisation"],
      grid: ["本网格内有物业服务企业的小区中，物业企业建有党组织 (单独或联合) 的比例；灰色为没有物业小区",
        "share of the grid's compounds served by a property company whose company has its own or a joint Party organisation; grey where none is served by one"],
    },
  };

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
        className: "theme-unit",
        onEachFeature: (f, l) => {
          const v = values[f.properties.code];
          l.bindTooltip(`${escape(f.properties.name || f.properties.code)}: ${metric === "members" ? v : pct(v)}`);
          l.on("click", () => gm.drill(level, f.properties.code, state.community));
        },
      }).addTo(map);
      // each unit's shape says which unit it is, so what is coloured can be read back
      theme.eachLayer((l) => { const e = l.getElement && l.getElement(); if (e) e.dataset.code = l.feature.properties.code; });
      el.dataset.themeFeatures = theme.getLayers().length;
      el.dataset.themeLevel = level;
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
    const note = STAFFING_NOTES[metric] && STAFFING_NOTES[metric][level];
    themeLegend.innerHTML = `${steps.join("")}<span><i style="background:#bdbdbd"></i>无数据 <small>no data</small></span>` +
      (note ? `<p class="hint theme-note">${escape(note[0])} <small>${escape(note[1])}</small></p>` : "");
  }
  themeSelect.addEventListener("change", renderTheme);

  Object.assign(gm, { renderTheme });
})();
