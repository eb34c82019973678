"""``/report``: the printable report of the latest analysis in the browser, for the subdistrict,
a community or a grid cell — the very page ``gridmap analyze`` writes as report.html
(:func:`gridmap.report_html.report_html`), filled from the stored results of the caller's area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from gridmap.api.deps import ConnDep
from gridmap.api.security import AreaDep, PagePrincipalDep, require
from gridmap.errors import NotFoundError
from gridmap.permissions import hidden_gap_layers, in_area, outside_area

# included by the pages' router (gridmap/api/routes/pages.py), whose checks it shares
router = APIRouter(include_in_schema=False, dependencies=[require("view", page=True)])


def _records(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@router.get("/report", response_class=HTMLResponse)
def report_page(
    conn: ConnDep,
    principal: PagePrincipalDep,
    area: AreaDep,
    place: Annotated[str | None, Query(max_length=64, description="社区或网格编号")] = None,
) -> HTMLResponse:
    from gridmap.api.routes.analysis import _visible
    from gridmap.report_html import report_html
    from gridmap.store import results

    run = results.latest_run(conn, "analyze")
    if run is None:
        raise NotFoundError("还没有分析结果，请先运行 gridmap analyze。", "No analysis yet; run gridmap analyze.")  # fmt: skip
    figures = _visible(results.read_figures(conn), area)
    figures = figures[figures["level"] != "compound"]
    community = grid = None
    if place:
        rows = figures[(figures["code"] == place) & figures["level"].isin(["community", "grid"])]
        if rows.empty:
            raise outside_area(f"社区或网格 {place}", f"community or grid {place}")
        level = rows["level"].iloc[0]
        community = place if level == "community" else rows["community_code"].iloc[0]
        grid = place if level == "grid" else None
    elif area is not None and area.level in ("community", "grid"):
        community = next(iter(area.communities), None)
        grid = area.code if area.level == "grid" else None
    if community is not None:
        keep = (figures["code"] == community) | (figures["community_code"] == community)
        figures = figures[keep & ((figures["code"] == grid) | (figures["level"] != "grid") if grid else keep)]  # fmt: skip
    gaps = results.read_gaps(conn, run, community=community, leave_out_layers=hidden_gap_layers(principal))  # fmt: skip
    if grid is not None:
        from gridmap.store.areas import resolve_area

        gaps = gaps[in_area(gaps, resolve_area(conn, grid))]
    proposals = results.read_branch_proposals(conn, run)
    if community is not None:
        proposals = proposals[proposals["community_code"] == community]
    summary = dict(results.run_summary(conn, run) or {})
    if place or area is not None:  # the counts of the unit reported, not of the whole run
        summary["gaps"] = gaps["kind"].value_counts().sort_index().to_dict()
        summary["proposals"] = proposals["kind"].value_counts().sort_index().to_dict()
    doc = {
        "version": summary.get("version", ""),
        "generated_at": _run_time(conn, run),
        "summary": summary,
        "rates": _records(figures),
        "gaps": _records(gaps.drop(columns=gaps.geometry.name)),
        "proposals": _records(proposals.drop(columns=proposals.geometry.name))
        if len(proposals)
        else [],
    }
    return HTMLResponse(report_html(doc))


def _run_time(conn, run: int) -> str:
    from sqlalchemy import select

    from gridmap.store.models import AnalysisRun

    at = conn.execute(select(AnalysisRun.at).where(AnalysisRun.id == run)).scalar()
    return at.isoformat(timespec="seconds") if at is not None else "0000-00-00T00:00"
