"""The staffing rates in the printed report: from report.json's rates rows, or from a stored
run's summary (the /report page), and left out when nothing was counted."""

from __future__ import annotations

import re

from gridmap.report_html import report_html

RATES = {"org_coverage": 1.0, "own_branch_rate": 0.5, "member_coverage": 0.75}
STAFFED = {
    "grid_staffed_rate": 0.875,
    "qualified_secretary_rate": 0.5,
    "property_covered_rate": None,
    "red_property_rate": 0.25,
}


def _doc(rows_carry_staffing: bool) -> dict:
    community = {"level": "community", "code": "S1", "name": "锦绣社区", "compounds": 2, **RATES}
    summary = {"counts": {}, "gaps": {}, "proposals": {}, "rates": RATES, "staffing": {"": STAFFED}}
    if rows_carry_staffing:
        community |= STAFFED
    else:
        summary["staffing"]["S1"] = STAFFED
    return {"version": "1.0", "generated_at": "2026-12-01T00:00:00+00:00", "summary": summary,
            "rates": [{"level": "subdistrict", "code": "", "compounds": 2, **RATES}, community],
            "gaps": [], "proposals": []}  # fmt: skip


def _staffing_table(page: str) -> list[str]:
    table = page.split('class="rates staffing"')[1].split("</table>")[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in table.split("<tr>")[2:]]


def test_the_report_shows_each_communitys_staffing_rates_from_either_source():
    for carried in (True, False):
        rows = _staffing_table(report_html(_doc(carried)))
        assert rows[0].startswith("全街道") and rows[1].startswith("锦绣社区 S1")
        assert rows[1].endswith("87.5% 50.0% — 25.0%"), rows[1]


def test_no_staffing_section_when_nothing_was_counted():
    doc = _doc(True)
    doc["summary"]["staffing"] = {"": dict.fromkeys(STAFFED)}
    doc["rates"][1] |= dict.fromkeys(STAFFED)
    assert "人员配备" not in report_html(doc)
