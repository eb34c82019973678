// 服务人员: who serves the community or grid the panel shows (/api/people: names masked for roles
// that may not see personal data, the public duty phone for everyone, the personal phone only
// where the account may see it), and the link to the contact list (通讯录) of the community.
(function () {
  "use strict";
  const { escape, getJSON } = window.gridmapKit;
  const gm = window.gridmap;
  const figuresEl = document.getElementById("figures");
  const TAP = 'style="display:inline-flex;align-items:center;min-height:44px"'; // a finger's width

  const phone = (number, zh, en) => (number
    ? ` · ${zh} <small>${en}</small> <a href="tel:${escape(number.replace(/[^0-9+]/g, ""))}" ${TAP}>${escape(number)}</a>` : "");

  function post(p) {
    const party = p.party_member ? " · 党员 <small>Party member</small>" : "";
    const since = p.took_post ? ` · ${escape(p.took_post)} 起 <small>since</small>` : "";
    const due = p.term_due ? ' · <strong class="term-due">换届提醒 <small>term due</small></strong>' : "";
    return `<li><strong>${escape(p.role_zh)}</strong> <small>${escape(p.role_en)}</small> ${escape(p.name || "")}` +
      `${party}${since}${due}${phone(p.duty_phone, "值班电话", "duty phone")}${phone(p.phone, "手机", "personal")}</li>`;
  }

  function section(answer, here) {
    const list = answer.posts.length ? `<ul class="people">${answer.posts.map(post).join("")}</ul>`
      : '<p class="hint">尚无登记的服务人员 <small>no one listed</small></p>';
    const masked = answer.masked ? '<p class="hint">姓名已脱敏 <small>names masked</small></p>' : "";
    const contacts = here.level === "community"
      ? `<p><a href="/api/people/contacts.xlsx?community=${encodeURIComponent(here.code)}" download ${TAP}>` +
        "服务人员通讯录 <small>contact list (.xlsx)</small></a></p>" : "";
    return `<section class="people-serving"><h2>服务人员 <small>who serves here</small></h2>${list}${masked}${contacts}</section>`;
  }

  function showPeople(here) {
    if (!here || !["community", "grid"].includes(here.level)) return;
    const unit = `${here.level}:${here.code}`;
    getJSON(`/api/people?level=${here.level}&code=${encodeURIComponent(here.code)}`).then((answer) => {
      if (figuresEl.dataset.unit === unit) figuresEl.insertAdjacentHTML("beforeend", section(answer, here));
    }).catch(() => {}); // no roster, or a unit the account may not see: no section
  }

  gm.showPeople = showPeople;
})();
