// What a popup says: a feature's properties (places by name), a unit's figures fetched on click
// (/api/figures/{level}/{code}) with a link to drill into it, an organisation proposal, and a gap:
// titled by what it is about, why, its measure, the next step for its kind and links to its unit.
(function () {
  "use strict";
  const { escape, pct, getJSON, named, codesSmall } = window.gridmapKit;
  const gm = window.gridmap;
  const { GAPS, LEVEL_ZH, nameOf, layerZh } = gm;
  // what a feature's popup lists before its figures arrive; places it belongs to by name
  const LABELS = { households: "户数", floors: "层数", community_code: "所属社区", compound_code: "所属小区",
    property_company: "物业公司", repair_note: "几何修复", address: "地址" };
  const PROPOSALS = { branch: "单独建立党支部", general_branch: "党总支 / 分设支部", joint_branch: "联合党支部",
    not_joinable: "暂无法联建", party_group: "党小组", split_branch: "分设党支部", member_household: "党员中心户" };
  const UNITS = { m2: "平方米 <small>m²</small>", m: "米 <small>m</small>", households: "户 <small>households</small>",
    members: "名党员 <small>members</small>", units: "个单位 <small>units</small>", count: "个 <small>count</small>" };

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
  const headOf = (props, spec) => `<b class="title">${named(props.name, props.code)}</b> <small>${escape(spec.label_zh)}</small>`;
  // what a feature's popup says before (or without) its figures: a building's, from its tile
  const featurePopup = (props, spec) => `${headOf(props, spec)}${propsTable(props)}`;
  function bindUnitPopup(feature, layer, spec) {
    const props = feature.properties;
    const level = levelOf(spec.layer);
    const head = headOf(props, spec);
    layer.bindPopup(featurePopup(props, spec), { maxWidth: 320 });
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

  // an organisation proposal of the map's proposals layer
  const proposalPopup = (p) => `<b>${escape(PROPOSALS[p.kind] || p.kind)}</b> <code>${escape(p.proposal_id)}</code><br>` +
    `${escape(p.explanation_zh)}<br><small>${escape(p.explanation_en)}</small>`;

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

  Object.assign(gm, { figuresTable, bindUnitPopup, featurePopup, proposalPopup, aboutOf, gapPopup });
})();
