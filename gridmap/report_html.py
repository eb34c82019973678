"""report.html: the analysis as an office document (web/templates/report.html), Chinese first.

Figures, the 两个覆盖 rates per community and grid with names beside codes (and the staffing
rates — 网格员配备率, 书记达标率, 红色物业覆盖率 — per community), gaps by kind, every
finding with its next step (下一步), the checks that could not run, the proposals, an overview map and one section (and map) per
community, each section starting a printed page.

>>> doc = {"version": "1.0", "generated_at": "2026-01-01T00:00:00+00:00", "summary": {
...     "counts": {"unified_cells": 2}, "gaps": {}, "proposals": {}, "rates": {}},
...     "rates": [{"level": "community", "code": "S1", "name": "锦绣社区", "compounds": 1,
...                "org_coverage": 1.0, "own_branch_rate": 0.0, "member_coverage": 1.0}],
...     "gaps": [], "proposals": []}
>>> page = report_html(doc)
>>> "全科网格" in page, "unified_cells" in page, "锦绣社区" in page
(True, False, True)
"""

from __future__ import annotations

from collections import Counter

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gridmap.core.coverage import STAFFING_RATES
from gridmap.core.gaps import GAP_KINDS, next_step
from gridmap.layers import GRID_LAYER_EXAMPLES
from gridmap.maps.assets import WEB
from gridmap.maps.labels import COUNT_LABELS, LEVELS, PROPOSAL_KINDS, RATE_LABELS, gap_label
from gridmap.maps.labels import percent as _percent

# the gap kinds that are coverage gaps (留白); those after them are the layers' own defects
COVERAGE_KINDS = tuple(list(GAP_KINDS)[: list(GAP_KINDS).index("invalid_geometry")])
# a compound's own branch is the usual proposal, counted only; the others are listed
LISTED_PROPOSALS = tuple(k for k in PROPOSAL_KINDS if k != "branch")


def _next_step(kind: str) -> tuple[str, str]:
    """The finding's next step (下一步, :data:`gridmap.core.gaps.NEXT_STEPS`); a kind without
    one reads as nothing here, and fails the report's test, instead of failing the report."""
    try:
        return next_step(kind)
    except KeyError:
        return ("", "")


_env = Environment(
    loader=FileSystemLoader(str(WEB / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["percent"] = _percent
_env.globals.update(gap_label=gap_label, next_step=_next_step, RATES=RATE_LABELS, LEVELS=LEVELS,
                   STAFFING=STAFFING_RATES)  # fmt: skip


def _kind_rows(counts: dict, kinds) -> list[dict]:
    return [{"kind": k, "label": gap_label(k), "count": counts[k]} for k in kinds if counts.get(k)]


def _unit(name, code) -> dict:
    return {"name": name or "", "code": code or ""}


def _community_sections(doc: dict, maps: dict) -> list[dict]:
    by_grid = [r for r in doc["rates"] if r["level"] == "grid"]
    sections = []
    for row in (r for r in doc["rates"] if r["level"] == "community"):
        code = row["code"]
        gaps = [g for g in doc["gaps"] if g.get("community_code") == code]
        sections.append({
            "unit": _unit(row.get("name"), code), "rates": row,
            "grids": [g for g in by_grid if g.get("community_code") == code],
            "kinds": _kind_rows(Counter(g["kind"] for g in gaps), GAP_KINDS),
            "gaps": gaps, "map": maps.get(code),
            "proposals": [p for p in doc["proposals"] if p.get("community_code") == code
                          and p["kind"] in LISTED_PROPOSALS],
        })  # fmt: skip
    return sections


def _staffing(doc: dict) -> dict | None:
    """The staffing rates (人员配备) of the subdistrict, when the report holds it, and of each
    community: from the rates rows (report.json) or the summary (a stored run); ``None`` when
    none was counted (no roster, companies or organisations loaded)."""
    summary = doc["summary"]
    per = summary.get("staffing") or {}
    whole = None
    if any(r["level"] == "subdistrict" for r in doc["rates"]):
        whole = {k: per.get("", {}).get(k) for k in STAFFING_RATES}
    rows = [
        {**r, **{k: r[k] if r.get(k) is not None else per.get(r["code"], {}).get(k) for k in STAFFING_RATES}}
        for r in doc["rates"] if r["level"] == "community"
    ]  # fmt: skip
    values = [v for row in [whole or {}, *rows] for k, v in row.items() if k in STAFFING_RATES]
    if all(v is None for v in values):
        return None
    return {"whole": whole, "communities": rows}


def report_html(doc: dict, maps: dict | None = None, compounds: dict | None = None) -> str:
    """The printable report of ``doc`` (see :func:`gridmap.report.report_document`).

    ``maps``: ``{"overview": MapParts | None, "communities": {code: MapParts}}`` from
    :mod:`gridmap.maps.report_maps`; without it the report has no maps. ``compounds``: compound
    code → name, written beside the codes a proposal lists.
    """
    from gridmap.maps.report_maps import report_assets

    maps = maps or {}
    summary = doc["summary"]
    names = {r["code"]: r.get("name") for r in doc["rates"] if r["level"] == "community"}
    per_community = maps.get("communities") or {}
    drawn = [m for m in [maps.get("overview"), *per_community.values()] if m is not None]
    heads = list(dict.fromkeys(h for m in drawn for h in m.head))
    gaps_by_kind = summary.get("gaps", {})
    return _env.get_template("report.html").render(
        doc=doc,
        counts=[(COUNT_LABELS.get(k, (k, k)), v) for k, v in summary.get("counts", {}).items()],
        subdistrict=next((r for r in doc["rates"] if r["level"] == "subdistrict"), None),
        communities=[r for r in doc["rates"] if r["level"] == "community"],
        staffing=_staffing(doc),
        coverage_kinds=_kind_rows(gaps_by_kind, COVERAGE_KINDS),
        defect_kinds=_kind_rows(gaps_by_kind, [k for k in gaps_by_kind if k not in COVERAGE_KINDS]),
        unchecked=summary.get("unchecked") or [],
        proposal_counts=[(PROPOSAL_KINDS.get(k, k), k, n) for k, n in summary.get("proposals", {}).items()],
        sections=_community_sections(doc, per_community),
        elsewhere=[g for g in doc["gaps"] if g.get("community_code") not in names],
        proposals_elsewhere=[p for p in doc["proposals"] if p.get("community_code") not in names
                             and p["kind"] in LISTED_PROPOSALS],
        base_zh=GRID_LAYER_EXAMPLES.get(summary.get("base", ""), summary.get("base", "")),
        generated=doc["generated_at"].replace("T", " ")[:16] + " UTC",
        proposal_kinds=PROPOSAL_KINDS,
        compound_names=compounds or {},
        overview=maps.get("overview"),
        assets=report_assets() if drawn else "",
        heads=heads,
        scripts=[m.script for m in drawn],
    )  # fmt: skip
