"""两个覆盖's people side (做优骨干队伍): grids staffed, branches with a qualified secretary,
property companies covered (红色物业) and compounds with 红色物业 (红色物业小区), for the
subdistrict and every community, beside the other rates of
:func:`gridmap.core.coverage.coverage_rates`; the analysis summary keeps them by unit
(``staffing``), report.json beside the rates of each unit.

The map colours communities and grids by them (``FIGURE_STAFFING``, in the unit figures):
grids staffed, qualified secretaries and compounds with 红色物业.

Every rate is made of flags — one row per unit counted (a grid of the base layer, a branch, a
property company, a compound), with the community and the unified cells it counts in and
whether it is served (:func:`staffing_flags`) — so the shares of a community, a grid and the
whole area are counted alike, and a partitioned run can make the whole area's from the flags
of its partitions (:func:`whole_area_staffing`).

Pure functions of the roster, the organisations, the property companies and the hierarchy's
tables (codes link them); the posts and the secretary's rule are those of
:mod:`gridmap.core.staffing`, so a rate and its findings count alike.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from gridmap.config import Settings
from gridmap.core.staffing import BRANCHES, People, _codes, served, unqualified
from gridmap.people_layers import GRID_WORKERS

# 两个覆盖's people side: each rate a share of what is counted, ``None`` where there is nothing
# to count or the layer it needs was not loaded (not checked, not 0 %)
STAFFING_RATES: dict[str, tuple[str, str, str]] = {
    "grid_staffed_rate": ("网格员配备率", "grids staffed",
                          "有住户的网格 (基础网格图层) 中，有网格长或网格员的比例"),
    "qualified_secretary_rate": ("书记达标率", "branches with a qualified secretary",
                                 "党支部、联合党支部中，书记为正式党员且党龄达到要求的比例"),
    "property_covered_rate": ("红色物业覆盖率", "property companies covered",
                              "物业服务企业中，建有党组织 (单独或联合) 或派驻党建指导员的比例"),
    "red_property_rate": ("红色物业小区占比", "compounds with 红色物业",
                          "有物业服务企业的有住户小区中，物业企业建有党组织 (单独或联合) 的比例"),
}  # fmt: skip
# the staffing rates of the unit figures (the map's choropleths), per community and per
# unified cell: a cell counts the base-layer grids with households in it, the branches covering
# its compounds, and its compounds served by a property company
FIGURE_STAFFING: dict[str, tuple[str, str, str]] = {
    "grid_staffed_rate": STAFFING_RATES["grid_staffed_rate"],
    "qualified_secretary_rate": STAFFING_RATES["qualified_secretary_rate"],
    "red_property_rate": STAFFING_RATES["red_property_rate"],
}  # fmt: skip
FLAG_COLUMNS = ["rate", "unit", "community_code", "cells", "ok"]


def _share(ok: pd.Series) -> float | None:
    return round(float(ok.sum()) / len(ok), 4) if len(ok) else None


def _flags(rate: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=FLAG_COLUMNS[1:])
    frame.insert(0, "rate", rate)
    return frame


def staffing_flags(
    people: People,
    orgs: pd.DataFrame,
    compound_table: pd.DataFrame,
    buildings: pd.DataFrame,
    base: str,
    settings: Settings,
    today: date | None = None,
) -> pd.DataFrame:
    """One row per unit a staffing rate counts: ``rate``, ``unit`` (its code), ``community_code``
    (``None``: counted for the whole area only), ``cells`` (the unified cells it counts in, a
    list) and ``ok`` (served). A rate whose layer was not loaded has no rows.

    - ``grid_staffed_rate``: grids of the ``base`` layer (each building's in
      ``buildings["grid_code__" + base]``) with households, served by a 网格长 or 网格员 (what
      ``grid_without_worker`` misses); a grid's community is the one holding most of its
      households, its cells those holding any of them (``buildings["grid_code__unified"]``);
    - ``qualified_secretary_rate``: branches and joint branches whose secretary, at least one,
      is a full member of the Party age ``settings.secretary_min_party_years`` on ``today``
      (default ``settings.staffing_as_of`` or today); a branch's community is its first
      compound's, its cells those of every compound it covers;
    - ``property_covered_rate``: property companies with a Party organisation of their own or
      joint, or a 党建指导员 sent (roster or column), one row in every community they serve;
    - ``red_property_rate``: compounds with households served by a property company, served by
      one with a Party organisation of its own or joint (红色物业小区).

    >>> staff = pd.DataFrame({"code": ["R1"], "role": ["grid_worker_full"], "places": ["G1"]})
    >>> b = pd.DataFrame({"households": [30, 20], "community_code": ["S1", "S1"],
    ...                   "grid_code__party": ["G1", "G2"], "grid_code__unified": ["U1", "U2"]})
    >>> c = pd.DataFrame({"code": ["K1"], "community_code": ["S1"]})
    >>> f = staffing_flags(People(staff), pd.DataFrame({"code": [], "kind": []}), c, b, "party",
    ...                    Settings())
    >>> f[["unit", "cells", "ok"]].to_dict("records")
    [{'unit': 'G1', 'cells': ['U1'], 'ok': True}, {'unit': 'G2', 'cells': ['U2'], 'ok': False}]
    """
    today = today or settings.staffing_as_of or date.today()
    community_of = dict(zip(compound_table["code"], compound_table["community_code"], strict=True))
    cell_of = (
        dict(zip(compound_table["code"], compound_table["grid_code__unified"], strict=True))
        if "grid_code__unified" in compound_table
        else {}
    )
    staff, firms = people.staff, people.properties
    parts = []
    if staff is not None:
        parts.append(_grid_flags(staff, buildings, f"grid_code__{base}"))
        parts.append(_secretary_flags(staff, orgs, community_of, cell_of, settings, today))
    if firms is not None:
        parts.append(_property_flags(staff, firms, community_of))
        parts.append(_compound_flags(firms, compound_table, community_of, cell_of))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FLAG_COLUMNS)


def _grid_flags(staff: pd.DataFrame, buildings: pd.DataFrame, grid_column: str) -> pd.DataFrame:
    homes = buildings[buildings["households"].fillna(0).to_numpy() > 0]
    by = homes.groupby([grid_column, "community_code"])["households"].sum().reset_index()
    grids = by.sort_values("households", ascending=False, kind="stable").drop_duplicates(
        grid_column
    )
    grids = grids.sort_values(grid_column, kind="stable")
    cells: dict = {}
    if "grid_code__unified" in homes:
        pairs = homes[[grid_column, "grid_code__unified"]].dropna().drop_duplicates()
        cells = pairs.groupby(grid_column)["grid_code__unified"].agg(sorted).to_dict()
    worked = served(staff, GRID_WORKERS)
    return _flags("grid_staffed_rate", [
        {"unit": g, "community_code": c, "cells": cells.get(g, []), "ok": bool(worked.get(g))}
        for g, c in zip(grids[grid_column], grids["community_code"], strict=True)
    ])  # fmt: skip


def _secretary_flags(staff, orgs, community_of, cell_of, settings, today) -> pd.DataFrame:
    branches = orgs[orgs["kind"].isin(BRANCHES)] if len(orgs) else orgs
    secretaries = staff[staff["role"] == "secretary"].to_dict("records")
    rows = []
    for org in branches.to_dict("records"):
        units = sorted(_codes(org.get("covers")))
        mine = [r for r in secretaries if org["code"] in _codes(r.get("places"))]
        ok = any(unqualified(r, today, settings.secretary_min_party_years) is None for r in mine)
        cells = sorted({cell_of[u] for u in units if isinstance(cell_of.get(u), str)})
        rows.append({"unit": org["code"], "community_code": community_of.get(units[0]) if units else None,
                     "cells": cells, "ok": ok})  # fmt: skip
    return _flags("qualified_secretary_rate", rows)


def _has_org(firm: dict) -> bool:
    return firm.get("party_org") in ("yes", "joint")


def _property_flags(staff, firms: pd.DataFrame, community_of: dict) -> pd.DataFrame:
    sent = served(staff, ("instructor",)) if staff is not None else {}
    rows = []
    for firm in firms.to_dict("records"):
        ok = _has_org(firm) or firm.get("has_instructor") is True or bool(sent.get(firm["code"]))
        places = {community_of[c] for c in _codes(firm.get("compounds")) if c in community_of}
        rows += [{"unit": firm["code"], "community_code": p, "cells": [], "ok": ok} for p in sorted(places)]  # fmt: skip
    return _flags("property_covered_rate", rows)


def _compound_flags(firms, compound_table, community_of, cell_of) -> pd.DataFrame:
    red: dict[str, bool] = {}
    for firm in firms.to_dict("records"):
        for code in _codes(firm.get("compounds")):
            red[code] = red.get(code, False) or _has_org(firm)
    homes = compound_table
    if "households" in homes:
        homes = homes[homes["households"].fillna(0).to_numpy() > 0]
    rows = [
        {"unit": code, "community_code": community_of.get(code),
         "cells": [cell_of[code]] if isinstance(cell_of.get(code), str) else [], "ok": red[code]}
        for code in homes["code"] if code in red
    ]  # fmt: skip
    return _flags("red_property_rate", rows)


def _per_unit(flags: pd.DataFrame, rates, communities: list[str], cells: list[str] | None) -> pd.DataFrame:  # fmt: skip
    """The share of ``ok`` per rate for the whole area (each unit once), each community and,
    with ``cells``, each unified cell."""
    rows = {("subdistrict", ""): {}, **{("community", c): {} for c in communities}}
    rows |= {("grid", c): {} for c in cells or []}
    for rate in rates:
        mine = flags[flags["rate"] == rate]
        rows["subdistrict", ""][rate] = _share(mine.drop_duplicates("unit")["ok"])
        for code, group in mine.dropna(subset=["community_code"]).groupby("community_code"):
            if ("community", code) in rows:
                rows["community", code][rate] = _share(group["ok"])
        if cells is not None:
            per_cell = mine[["cells", "ok"]].explode("cells").dropna(subset=["cells"])
            for code, group in per_cell.groupby("cells"):
                if ("grid", code) in rows:
                    rows["grid", code][rate] = _share(group["ok"])
    out = pd.DataFrame([{"level": lv, "code": c, **v} for (lv, c), v in rows.items()])
    return out.reindex(columns=["level", "code", *rates])


def staffing_rates(
    people: People,
    orgs: pd.DataFrame,
    compound_table: pd.DataFrame,
    buildings: pd.DataFrame,
    base: str,
    settings: Settings,
    today: date | None = None,
) -> pd.DataFrame:
    """Grids staffed, branches with a qualified secretary, property companies covered and
    compounds with 红色物业, for the subdistrict (code "") and every community: the shares of :func:`staffing_flags`.

    >>> from gridmap.core.staffing import People
    >>> staff = pd.DataFrame({"code": ["R1"], "role": ["grid_worker_full"], "places": ["G1"]})
    >>> b = pd.DataFrame({"households": [30, 20], "community_code": ["S1", "S1"],
    ...                   "grid_code__party": ["G1", "G2"]})
    >>> c = pd.DataFrame({"code": ["K1"], "community_code": ["S1"]})
    >>> r = staffing_rates(People(staff), pd.DataFrame({"code": [], "kind": []}), c, b,
    ...                    "party", Settings())
    >>> r["grid_staffed_rate"].tolist(), bool(r["qualified_secretary_rate"].isna().all())
    ([0.5, 0.5], True)
    """
    flags = staffing_flags(people, orgs, compound_table, buildings, base, settings, today)
    return _per_unit(flags, STAFFING_RATES, _communities(compound_table), None)


def _communities(compound_table: pd.DataFrame) -> list[str]:
    return sorted(compound_table["community_code"].dropna().unique())


def staffing_figures(
    figures: pd.DataFrame,
    people: People,
    orgs: pd.DataFrame,
    compound_table: pd.DataFrame,
    buildings: pd.DataFrame,
    base: str,
    settings: Settings,
) -> pd.DataFrame:
    """``figures`` (:func:`gridmap.core.coverage.unit_figures`) with the ``FIGURE_STAFFING``
    rates of the subdistrict, every community and every unified cell (``None`` for compounds,
    and where nothing was counted), from the same flags as :func:`staffing_rates`.

    >>> staff = pd.DataFrame({"code": ["R1"], "role": ["grid_leader"], "places": ["G1"]})
    >>> b = pd.DataFrame({"households": [30, 20], "community_code": ["S1", "S1"],
    ...                   "grid_code__party": ["G1", "G2"], "grid_code__unified": ["U1", "U2"]})
    >>> c = pd.DataFrame({"code": ["K1"], "community_code": ["S1"], "grid_code__unified": ["U1"]})
    >>> f = pd.DataFrame({"level": ["community", "grid", "grid"], "code": ["S1", "U1", "U2"]})
    >>> staffing_figures(f, People(staff), pd.DataFrame({"code": [], "kind": []}), c, b,
    ...                  "party", Settings())["grid_staffed_rate"].tolist()
    [0.5, 1.0, 0.0]
    """
    flags = staffing_flags(people, orgs, compound_table, buildings, base, settings)
    cells = sorted(figures.loc[figures["level"] == "grid", "code"])
    rates = _per_unit(flags, FIGURE_STAFFING, _communities(compound_table), cells)
    out = figures.drop(columns=list(FIGURE_STAFFING), errors="ignore")
    return out.merge(rates, on=["level", "code"], how="left")


def owned_flags(flags: pd.DataFrame, communities) -> list[dict]:
    """The flags a partition of ``communities`` reports for the whole area's rates: those of its
    communities and those of none (the same unit's from several partitions are counted once)."""
    mine = flags["community_code"].isna() | flags["community_code"].isin(list(communities))
    kept = flags.loc[mine, ["rate", "unit", "community_code", "ok"]].astype(object)
    return kept.assign(ok=kept["ok"].astype(bool)).where(kept.notna(), None).to_dict("records")


def whole_area_staffing(flags: list[dict]) -> dict:
    """The whole area's rates (``STAFFING_RATES`` and ``FIGURE_STAFFING``) from the flags of every
    partition (:func:`owned_flags`), each unit once, as :func:`staffing_rates` counts them.

    >>> whole_area_staffing([{"rate": "grid_staffed_rate", "unit": "G1", "ok": True},
    ...                      {"rate": "grid_staffed_rate", "unit": "G2", "ok": False}])["grid_staffed_rate"]
    0.5
    """
    frame = pd.DataFrame(flags, columns=["rate", "unit", "community_code", "ok"])
    rates = {**STAFFING_RATES, **FIGURE_STAFFING}
    row = _per_unit(frame.assign(ok=frame["ok"].astype(bool)), rates, [], None).iloc[0]
    return {k: None if pd.isna(row[k]) else float(row[k]) for k in rates}


def staffing_by_unit(staffing: pd.DataFrame) -> dict[str, dict]:
    """The rates of :func:`staffing_rates` by code ("" the subdistrict), nulls as ``None``, as
    the analysis summary keeps them (``summary.staffing``) for the panel and the report.

    >>> staffing_by_unit(pd.DataFrame({"level": ["subdistrict"], "code": [""],
    ...     "grid_staffed_rate": [0.5], "qualified_secretary_rate": [float("nan")],
    ...     "property_covered_rate": [1.0], "red_property_rate": [0.5]}))
    {'': {'grid_staffed_rate': 0.5, 'qualified_secretary_rate': None, 'property_covered_rate': 1.0, 'red_property_rate': 0.5}}
    """
    staffing = staffing[staffing["level"] != "grid"]
    rates = staffing.set_index("code")[list(STAFFING_RATES)].astype(object)
    return rates.where(rates.notna(), None).to_dict("index")
