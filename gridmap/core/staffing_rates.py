"""两个覆盖's people side (做优骨干队伍): grids staffed, branches with a qualified secretary and
property companies covered (红色物业), for the subdistrict and every community, beside the other
rates of :func:`gridmap.core.coverage.coverage_rates`; the analysis summary keeps them by
unit (``staffing``), report.json beside the rates of each unit.

Pure functions of the roster, the organisations, the property companies and the hierarchy's
tables (codes link them); the posts and the secretary's rule are those of
:mod:`gridmap.core.staffing`, so a rate and its findings count alike.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from gridmap.config import Settings
from gridmap.core.staffing import BRANCHES, People, served, unqualified
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
}  # fmt: skip


def _shares(flags: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per community (and the subdistrict, each unit once) the share of ``flags['ok']``."""
    whole = flags.drop_duplicates("unit")
    rows = [{"level": "subdistrict", "code": "", key: _share(whole["ok"])}]
    for code, group in flags.dropna(subset=["community_code"]).groupby("community_code", sort=True):
        rows.append({"level": "community", "code": code, key: _share(group["ok"])})
    return pd.DataFrame(rows, columns=["level", "code", key])


def _share(ok: pd.Series) -> float | None:
    return round(float(ok.sum()) / len(ok), 4) if len(ok) else None


def staffing_rates(
    people: People,
    orgs: pd.DataFrame,
    compound_table: pd.DataFrame,
    buildings: pd.DataFrame,
    base: str,
    settings: Settings,
    today: date | None = None,
) -> pd.DataFrame:
    """Grids staffed, branches with a qualified secretary, property companies covered, for the
    subdistrict (code "") and every community.

    - ``grid_staffed_rate``: grids of the ``base`` layer (whose codes the roster names; each
      building's in ``buildings["grid_code__" + base]``) with households, served by a 网格长 or 网格员 (what ``grid_without_worker`` misses);
      a grid's community is the one holding most of its households;
    - ``qualified_secretary_rate``: branches and joint branches whose secretary, at least one,
      is a full member of the Party age ``settings.secretary_min_party_years`` on ``today``
      (default ``settings.staffing_as_of`` or today); a branch's community is its first compound's;
    - ``property_covered_rate``: property companies with a Party organisation of their own or
      joint, or a 党建指导员 sent (roster or column), counted in every community they serve.

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
    today = today or settings.staffing_as_of or date.today()
    grid_column = f"grid_code__{base}"
    community_of = dict(zip(compound_table["code"], compound_table["community_code"], strict=True))
    staff = people.staff
    parts = []
    if staff is not None:
        homes = buildings[buildings["households"].fillna(0).to_numpy() > 0]
        by = homes.groupby([grid_column, "community_code"])["households"].sum().reset_index()
        grids = by.sort_values("households", ascending=False, kind="stable").drop_duplicates(
            grid_column
        )
        worked = served(staff, GRID_WORKERS)
        parts.append(_shares(pd.DataFrame({"unit": grids[grid_column], "community_code": grids["community_code"],
                                           "ok": [bool(worked.get(g)) for g in grids[grid_column]]}),
                             "grid_staffed_rate"))  # fmt: skip
        parts.append(_secretary_shares(staff, orgs, community_of, settings, today))
    if people.properties is not None:
        parts.append(_property_shares(staff, people.properties, community_of))
    out = compound_table[["community_code"]].drop_duplicates().dropna()
    out = pd.concat([pd.DataFrame({"level": ["subdistrict"], "code": [""]}),
                     pd.DataFrame({"level": "community", "code": sorted(out["community_code"])})],
                    ignore_index=True)  # fmt: skip
    for part in parts:
        out = out.merge(part, on=["level", "code"], how="left")
    return out.reindex(columns=["level", "code", *STAFFING_RATES])


def staffing_by_unit(staffing: pd.DataFrame) -> dict[str, dict]:
    """The rates of :func:`staffing_rates` by code ("" the subdistrict), nulls as ``None``, as
    the analysis summary keeps them (``summary.staffing``) for the panel and the report.

    >>> staffing_by_unit(pd.DataFrame({"level": ["subdistrict"], "code": [""],
    ...     "grid_staffed_rate": [0.5], "qualified_secretary_rate": [float("nan")],
    ...     "property_covered_rate": [1.0]}))
    {'': {'grid_staffed_rate': 0.5, 'qualified_secretary_rate': None, 'property_covered_rate': 1.0}}
    """
    rates = staffing.set_index("code")[list(STAFFING_RATES)].astype(object)
    return rates.where(rates.notna(), None).to_dict("index")


def _secretary_shares(staff, orgs, community_of, settings, today) -> pd.DataFrame:
    branches = orgs[orgs["kind"].isin(BRANCHES)] if len(orgs) else orgs
    secretaries = staff[staff["role"] == "secretary"].to_dict("records")
    rows = []
    for org in branches.to_dict("records"):
        units = sorted(c for c in str(org.get("covers") or "").split(";") if c)
        mine = [r for r in secretaries if org["code"] in str(r.get("places") or "").split(";")]
        ok = any(unqualified(r, today, settings.secretary_min_party_years) is None for r in mine)
        rows.append({"unit": org["code"], "community_code": community_of.get(units[0]) if units else None, "ok": ok})  # fmt: skip
    return _shares(pd.DataFrame(rows, columns=["unit", "community_code", "ok"]), "qualified_secretary_rate")  # fmt: skip


def _property_shares(staff, firms: pd.DataFrame, community_of: dict) -> pd.DataFrame:
    sent = served(staff, ("instructor",)) if staff is not None else {}
    rows = []
    for firm in firms.to_dict("records"):
        ok = (firm.get("party_org") in ("yes", "joint") or firm.get("has_instructor") is True
              or bool(sent.get(firm["code"])))  # fmt: skip
        places = {
            community_of[c]
            for c in str(firm.get("compounds") or "").split(";")
            if c in community_of
        }
        rows += [{"unit": firm["code"], "community_code": p, "ok": ok} for p in sorted(places)]
    return _shares(pd.DataFrame(rows, columns=["unit", "community_code", "ok"]), "property_covered_rate")  # fmt: skip
