// The editor's drawing tools (leaflet-geoman) named in Chinese, visibly and for screen readers;
// a tool added later (or the toolbar redrawn) is named as well.
(function () {
  "use strict";
  const NAMES = {
    "leaflet-pm-icon-polygon": ["画网格", "draw a cell"],
    "leaflet-pm-icon-rectangle": ["画矩形", "draw a rectangle"],
    "leaflet-pm-icon-circle": ["画圆", "draw a circle"],
    "leaflet-pm-icon-edit": ["改边界", "edit vertices"],
    "leaflet-pm-icon-drag": ["移动", "move"],
    "leaflet-pm-icon-cut": ["切分", "cut"],
    "leaflet-pm-icon-delete": ["删除", "delete"],
    "leaflet-pm-icon-rotate": ["旋转", "rotate"],
    "leaflet-pm-icon-text": ["文字", "text"],
  };
  function nameTools() {
    document.querySelectorAll(".leaflet-pm-toolbar a.leaflet-buttons-control-button").forEach((a) => {
      if (a.dataset.named) return;
      const icon = a.querySelector(".control-icon");
      const key = icon && [...icon.classList].find((c) => c in NAMES);
      if (!key) return;
      const [zh, en] = NAMES[key];
      a.setAttribute("aria-label", `${zh} / ${en}`);
      a.setAttribute("role", "button");
      a.title = `${zh} / ${en}`;
      const label = document.createElement("span");
      label.className = "pm-name";
      label.textContent = zh;
      a.appendChild(label);
      a.dataset.named = "1";
    });
  }
  nameTools();
  const el = document.getElementById("map");
  new MutationObserver(nameTools).observe(el, { childList: true, subtree: true });

  // every cell of the plan labelled with its name and households, coloured by the band
  // (below / within / above); a click on any cell shows its figures in the panel
  const { escape } = window.gridmapKit;
  const cfg = JSON.parse(el.dataset.config);
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const BAND = { below: "户数偏少", ok: "户数适中", above: "户数偏多" };
  function figuresOf(p, f) {
    return `<h3>${escape(p.name || p.code)} <small class="code">${escape(p.code)}</small></h3><table class="figures">` +
      `<tr><th>户数</th><td class="band-${f.band}">${f.households} · ${BAND[f.band] || ""}</td></tr>` +
      `<tr><th>楼栋</th><td>${f.buildings}</td></tr><tr><th>党员 (正式/预备)</th><td>${f.members ?? "–"}` +
      `${f.members_full !== undefined && f.members_full !== null ? ` (${f.members_full}/${f.members_probationary})` : ""}</td></tr></table>`;
  }
  function labelCells() {
    const editor = window.gridmapEditor;
    if (!editor || !cfg.plan_id) return Promise.resolve();
    const cells = editor.collection();
    if (!cells.features.length) return Promise.resolve();
    return fetch(`/api/plans/${cfg.plan_id}/figures`, { method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify({ cells }) })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((rows) => {
        const by = Object.fromEntries(rows.map((f) => [f.code, f]));
        editor.cells.eachLayer((layer) => {
          const p = layer.feature.properties;
          const f = by[p.code];
          if (!f) return;
          layer.unbindTooltip();
          layer.bindTooltip(`${escape(p.name || p.code)}<br>${f.households} 户`,
            { permanent: true, direction: "center", className: `cell-label band-${f.band}` });
          if (layer.showFigures) layer.off("click", layer.showFigures); // the first time there is none
          layer.showFigures = () => {
            document.getElementById("cell-figures").innerHTML = figuresOf(p, f);
            el.dataset.cellShown = p.code;
          };
          layer.on("click", layer.showFigures);
        });
        el.dataset.labelled = rows.length;
      })
      .catch((err) => console.warn("cell labels", err.message));
  }
  const whenReady = new MutationObserver(() => {
    if (el.dataset.ready !== "1") return;
    whenReady.disconnect();
    labelCells();
  });
  whenReady.observe(el, { attributes: true, attributeFilter: ["data-ready"] });
  const save = document.getElementById("save");
  if (save) save.addEventListener("click", () => setTimeout(labelCells, 0));
  window.gridmapEditorLabels = labelCells;

  // in edit mode only the selected cell shows its vertex handles (a subdistrict's cells would
  // show hundreds): a click on a cell selects it, and its handles replace the previous one's
  const editor = window.gridmapEditor;
  let selected = null;
  const handlesOn = (layer) => {
    editor.cells.eachLayer((l) => { if (l !== layer && l.pm && l.pm.enabled()) l.pm.disable(); });
    if (layer && layer.pm && !layer.options.pmIgnore && !layer.pm.enabled()) layer.pm.enable();
    el.dataset.editing = layer ? layer.feature.properties.code : "";
  };
  editor.map.on("pm:globaleditmodetoggled", (e) => { if (e.enabled) handlesOn(selected); });
  editor.cells.on("click", (e) => {
    selected = e.layer;
    if (editor.map.pm.globalEditModeEnabled()) handlesOn(selected);
  });
})();
