"""What a planner reads about the cells a paint stroke touched, beyond their sums (涂色的网格检查).

A painted cell is the dissolve of its fabric units (:mod:`gridmap.core.unit_plans`); its
households, buildings and members are their sums. Each stroke also says, per touched cell:

- :func:`cut_compounds` — the compounds the cell holds only some units of (a compound the fabric
  split into building groups, painted into different cells), with its share of their households;
  a compound across a community border is a unit on each side (:mod:`gridmap.core.fabric`), so
  it is never cut for lying in cells of two communities;
- :func:`stations_in_reach` — the Party service stations (党群服务站) within the walking radius of
  the cell, by :func:`gridmap.core.plans.figures_of`, as drawn cells are checked;
- :func:`party_findings` — the Party organisation rules the analysis applies
  (:func:`gridmap.core.branches.own_branch_kind`: a branch of its own from 3 full members, a
  committee from 7, over 50 members a general branch; :data:`gridmap.core.branches.BRANCH_KINDS`
  for what covers a compound), applied to the cell: too few full members for a branch of its
  own (联合建), enough for a branch and no branch covering any of its compounds, too many for one
  branch, and compounds with households that no branch covers.

Pure functions; the caller reads the units, stations and organisations.

Examples
--------
>>> import pandas as pd
>>> units = pd.DataFrame({"code": ["C-X1-1", "C-X1-2", "C-X2"], "community_code": ["C"] * 3,
...     "compound_code": ["X1", "X1", "X2"], "kind": ["compound_part", "compound_part", "compound"],
...     "households": [300, 100, 50]})
>>> cut_compounds(pd.Series(["G1", "G2", "G2"]), units, units)
{'G1': 'X1 75%', 'G2': 'X1 25%'}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap.config import Settings
from gridmap.core.branches import own_branch_kind
from gridmap.core.plans import Band, figures_of

RULES = {
    None: ("正式党员不足 {min} 名，不能单独建支部：宜与相邻网格联合建",
           "fewer than {min} full members: too few for a branch of its own, join neighbours (联合建)"),
    "secretary": ("可单独建党支部 (设书记)", "enough full members for a branch of its own (a secretary)"),
    "committee": ("可单独建党支部，设支部委员会", "a branch of its own with a branch committee"),
    "general_branch": ("党员超过 {max} 名：宜成立党总支或按楼栋分设支部",
                       "over {max} members: a general branch, or several branches"),
}  # fmt: skip


def cut_compounds(cell_of: pd.Series, units: pd.DataFrame, parts: pd.DataFrame) -> dict[str, str]:
    """The compounds each cell holds only some units of, as ``code share`` (``;``-joined).

    ``cell_of`` is the cell of each row of ``units`` (the painted units: code, community_code,
    compound_code, kind, households); ``parts`` every unit of the compounds concerned (at least
    all their ``compound_part`` units). The share is of the compound's households in its
    community (of its units' count when it has none). Cells with no cut compound are left out.
    """
    split = units["kind"].to_numpy() == "compound_part"
    if not split.any():
        return {}
    held = units[split].assign(cell=np.asarray(cell_of)[split])
    whole = parts[parts["kind"] == "compound_part"]
    total = whole.groupby(["community_code", "compound_code"]).agg(
        households=("households", "sum"), units=("code", "size")
    )
    mine = held.groupby(["cell", "community_code", "compound_code"]).agg(
        households=("households", "sum"), units=("code", "size")
    )
    out: dict[str, list[str]] = {}
    for (cell, community, compound), row in mine.iterrows():
        all_of = total.loc[(community, compound)] if (community, compound) in total.index else row
        if row["units"] >= all_of["units"]:
            continue
        share = row["households"] / all_of["households"] if all_of["households"] else row["units"] / all_of["units"]  # fmt: skip
        out.setdefault(cell, []).append(f"{compound} {share:.0%}")
    return {cell: ";".join(sorted(found)) for cell, found in out.items()}


def stations_in_reach(cell_geoms, station_codes, station_geoms, radius_m: float) -> list[str]:
    """The codes of the stations within ``radius_m`` of each cell (``;``-joined, empty: none in
    reach), in one metric CRS — the check :func:`gridmap.core.plans.figures_of` makes."""
    none = np.array([], dtype=object)
    figures = figures_of(
        np.arange(len(cell_geoms)), cell_geoms, none, np.array([], dtype=np.int64), none, none,
        none, np.array([], dtype=bool), station_codes, station_geoms, band=Band(),
        station_radius_m=radius_m,
    )  # fmt: skip
    return figures["stations_in_reach"].tolist()


def party_findings(
    full: int,
    total: int,
    households: dict[str, int],
    covered: set[str] | None,
    settings: Settings,
) -> list[dict]:
    """The Party organisation rules for one cell: a list of ``kind``, ``message_zh``,
    ``message_en`` (and ``codes`` where compounds are named).

    ``full`` and ``total`` are the members living in the cell; ``households`` its compounds with
    their households in it; ``covered`` the compounds an existing branch, joint branch or general
    branch covers (``None``: no organisation table loaded, so coverage is not judged).

    >>> s = Settings()
    >>> [f["kind"] for f in party_findings(5, 6, {"X1": 120, "X2": 0}, set(), s)]
    ['branch_of_its_own', 'cell_without_branch', 'compound_without_org']
    >>> [f["kind"] for f in party_findings(2, 4, {"X1": 120}, {"X1"}, s)]
    ['joint_branch_needed']
    """
    kind = own_branch_kind(int(full), int(total), settings)
    zh, en = RULES[kind]
    limits = {"min": settings.branch_min_full_members, "max": settings.branch_max_members}
    name = {None: "joint_branch_needed", "general_branch": "branch_too_large"}.get(kind, "branch_of_its_own")  # fmt: skip
    found = [{"kind": name, "message_zh": zh.format(**limits), "message_en": en.format(**limits)}]
    if covered is None:
        return found
    with_households = sorted(c for c, h in households.items() if h > 0)
    if kind is not None and not set(households) & covered:
        found.append({"kind": "cell_without_branch",
                      "message_zh": "正式党员已够建支部，但网格内没有任何小区有党支部覆盖",
                      "message_en": "enough full members for a branch, but no branch covers any of its compounds"})  # fmt: skip
    lacking = [c for c in with_households if c not in covered]
    if lacking:
        listed = "、".join(lacking)
        found.append({"kind": "compound_without_org", "codes": ";".join(lacking),
                      "message_zh": f"小区 {listed} 有住户，没有党支部或联合党支部覆盖",
                      "message_en": f"compound(s) {listed.replace('、', ', ')} with households covered by no branch"})  # fmt: skip
    return found
