"""The analysis report: report.json (versioned schema), gaps.geojson, proposals.geojson, report.html.

``report.json`` schema (version 1.0):

- ``version``, ``generated_at`` (the only field that changes between identical runs)
- ``summary``: ``counts`` (communities, unified_cells, compounds, buildings, households, members,
  members_full, members_assigned, stations), ``gaps`` (count per kind), ``proposals`` (count per
  kind), ``rates`` (org_coverage, own_branch_rate, member_coverage for the subdistrict),
  ``staffing`` (grid_staffed_rate, qualified_secretary_rate, property_covered_rate,
  red_property_rate by unit code: ``""`` the subdistrict, then each community), ``unchecked``
  (the gap kinds that could not be checked, not zero: ``kind, reason_zh, reason_en``)
- ``rates``: one object per level and unit (``level`` subdistrict | community | grid, ``code``,
  ``name``, ``community_code`` of a grid cell) with ``compounds``, the three rates and the four
  staffing rates (subdistrict and communities; ``null`` for grid cells and where nothing was
  counted: :data:`gridmap.core.coverage.STAFFING_RATES` says what each counts)
- ``gaps``: one object per finding: ``kind, layer, code, name, measure, unit, message_zh,
  message_en, codes, community_code`` (geometry in gaps.geojson, same properties)
- ``proposals``: ``proposal_id, kind, committee, community_code, compounds, full_members,
  probationary_members, explanation_zh, explanation_en``

No personal data: members appear by code only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from gridmap.io.write import write_frame


def report_document(result) -> dict:
    gaps = result.gaps.drop(columns="geometry")
    props = result.proposals.drop(columns="geometry") if len(result.proposals) else result.proposals
    return {
        "version": result.summary["version"],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": result.summary,
        "rates": with_staffing(
            _named_rates(result.rates, result.figures), result.summary.get("staffing")
        ),
        "gaps": gaps.astype(object).where(gaps.notna(), None).to_dict("records"),
        # the key stays "proposals": the branch proposals (支部组建建议), not grid proposals
        "proposals": props.astype(object).where(props.notna(), None).to_dict("records"),
    }


def _named_rates(rates: pd.DataFrame, figures: pd.DataFrame) -> list[dict]:
    """The rates rows with each unit's name, and a grid cell's community (from the figures)."""
    names = figures[["level", "code", "name", "community_code"]].drop_duplicates(["level", "code"])
    named = rates.merge(names, on=["level", "code"], how="left")
    named.loc[named["level"] != "grid", "community_code"] = None
    first = ["level", "code", "name", "community_code"]
    named = named[first + [c for c in rates.columns if c not in first]]
    return named.astype(object).where(named.notna(), None).to_dict("records")


def with_staffing(rows: list[dict], staffing: dict | None) -> list[dict]:
    """The rates rows with the staffing rates of the subdistrict and each community beside
    the others (``summary.staffing``; ``None`` for grid cells and what was not counted).

    >>> with_staffing([{"level": "grid", "code": "G1"}], {"": {"grid_staffed_rate": 1.0}})
    [{'level': 'grid', 'code': 'G1', 'grid_staffed_rate': None, 'qualified_secretary_rate': None, 'property_covered_rate': None, 'red_property_rate': None}]
    """
    from gridmap.core.coverage import STAFFING_RATES

    if staffing is None:
        return rows
    return [
        {**r, **{k: (staffing.get(r["code"]) or {}).get(k) if r["level"] != "grid" else None
                 for k in STAFFING_RATES}}
        for r in rows
    ]  # fmt: skip


def write_report(result, out: Path, settings=None) -> None:
    """report.json, gaps.geojson, proposals.geojson and report.html (with its maps) in ``out``."""
    from gridmap.config import Settings
    from gridmap.maps.report_maps import community_maps, overview_map
    from gridmap.report_html import report_html

    radius = (settings or Settings()).station_radius_m
    out.mkdir(parents=True, exist_ok=True)
    doc = report_document(result)
    (out / "report.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
    )
    write_frame(result.gaps, out / "gaps.geojson", "geojson", "gaps")
    if len(result.proposals):
        write_frame(result.proposals, out / "proposals.geojson", "geojson", "proposals")
    maps = {"overview": overview_map(result, radius), "communities": community_maps(result, radius)}
    compounds = result.figures[result.figures["level"] == "compound"]
    names = dict(zip(compounds["code"], compounds["name"].fillna(""), strict=True))
    (out / "report.html").write_text(report_html(doc, maps, names), encoding="utf-8")
