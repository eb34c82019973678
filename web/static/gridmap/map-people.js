// 服务人员: who serves the community or grid the panel shows (/api/people: names masked for roles
// that may not see personal data, the public duty phone for everyone, the personal phone only
// where the account may see it), and the link to the contact list (通讯录) of the community; a
// compound clicked on the map: its property company and owners' committee.
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

  // a compound clicked on the map: its property company (物业服务企业, 红色物业 or not, the
  // 党建指导员 sent to it) and its owners' committee (业委会), in a panel section of its own below
  // the unit's figures, until the panel shows another unit
  const compoundEl = document.createElement("section");
  compoundEl.id = "compound-people";
  compoundEl.hidden = true;
  figuresEl.after(compoundEl);
  const row = (zh, en, v) => (v === null || v === undefined ? "" : `<tr><th title="${en}">${zh}</th><td>${v}</td></tr>`);
  const orgOf = (x) => (x.party_org_zh ? `${escape(x.party_org_zh)} <small>${escape(x.party_org_en)}</small>` : "未填 <small>not given</small>");

  function firm(f) {
    const red = f.red ? ' <strong class="red-property">红色物业</strong>' : "";
    const sent = f.instructors.length ? `<ul class="people">${f.instructors.map(post).join("")}</ul>`
      : `<p class="hint">${f.has_instructor ? "已派党建指导员，花名册未列 <small>one is sent, not on the roster</small>"
        : "未派党建指导员 <small>no instructor sent</small>"}</p>`;
    return `<div class="property" data-code="${escape(f.code)}"><h3>${escape(f.name || f.code)}${red} <small>物业服务企业 · property company</small></h3>` +
      `<table class="figures">${row("党组织", "Party organisation", orgOf(f))}${row("从业人员", "employees", f.employees)}` +
      `${row("党员", "Party members", f.party_members)}</table>` +
      `<h4>党建指导员 <small>Party-building instructor</small></h4>${sent}</div>`;
  }

  function committee(c) {
    const posts = c.posts.length ? `<ul class="people">${c.posts.map(post).join("")}</ul>` : "";
    return `<div class="owners-committee" data-code="${escape(c.code)}"><h3>${escape(c.name || c.code)} <small>业主委员会 · owners' committee</small></h3>` +
      `<table class="figures">${row("委员", "members", c.members)}${row("党员委员", "Party members", c.party_members)}` +
      `${row("“两委”交叉任职", "also on the community's two committees", c.cross_serving)}` +
      `${row("党组织", "Party organisation", orgOf(c))}</table>${posts}</div>`;
  }

  function showCompound(code) {
    compoundEl.dataset.code = code;
    getJSON(`/api/people?level=compound&code=${encodeURIComponent(code)}`).then((answer) => {
      if (compoundEl.dataset.code !== code) return;
      const none = (zh, en) => `<p class="hint">${zh} <small>${en}</small></p>`;
      compoundEl.innerHTML = `<h2>${escape(answer.place)} <small>物业与业委会 · property and owners' committee</small></h2>` +
        (answer.property.length ? answer.property.map(firm).join("") : none("无登记的物业服务企业", "no property company listed")) +
        (answer.owners_committee.length ? answer.owners_committee.map(committee).join("") : none("无登记的业主委员会", "no owners' committee listed")) +
        (answer.posts.length ? `<h3>服务人员 <small>who serves here</small></h3><ul class="people">${answer.posts.map(post).join("")}</ul>` : "") +
        (answer.masked ? '<p class="hint">姓名已脱敏 <small>names masked</small></p>' : "");
      compoundEl.hidden = false;
      compoundEl.dataset.ready = code;
    }).catch(() => { compoundEl.hidden = true; }); // no such layer, or outside the account's area
  }

  gm.map.on("popupopen", (e) => {
    const source = e.popup._source;
    const code = source && source.feature && source.feature.properties.code;
    if (code && gm.index.get(`compound:${code}`) === source) showCompound(code);
  });

  function showUnitPeople(here) {
    compoundEl.hidden = true;
    delete compoundEl.dataset.code;
    delete compoundEl.dataset.ready;
    showPeople(here);
  }

  Object.assign(gm, { showPeople: showUnitPeople, showCompound });
})();
