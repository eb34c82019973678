// The paint mode's panel (涂色): the mode switch, undo/redo, the cells to paint with (each with
// its households against the band, members and a 锁定 toggle) and the figures of the cells the
// last stroke touched (households, members, compounds cut, stations in reach, Party rules); the
// status line, the server's answers, and the units a cell across two communities must give up.
// editor-paint.js keeps the state and calls these.
(function () {
  "use strict";
  const { escape } = window.gridmapKit;
  const BAND = { within: ["在范围内", "within the band"], below: ["户数偏少", "below the band"],
    above: ["户数偏多", "above the band"] };
  const BAND_COLOUR = { within: "#2e7d32", below: "#1565c0", above: "#c62828" };
  const CSS = `
    #paint .modes button[aria-pressed="true"] { background: #b71c1c; color: #fff; }
    #paint .hint { font-size: .8rem; color: #555; margin: .2rem 0; }
    #paint-cells { max-height: 15rem; overflow-y: auto; border: 1px solid #ddd; }
    #paint-cells table { width: 100%; border-collapse: collapse; font-size: .85rem; }
    #paint-cells td { padding: 1px 4px; border-bottom: 1px solid #eee; }
    #paint-cells tr.current { background: #fff3e0; }
    #paint-cells button.pick { border: 0; background: none; color: #0d47a1; cursor: pointer; text-align: left; padding: 0; font-size: .85rem; }
    #paint-cells button.pick:disabled { color: #757575; cursor: default; }
    body.painting #problems li button { display: none; }
    #paint-figures .warn { color: #c62828; } #paint-figures td.party ul { margin: 0; padding-left: 1rem; }
    #paint-cells td.band-within { color: #1b5e20; } #paint-cells td.band-below, #paint-cells td.band-above { color: #c62828; font-weight: bold; }`;

  // a count of members as the server shows it to this account: hidden below the threshold
  const members = (f) => (f.members === null || f.members === undefined
    ? (f.members_hidden === "outside_area" ? "范围外不计" : `&lt;${f.members_min_shown}`) : `${f.members}`);
  const bandText = (f, band) => `${f.households} <small>${BAND[f.band][0]} (${band[0]}–${band[1]})</small>`;

  function button(id, zh, en, extra) {
    return `<button type="button" id="${id}" title="${zh} / ${en}" ${extra || ""}>${zh}</button>`;
  }

  // the bar inside #paint: what the planner reaches first, in tab order
  function build(box) {
    const style = document.createElement("style");
    style.textContent = CSS;
    document.head.appendChild(style);
    box.innerHTML = `<div class="buttons modes" role="group" aria-label="编辑方式 / editing mode">` +
      button("mode-paint", "涂色", "paint units into cells", 'aria-pressed="false"') +
      button("mode-draw", "绘制", "draw and edit cells freely", 'aria-pressed="false"') + "</div>" +
      `<div id="paint-tools"><div class="buttons">` +
      button("paint-undo", "撤销", "undo the last stroke (Ctrl+Z)", "disabled") +
      button("paint-redo", "重做", "redo (Ctrl+Y)", "disabled") + "</div>" +
      `<p class="hint">选一个网格（列表或 Alt+点击地图），再点击或拖刷单元（手指或笔亦可）；Shift+拖框选。` +
      `<small>Pick a cell (list, or Alt+click on the map), then click or brush units (by finger or pen too); Shift+drag selects a box.</small></p>` +
      `<div id="paint-cells" tabindex="-1"></div>` +
      `<h2>本笔所改网格 <small>cells of the last stroke</small></h2><div id="paint-figures"><p class="note">–</p></div></div>`;
    return {
      paint: box.querySelector("#mode-paint"), draw: box.querySelector("#mode-draw"),
      tools: box.querySelector("#paint-tools"), undo: box.querySelector("#paint-undo"),
      redo: box.querySelector("#paint-redo"), list: box.querySelector("#paint-cells"),
      figures: box.querySelector("#paint-figures"),
    };
  }

  // one row per paintable cell: pick button, households against the band, members, lock
  function list(ui, cells, state, band) {
    const rows = cells.map(({ code, name }) => {
      const f = state.figures.get(code);
      const lockedHere = state.locked.has(code);
      const gone = !f; // every unit moved out: the cell is empty
      return `<tr data-code="${escape(code)}" data-households="${f ? f.households : 0}" data-band="${f ? f.band : ""}"` +
        `${code === state.current ? ' class="current"' : ""}>` +
        `<td><button type="button" class="pick" aria-pressed="${code === state.current}" ${lockedHere ? "disabled" : ""}` +
        ` title="用此网格涂色 / paint with this cell">${escape(name || code)}</button> <small class="code">${escape(code)}</small></td>` +
        `<td class="households band-${f ? f.band : ""}">${f ? f.households : "–"}${gone ? " <small>空 empty</small>" : ""}</td>` +
        `<td class="members" title="党员 / members">${f ? members(f) : "–"}</td>` +
        `<td><label title="锁定：不给出也不接收单元 / lock: gives and takes no units"><input type="checkbox" class="lock" aria-label="锁定 ${escape(code)} / lock"` +
        `${lockedHere ? " checked" : ""}> 锁定</label></td></tr>`;
    }).join("");
    ui.list.innerHTML = `<table><thead><tr><th>网格 <small>cell</small></th><th title="households (${band[0]}–${band[1]})">户数</th>` +
      `<th title="members">党员</th><th title="lock">锁定</th></tr></thead><tbody>${rows}</tbody></table>`;
  }

  // the figures of the cells a stroke (or an undo) touched, as the server computed them
  function figures(ui, rows, band) {
    ui.figures.innerHTML = rows.length ? rows.map((f) => `<table class="figures" data-code="${escape(f.code)}">` +
      `<caption>${escape(f.name || f.code)} <small class="code">${escape(f.code)}</small></caption>` +
      `<tr><th title="households">户数</th><td class="band-${f.band === "within" ? "ok" : f.band}">${bandText(f, band)}</td></tr>` +
      `<tr><th title="buildings">楼栋</th><td>${f.buildings}</td></tr>` +
      `<tr><th title="units">单元</th><td>${f.units}</td></tr>` +
      `<tr><th title="members full/probationary">党员</th><td class="members">${members(f)}` +
      `${f.members_full !== null && f.members_full !== undefined ? ` (${f.members_full}/${f.members_probationary})` : ""}</td></tr>` +
      `<tr><th title="compounds cut">切分小区</th><td class="cut${f.compounds_cut ? " warn" : ""}">${f.compounds_cut ? escape(f.compounds_cut.split(";").join("、")) : "无 <small>none</small>"}</td></tr>` +
      `<tr><th title="stations within ${f.station_radius_m} m">服务站</th><td class="reach${f.stations_in_reach ? "" : " warn"}">` +
      `${f.stations_in_reach ? escape(f.stations_in_reach.split(";").join("、")) : `${f.station_radius_m} 米内没有党群服务站 <small>no station within ${f.station_radius_m} m</small>`}</td></tr>` +
      `<tr><th title="Party rules">党组织</th><td class="party"><ul>${(f.party || []).map((p) =>
        `<li data-kind="${escape(p.kind)}" class="${p.kind === "branch_of_its_own" ? "" : "warn"}">${escape(p.message_zh)}<br><small>${escape(p.message_en)}</small></li>`).join("")}</ul></td></tr></table>`).join("")
      : '<p class="note">网格已空 <small>the cell is empty</small></p>';
  }

  // ---- the status line and the server, as editor.js speaks them ----------------------------------
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const statusEl = document.getElementById("status");
  function say(zh, en, kind) {
    statusEl.className = kind || "";
    statusEl.innerHTML = `${escape(zh)}${en ? `<br><small>${escape(en)}</small>` : ""}`;
  }
  function send(method, url, body) {
    return fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json().catch(() => null).then((data) => {
      if (r.ok) return data;
      const err = new Error((data && data.message_en) || String(r.status));
      err.data = data || {};
      throw err;
    }));
  }
  function fail(err) { // the server's message, with its first row problem
    const data = err.data || {};
    const first = (data.problems || [])[0];
    say(`${data.message_zh || "请求失败"}${first ? ` ${first.reason_zh}` : ""}`, `${err.message}${first ? ` ${first.reason_en}` : ""}`, "error");
  }

  // a drawn cell reaching into a second community may hold, by largest share, a unit of it; a
  // cell lies in one community, so the unit goes to the cell of its own community it borders most
  // (changes ``assign``; returns [unit, from, to or null] per unit moved)
  function keepInCommunity(assign, units, cellInfo) {
    const strays = [...assign].filter(([u, c]) => cellInfo.get(c).community !== units.get(u).community);
    if (!strays.length) return [];
    const owners = new Map(); // vertex → units (the units of a community share their vertices exactly)
    const vertices = (u) => units.get(u).layer.getLatLngs().flat(Infinity).map((p) => `${p.lat.toFixed(7)},${p.lng.toFixed(7)}`);
    for (const u of units.keys()) for (const v of vertices(u)) owners.set(v, [...(owners.get(v) || []), u]);
    return strays.map(([u, from]) => {
      const votes = new Map();
      for (const v of vertices(u)) for (const n of owners.get(v)) {
        const c = assign.get(n);
        if (n !== u && c && cellInfo.get(c).community === units.get(u).community) votes.set(c, (votes.get(c) || 0) + 1);
      }
      const to = [...votes].sort((a, b) => b[1] - a[1])[0];
      if (to) assign.set(u, to[0]); else assign.delete(u);
      return [u, from, to ? to[0] : null];
    });
  }

  window.gridmapPaintView = { build, list, figures, say, send, fail, keepInCommunity, BAND, BAND_COLOUR };
})();
