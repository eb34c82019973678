// The panel on a phone: a bottom sheet over the map, peek / half / full (a tap on its handle goes
// one step up, from full back to peek); on a desktop a side panel (map.css).
(function () {
  "use strict";
  const { el } = window.gridmap;
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
})();
