"""Results of the latest analysis for the map: summary, figures per unit, proposals, search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gridmap.api.cache import kept_json
from gridmap.api.deps import ConnDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.errors import NotFoundError
from gridmap.io.geojson_text import EMPTY, MEDIA_TYPE, frame_collection, spaced
from gridmap.permissions import hidden_gap_layers, in_area, may_see_unit, outside_area
from gridmap.store import results
from gridmap.store.features import search_features

router = APIRouter(prefix="/api", tags=["analysis"], dependencies=[*CHECKED, require("view")])

Level = Literal["subdistrict", "community", "grid", "compound"]


def _records(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# what an account limited to an area reads of the summary: the run and what could not be
# checked; the totals, gap counts and rates of the whole subdistrict are not its to see
AREA_SUMMARY = ("version", "base", "unchecked")


def _summary_in(whole: dict, area) -> dict:
    """The summary as the caller's area may see it (all of it for admins); staffing rates only
    of the communities the area holds."""
    communities = [code for code in whole.get("staffing") or {} if code]  # "" is the subdistrict
    mine = [code for code in communities if may_see_unit(area, "community", code, code)]
    if area is None or len(mine) == len(communities):  # an area holding every community
        return whole
    staffing = {code: whole["staffing"][code] for code in mine}
    return {**{k: whole[k] for k in AREA_SUMMARY if k in whole}, "staffing": staffing}


@router.get("/summary", summary="最新分析的概况 (本人范围内) / summary of the latest analysis, as the caller's area may see it")  # fmt: skip
def summary(request: Request, conn: ConnDep, area: AreaDep) -> Response:
    run = results.latest_run(conn, "analyze")
    if run is None:
        raise NotFoundError(
            "还没有分析结果，请先运行 gridmap analyze。", "No analysis yet; run gridmap analyze."
        )

    def make() -> dict:
        return {"run": run, **_summary_in(results.run_summary(conn, run) or {}, area)}

    return kept_json(request, conn, ("summary",), make, area)


def _visible(frame, area):
    """The rows of a figures frame the caller's area holds (every row for admins)."""
    if area is None or frame.empty:
        return frame
    keep = [
        may_see_unit(area, level, code, community)
        for level, code, community in zip(frame["level"], frame["code"], frame["community_code"], strict=True)
    ]  # fmt: skip
    return frame[keep]


@router.get("/figures", summary="各单元的户数、党员与覆盖率 (本人范围内) / figures of every unit in the caller's area")  # fmt: skip
def figures(request: Request, conn: ConnDep, area: AreaDep, level: Level | None = None) -> Response:
    def make() -> list[dict]:
        return _records(_visible(results.read_figures(conn, level=level), area))

    # the same for every account of one area, kept until the data change
    return kept_json(request, conn, ("figures", level), make, area)


@router.get("/figures/{level}/{code}", summary="一个单元的数字、问题与建议 / one unit")
def unit(level: Level, code: str, conn: ConnDep, principal: PrincipalDep, area: AreaDep) -> dict:
    frame = _visible(results.read_figures(conn, level=level, code=code), area)
    if frame.empty:  # outside the caller's area reads the same as absent
        raise outside_area(f" {level} {code} 的分析数字", f"figures for {level} {code}")
    mine = results.unit_gaps(conn, results.latest_run(conn, "analyze"), code)
    mine = mine[~mine["layer"].isin(hidden_gap_layers(principal))]
    return {**_records(frame)[0], "gaps": _records(mine)}


# /proposals: the branch proposals of the latest analysis (grid proposals are draft plans)
@router.get("/proposals", summary="组织设置建议 (GeoJSON) / organisation proposals")
def proposals(conn: ConnDep, area: AreaDep, community: str | None = None) -> Response:
    run = results.latest_run(conn, "analyze")
    if run is None:
        return Response(EMPTY, media_type=MEDIA_TYPE)
    frame = results.read_branch_proposals(conn, run)
    if community:
        frame = frame[frame["community_code"] == community]
    frame = frame[frame.geometry.notna()]
    frame = frame[in_area(frame, area)]
    return Response(frame_collection(frame, spaced), media_type=MEDIA_TYPE)


@router.get("/search", summary="按名称或编号查找 / search by name or code")
def search(
    conn: ConnDep, q: Annotated[str, Query(min_length=1, max_length=50)], limit: int = 20
) -> list[dict]:
    return search_features(conn, q, limit=max(1, min(limit, 50)))
