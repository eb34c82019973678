"""The Party organisation rules (党支部工作条例): 单独建、联合建, compound by compound.

Only full members (正式党员) count towards the 3 and 7 thresholds; every number is a setting.
The software *proposes*; it never claims to create an organisation.

Examples
--------
>>> import pandas as pd
>>> from gridmap.config import Settings
>>> counts = pd.DataFrame({"full": [2, 3, 7], "probationary": [1, 0, 0]}, index=["A", "B", "C"])
>>> [own_branch_kind(int(f), int(f + p), Settings()) for f, p in counts.values]
[None, 'secretary', 'committee']
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core.gaps import Gap, counted
from gridmap.core.topology import reprojected_gaps

BRANCH_KINDS = ("branch", "joint_branch", "general_branch")


def own_branch_kind(full: int, total: int, settings: Settings) -> str | None:
    """None (too few full members), 'secretary', 'committee' or 'general_branch' (over 50)."""
    if full < settings.branch_min_full_members:
        return None
    if total > settings.branch_max_members:
        return "general_branch"
    return "committee" if full >= settings.committee_min_full_members else "secretary"


def check_organisations(
    orgs: pd.DataFrame,
    compounds: gpd.GeoDataFrame,
    counts: pd.DataFrame,
    households: dict,
    settings: Settings,
) -> gpd.GeoDataFrame:
    """Existing organisations against the rules, and compounds no branch covers."""
    geoms = dict(
        zip(compounds["code"].tolist(), np.asarray(compounds.geometry.values), strict=True)
    )
    records = []
    covered: set[str] = set()
    for org in orgs.to_dict("records"):
        units = [c for c in str(org.get("covers") or "").split(";") if c]
        if org["kind"] in BRANCH_KINDS:
            covered.update(units)
        if org["kind"] not in ("branch", "joint_branch"):
            continue
        full = int(counts["full"].reindex(units).fillna(0).sum())
        total = int(counts["total"].reindex(units).fillna(0).sum())
        shape = shapely.union_all([geoms[u] for u in units if u in geoms]) if units else None
        name, code = org["name"], org["code"]
        if full < settings.branch_min_full_members:
            records.append(Gap("branch_too_small", "org", code, name, float(full), "members",
                               f"{name} 覆盖的小区只住有 {full} 名正式党员 (少于 {settings.branch_min_full_members} 名)",
                               f"{name} covers only {counted(full, 'full member')} (fewer than {settings.branch_min_full_members})",
                               shape, codes=";".join([code, *units])))  # fmt: skip
        if total > settings.branch_max_members:
            records.append(Gap("branch_too_large", "org", code, name, float(total), "members",
                               f"{name} 覆盖的小区住有 {total} 名党员 (超过 {settings.branch_max_members} 名)，宜分设支部或成立党总支",
                               f"{name} covers {counted(total, 'member')} (over {settings.branch_max_members}): split it or form a general branch",
                               shape, codes=";".join([code, *units])))  # fmt: skip
        if full >= settings.committee_min_full_members and org.get("has_committee") is False:
            records.append(Gap("branch_needs_committee", "org", code, name, float(full), "members",
                               f"{name} 有 {full} 名正式党员，应设支部委员会", f"{name} has {counted(full, 'full member')} and should elect a committee",
                               shape, codes=";".join([code, *units])))  # fmt: skip
        if org["kind"] == "joint_branch" and len(units) > settings.joint_branch_max_units:
            records.append(Gap("joint_branch_too_many_units", "org", code, name, float(len(units)), "units",
                               f"{name} 覆盖 {len(units)} 个单位 (超过 {settings.joint_branch_max_units} 个)",
                               f"{name} covers {counted(len(units), 'unit')} (more than {settings.joint_branch_max_units})",
                               shape, codes=";".join([code, *units])))  # fmt: skip
    for code, geom in geoms.items():
        if households.get(code, 0) > 0 and code not in covered:
            records.append(Gap("compound_without_org", "compound", code, "", float(households[code]), "households",
                               f"小区 {code} 有 {households[code]} 户，没有任何党支部或联合党支部覆盖",
                               f"Compound {code} ({households[code]} households) is covered by no branch", geom, codes=code))  # fmt: skip
    return reprojected_gaps(records, compounds.crs)


def _joint_groups(
    small: gpd.GeoDataFrame, full: pd.Series, settings: Settings
) -> tuple[list[list[str]], list[str]]:
    """Greedy grouping of nearby small compounds into joint branches (≥ 3 full, ≤ 5 units).

    Greedy rather than exact: per community the candidates are few, and a planner reviews every
    proposal; the seed of each group is the compound with the most full members still free.
    """
    groups, lonely = [], []
    free = set(small["code"])
    geoms = dict(zip(small["code"], small.geometry.values, strict=True))
    order = sorted(free, key=lambda c: (-int(full.get(c, 0)), c))
    for seed in order:
        if seed not in free:
            continue
        group = [seed]
        free.discard(seed)
        candidates = sorted((shapely.distance(geoms[seed], geoms[c]), c) for c in free)
        for dist, code in candidates:
            if (
                dist > settings.joint_branch_max_distance_m
                or len(group) >= settings.joint_branch_max_units
            ):
                break
            if sum(int(full.get(c, 0)) for c in group) >= settings.branch_min_full_members:
                break
            group.append(code)
            free.discard(code)
        if sum(int(full.get(c, 0)) for c in group) >= settings.branch_min_full_members:
            groups.append(sorted(group))
        else:
            lonely += group
            free.update(group[1:])
            free.discard(seed)
    return groups, sorted(set(lonely) - {c for g in groups for c in g})


def propose_branches(
    compounds: gpd.GeoDataFrame, counts: pd.DataFrame, households: dict, settings: Settings
) -> gpd.GeoDataFrame:
    """Branch proposals, compound by compound (以小区楼院为单位): own, joint, or not joinable."""
    rows = []
    full = counts["full"] if len(counts) else pd.Series(dtype=int)
    total = counts["total"] if len(counts) else pd.Series(dtype=int)
    small_codes = []
    codes = compounds["code"].to_numpy(dtype=object)
    # members of every compound looked up at once (a Series lookup per compound is slow)
    fulls = full.reindex(codes).fillna(0).astype(int).tolist() if len(full) else [0] * len(codes)
    totals = total.reindex(codes).fillna(0).astype(int).tolist() if len(total) else [0] * len(codes)
    for code, community, geom, f, t in zip(
        codes.tolist(), compounds["community_code"].tolist(), np.asarray(compounds.geometry.values),
        fulls, totals, strict=True,
    ):  # fmt: skip
        kind = own_branch_kind(f, t, settings)
        if kind is None:
            if households.get(code, 0) > 0 and t > 0:
                small_codes.append(code)
            continue
        zh = {"secretary": "单独组建党支部 (设书记)", "committee": "单独组建党支部，设支部委员会",
              "general_branch": f"党员 {t} 名超过 {settings.branch_max_members} 名，宜成立党总支或按楼栋分设支部"}[kind]  # fmt: skip
        en = {"secretary": "own branch with a secretary", "committee": "own branch with a branch committee",
              "general_branch": f"{t} members: a general branch, or several branches by building group"}[kind]  # fmt: skip
        rows.append({"proposal_id": f"P-{code}", "kind": "general_branch" if kind == "general_branch" else "branch",
                     "committee": kind if kind != "general_branch" else "committee", "community_code": community,
                     "compounds": code, "full_members": f, "probationary_members": t - f,
                     "explanation_zh": f"建议: {zh} ({f} 名正式党员)", "explanation_en": f"Proposed: {en} ({counted(f, 'full member')})",
                     "geometry": geom})  # fmt: skip
    small = compounds[compounds["code"].isin(small_codes)]
    for community, part in small.groupby("community_code", sort=True):
        groups, lonely = _joint_groups(part, full, settings)
        geoms = dict(zip(part["code"], part.geometry.values, strict=True))
        for n, group in enumerate(groups, start=1):
            f = sum(int(full.get(c, 0)) for c in group)
            t = sum(int(total.get(c, 0)) for c in group)
            rows.append({"proposal_id": f"J-{community}-{n}", "kind": "joint_branch",
                         "committee": "committee" if f >= settings.committee_min_full_members else "secretary",
                         "community_code": community, "compounds": ";".join(group), "full_members": f,
                         "probationary_members": t - f,
                         "explanation_zh": f"建议: {len(group)} 个小区联合组建党支部 (共 {f} 名正式党员，相距不超过 {settings.joint_branch_max_distance_m:.0f} 米)",
                         "explanation_en": f"Proposed: a joint branch of {len(group)} compounds ({counted(f, 'full member')})",
                         "geometry": shapely.union_all([geoms[c] for c in group])})  # fmt: skip
        for code in lonely:
            rows.append({"proposal_id": f"N-{code}", "kind": "not_joinable", "committee": None,
                         "community_code": community, "compounds": code, "full_members": int(full.get(code, 0)),
                         "probationary_members": int(total.get(code, 0) - full.get(code, 0)),
                         "explanation_zh": "正式党员不足 3 名，附近没有可联合的小区，建议挂靠相邻支部或选派党建指导员",
                         "explanation_en": "Too few full members and no compound near enough to join: attach to a neighbouring branch",
                         "geometry": geoms[code]})  # fmt: skip
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=compounds.crs) if rows else gpd.GeoDataFrame(
        {"proposal_id": []}, geometry=[], crs=compounds.crs)  # fmt: skip
    return frame
