"""The analysis report: report.json (versioned schema), gaps.geojson, proposals.geojson, report.html.

``report.json`` schema (version 1.0):

- ``version``, ``generated_at`` (the only field that changes between identical runs)
- ``summary``: ``counts`` (communities, unified_cells, compounds, buildings, households, members,
  members_full, members_assigned, stations), ``gaps`` (count per kind), ``proposals`` (count per
  kind), ``rates`` (org_coverage, own_branch_rate, member_coverage for the subdistrict)
- ``rates``: one object per level and unit (``level`` subdistrict | community | grid, ``code``)
- ``gaps``: one object per finding: ``kind, layer, code, name, measure, unit, message_zh,
  message_en, codes, community_code`` (geometry in gaps.geojson, same properties)
- ``proposals``: ``proposal_id, kind, committee, community_code, compounds, full_members,
  probationary_members, explanation_zh, explanation_en``

No personal data: members appear by code only.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path

from gridmap.core.gaps import GAP_KINDS
from gridmap.io.write import write_frame


def report_document(result) -> dict:
    gaps = result.gaps.drop(columns="geometry")
    props = result.proposals.drop(columns="geometry") if len(result.proposals) else result.proposals
    return {
        "version": result.summary["version"],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": result.summary,
        "rates": result.rates.to_dict("records"),
        "gaps": gaps.astype(object).where(gaps.notna(), None).to_dict("records"),
        "proposals": props.astype(object).where(props.notna(), None).to_dict("records"),
    }


def write_report(result, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    doc = report_document(result)
    (out / "report.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
    write_frame(result.gaps, out / "gaps.geojson", "geojson", "gaps")
    if len(result.proposals):
        write_frame(result.proposals, out / "proposals.geojson", "geojson", "proposals")
    (out / "report.html").write_text(report_html(doc), encoding="utf-8")


COUNT_LABELS = {
    "communities": "社区", "unified_cells": "全科网格", "compounds": "小区", "buildings": "楼栋",
    "households": "户数", "members": "党员", "members_full": "正式党员", "members_assigned": "已落位党员",
    "stations": "党群服务站",
}  # fmt: skip


def _bar(value: float) -> str:
    return f'<span class="bar"><span style="width:{value * 100:.1f}%"></span></span> {value:.1%}'


def report_html(doc: dict) -> str:
    """A printable Chinese report: figures, rates, gaps by kind, every gap, the proposals."""
    s = doc["summary"]
    e = html.escape
    counts = "".join(
        f"<tr><td>{e(k)}</td><td class=n>{v}</td></tr>" for k, v in s["counts"].items()
    )
    rates = "".join(
        f"<tr><td>{e(r['level'])}</td><td>{e(str(r['code']))}</td><td>{_bar(r['org_coverage'])}</td>"
        f"<td>{_bar(r['own_branch_rate'])}</td><td>{_bar(r['member_coverage'])}</td></tr>"
        for r in doc["rates"] if r["level"] != "grid"
    )  # fmt: skip
    kinds = "".join(
        f"<tr><td>{e(GAP_KINDS.get(k, k))}</td><td><code>{k}</code></td><td class=n>{n}</td></tr>"
        for k, n in s["gaps"].items()
    )
    gaps = "".join(
        f"<tr><td>{e(GAP_KINDS.get(g['kind'], g['kind']))}</td><td>{e(str(g['code']))}</td><td>{e(str(g['message_zh']))}</td></tr>"
        for g in doc["gaps"]
    )
    proposals = "".join(
        f"<tr><td>{e(p['proposal_id'])}</td><td>{e(str(p['compounds']))}</td><td>{e(str(p['explanation_zh']))}</td></tr>"
        for p in doc["proposals"]
        if p["kind"] != "branch"
    )
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>党建引领网格化治理分析报告</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#222}}
h1{{color:#b71c1c}}table{{border-collapse:collapse;margin:.5rem 0 1.5rem}}td,th{{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}}
td.n{{text-align:right}}.bar{{display:inline-block;width:6rem;height:.7rem;background:#eee}}.bar span{{display:block;height:100%;background:#c62828}}
@media print{{body{{margin:0}}}}</style></head><body>
<h1>党建引领网格化治理分析报告</h1><p>Party-building grid governance report · 生成时间 {e(doc["generated_at"])} · 版本 {e(doc["version"])}</p>
<h2>基本情况 <small>figures</small></h2><table>{counts}</table>
<h2>两个覆盖 <small>coverage rates</small></h2><table><tr><th>层级</th><th>编码</th><th>组织覆盖率</th><th>单独组建率</th><th>党员覆盖率</th></tr>{rates}</table>
<h2>留白与问题 <small>gaps by kind</small></h2><table>{kinds}</table>
<h2>组建建议 (联合建及其他) <small>proposals</small></h2><p>本报告仅为建议，不代表已成立任何组织。</p><table>{proposals}</table>
<h2>问题清单 <small>every gap</small></h2><table><tr><th>类型</th><th>编号</th><th>说明</th></tr>{gaps}</table>
</body></html>
"""
