// Times written in UTC (<time datetime="…">) shown in the configured local time zone
// (GRIDMAP_TIMEZONE, <body data-timezone>), as 2026-12-06 20:15:03.
(function () {
  "use strict";
  const zone = document.body.dataset.timezone || "Asia/Shanghai";
  const format = new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  document.querySelectorAll("time[datetime]").forEach((t) => {
    const at = new Date(t.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) { t.title = `UTC ${t.textContent}`; t.textContent = format.format(at); }
  });
})();
