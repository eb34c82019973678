// Export: a layer or the latest analysis's results as a file (/api/export, the area's part), and
// the printable report (/report); both follow the drill-down, the file named after the unit shown.
(function () {
  "use strict";
  const { escape, named } = window.gridmapKit;
  const gm = window.gridmap;
  const { cfg, area, top, state, nameOf, SUBDISTRICT_ZH } = gm;
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

  Object.assign(gm, { exportHref });
})();
