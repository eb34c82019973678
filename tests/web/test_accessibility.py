"""Accessibility of every page (issue 22): axe-core, served by the app itself from the vendored
folder and used only here, finds no serious or critical violation at a desktop or on a phone."""

from __future__ import annotations

import pytest

AXE = "/static/vendor/axe-core@4.14.1/axe.min.js"
PAGES = ["/map", "/editor", "/members", "/admin/audit"]


def violations(watched) -> list[str]:
    page = watched.page
    page.add_script_tag(url=watched.base + AXE)
    found = page.evaluate(
        """axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .map((v) => `${v.id} (${v.impact}): ${v.nodes.length} × ${v.nodes.slice(0, 3)
                .map((n) => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n")[1]).join(" | ")}`))"""
    )  # fmt: skip
    return found


def opened(watched, path: str):
    page = watched.page
    page.goto(watched.base + path)
    if path in ("/map", "/editor"):
        page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
    return page


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("screen", ["desk", "handset"])
def test_no_serious_or_critical_violation(screen, path, request):
    watched = request.getfixturevalue(screen)
    opened(watched, path)
    assert violations(watched) == []


def test_login_page_has_no_serious_or_critical_violation(anonymous):
    anonymous.page.goto(anonymous.base + "/login")
    assert violations(anonymous) == []


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_legend_colours_stand_out_from_the_panel_and_the_red_kinds_differ_in_shape():
    from gridmap.maps.layers import GAP_COLOURS, gap_legend

    weak = {k: round(contrast(c, "#fafafa"), 2) for k, c in GAP_COLOURS.items() if contrast(c, "#fafafa") < 3}  # fmt: skip
    assert weak == {}
    rows = {r["kind"]: r for r in gap_legend({})}
    gap, no_org = rows["uncovered_area"], rows["compound_without_org"]
    assert gap["colour"] != no_org["colour"] and gap["area"] and not no_org["area"]


def test_the_audit_trail_reads_in_local_time_words_and_page_numbers(desk):
    page = desk.page
    page.goto(desk.base + "/admin/audit")
    first = page.locator("#audit tbody tr").first
    stored = first.locator("time").get_attribute("datetime")
    shown = first.locator("time").inner_text()
    from datetime import datetime, timedelta

    utc = datetime.fromisoformat(stored)
    assert shown == (utc + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")  # Asia/Shanghai
    assert "{" not in page.inner_text("#audit")  # summaries in words, not JSON
    total = int(page.locator("#audit-count").inner_text().split("共 ")[1].split(" ")[0])
    pages = page.locator("nav.pages [aria-current='page']")
    assert (pages.count() == 1 and pages.inner_text() == "1") if total > 200 else pages.count() == 0
