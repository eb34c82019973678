// Helpers shared by the map and the editor: escaping, fetching JSON, percentages, and places
// named first with their codes in small print (玉林社区 510199001005).
(function () {
  "use strict";
  const escape = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
  const getJSON = (url) => fetch(url).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${url}: ${r.status}`))));
  // a place by its name, its code in small print; a place without a name by its code
  const named = (name, code) => (name && name !== code
    ? `${escape(name)} <small class="code">${escape(code)}</small>`
    : `<span class="code">${escape(code)}</span>`);
  // a finding's message names places as 名称（编号） or name (code): the codes go in small print
  const CODE = "[A-Za-z0-9][A-Za-z0-9_.-]*";
  const codesSmall = (text) => escape(text)
    .replace(new RegExp(`（(${CODE})）`, "g"), '<small class="code">（$1）</small>')
    .replace(new RegExp(` \\((${CODE})\\)`, "g"), ' <small class="code">($1)</small>');
  // a map's view as text (zoom and centre): pages mark the view whose data are in with it
  const viewKey = (map) => {
    const c = map.getCenter();
    return `${map.getZoom()}:${c.lat.toFixed(6)},${c.lng.toFixed(6)}`;
  };
  window.gridmapKit = { escape, pct, getJSON, named, codesSmall, viewKey };
})();
