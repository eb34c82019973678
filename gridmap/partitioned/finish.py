"""The end of a partitioned run: the whole area's figures from every partition's share, the new
unified grid in place of the old, the run marked finished — in one transaction."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from sqlalchemy import Connection, delete, update

from gridmap.core.analysis import REPORT_VERSION
from gridmap.core.coverage import FIGURE_COLUMNS
from gridmap.core.staffing_rates import FIGURE_STAFFING, STAFFING_RATES, whole_area_staffing
from gridmap.partitioned.plan import Partition
from gridmap.partitioned.task import UNIFIED, staged_layer
from gridmap.store import features, partitions, results
from gridmap.store.models import GridLayer, table_for


def _total(shares: list[dict], key: str) -> dict:
    out: Counter = Counter()
    for share in shares:
        out.update(share.get(key) or {})
    return dict(sorted(out.items()))


def whole_area_rates(sums: dict) -> dict:
    """两个覆盖 rates of the whole area from the partitions' compound counts, rounded as
    :func:`gridmap.core.coverage.rates` rounds them."""
    n = max(sums.get("compounds", 0), 1)
    return {
        "compounds": sums.get("compounds", 0),
        "org_coverage": round(float(sums.get("covered", 0)) / n, 4),
        "own_branch_rate": round(float(sums.get("own_branch", 0)) / n, 4),
        "member_coverage": round(float(sums.get("members", 0)) / n, 4),
    }


def whole_area_staffing_of(shares: list[dict]) -> dict:
    """The staffing rates by unit code as the one-process summary keeps them (``""`` the whole
    area, from every partition's flags; each community's from its partition)."""
    whole = whole_area_staffing([f for s in shares for f in s.get("staffing_flags") or []])
    per = {code: rates for s in shares for code, rates in (s.get("staffing") or {}).items()}
    return {"": {k: whole[k] for k in STAFFING_RATES}, **dict(sorted(per.items()))}


def _whole_area_figures(counts: dict, probationary: int, rates: dict, staffing: dict) -> pd.DataFrame:  # fmt: skip
    row = {
        "level": "subdistrict", "code": "", "name": None, "community_code": None,
        "households": counts["households"], "buildings": counts["buildings"],
        "compounds": rates["compounds"], "members_full": counts["members_full"],
        "members_probationary": probationary, "members": counts["members_full"] + probationary,
        **{k: v for k, v in rates.items() if k != "compounds"}, "proposal": None,
        **{k: staffing[k] for k in FIGURE_STAFFING},
    }  # fmt: skip
    columns = [*FIGURE_COLUMNS[:2], "name", *FIGURE_COLUMNS[2:], *FIGURE_STAFFING]
    return pd.DataFrame([row])[columns]


def _put_unified_in_place(conn: Connection, run_id: int) -> None:
    grid = table_for("grid")
    staged = staged_layer(run_id)
    conn.execute(delete(grid).where(grid.c.layer == UNIFIED))
    conn.execute(update(grid).where(grid.c.layer == staged).values(layer=UNIFIED))
    conn.execute(delete(GridLayer).where(GridLayer.name == staged))
    features.ensure_grid_layer(conn, UNIFIED)


def finish(
    conn: Connection,
    run_id: int,
    kind: str,
    base: str,
    by: str,
    plan: tuple[Partition, ...],
    actor: str,
) -> dict:
    """Combine the partitions of ``run_id``, make it the latest run of ``kind``; its summary."""
    shares = list(partitions.partition_summaries(conn, run_id).values())
    summary: dict = {"partition": by, "partitions": len(plan), "base": base}
    if kind == "analyze":
        counts = _total(shares, "counts")
        rates = whole_area_rates(_total(shares, "rate_sums"))
        probationary = sum(s.get("members_probationary", 0) for s in shares)
        flags = [f for s in shares for f in s.get("staffing_flags") or []]
        figures = _whole_area_figures(counts, probationary, rates, whole_area_staffing(flags))
        results.save_figures(conn, run_id, figures)
        summary.update({
            "version": REPORT_VERSION, "counts": counts, "gaps": _total(shares, "gaps"),
            "unchecked": next((s["unchecked"] for s in shares if s.get("unchecked")), []),
            "proposals": _total(shares, "proposals"),
            "rates": rates, "staffing": whole_area_staffing_of(shares),
        })  # fmt: skip
    else:
        summary.update({
            "findings": _total(shares, "findings"),
            "unified_cells": sum(s.get("unified_cells", 0) for s in shares),
            "compounds_moved": sum(s.get("compounds_moved", 0) for s in shares),
        })  # fmt: skip
    _put_unified_in_place(conn, run_id)
    partitions.finish_run(conn, run_id, kind, summary)
    features.log_change(
        conn, actor, kind, f"grid:{UNIFIED}", {"run": run_id, "partitions": len(plan)}
    )
    return summary
