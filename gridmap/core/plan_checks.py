"""The rules a drawn grid plan must keep (网格调整方案的校验), one pure function each.

- :func:`overlaps` — two cells sharing ground (``plan_overlap``);
- :func:`community_crossings` — a cell reaching outside its main community
  (``plan_crosses_community``, fixed by :func:`gridmap.core.plans.clip_to_community`);
- :func:`cut_compounds` — a compound split by a cell border within one community
  (``plan_cuts_compound``, fixed by :func:`gridmap.core.plans.snap_compound`);
- :func:`uncovered` — ground of a community the plan touches that no cell covers (留白,
  ``plan_uncovered``, fixed by :func:`gridmap.core.plans.fill_gap`).

:func:`validate` runs them all and returns one table of problems (``PROBLEM_COLUMNS``), each
with its geometry, its measure and the name of its one-click fix. The household band is not a
problem of the plan but a figure of each cell (:func:`gridmap.core.plans.cell_figures`).

Pure functions on GeoDataFrames in one metric CRS (the caller projects). Pieces below the
tolerance are digitising noise and ignored.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> community = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[box(0, 0, 100, 100)], crs=4547)
>>> compound = gpd.GeoDataFrame({"code": ["K1"]}, geometry=[box(10, 10, 40, 40)], crs=4547)
>>> plan = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=[box(0, 0, 20, 100), box(25, 0, 100, 100)], crs=4547)
>>> validate(plan, community, compound)[["kind", "code", "codes", "measure"]].values.tolist()
[['plan_cuts_compound', 'K1', 'K1;G2;G1', 0.4], ['plan_uncovered', 'C1', 'C1', 500.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PROBLEM_COLUMNS = ["kind", "code", "codes", "measure", "unit", "message_zh", "message_en", "fix", "geometry"]  # fmt: skip


def overlap_pairs(units: np.ndarray, cells: np.ndarray) -> pd.DataFrame:
    """Every (unit, cell) pair sharing ground: positions, shared area and the unit's share."""
    if len(units) == 0 or len(cells) == 0:
        return pd.DataFrame({"unit": [], "cell": [], "area": [], "share": []})
    left, right = shapely.STRtree(cells).query(units, predicate="intersects")
    area = shapely.area(shapely.intersection(units[left], cells[right])) if len(left) else np.zeros(0)  # fmt: skip
    total = shapely.area(units[left])
    share = np.divide(area, total, out=np.zeros_like(area), where=total > 0)
    out = pd.DataFrame({"unit": left, "cell": right, "area": area, "share": share})
    return out[out["area"] > 0]


def _geoms(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.geometry.values, dtype=object)


@dataclass(frozen=True)
class PlanLayout:
    """A plan's cells and the communities around them, by row position, taken apart and
    measured once for every check.

    ``in_community``: :func:`overlap_pairs` of the cells (``unit``) in the communities
    (``cell``)."""

    cells: gpd.GeoDataFrame
    codes: np.ndarray
    geoms: np.ndarray
    community_codes: np.ndarray
    community_geoms: np.ndarray
    in_community: pd.DataFrame

    @classmethod
    def of(cls, cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> PlanLayout:
        cells, communities = cells.reset_index(drop=True), communities.reset_index(drop=True)
        geoms, community_geoms = _geoms(cells), _geoms(communities)
        return cls(
            cells, cells["code"].to_numpy(), geoms, communities["code"].to_numpy(),
            community_geoms, overlap_pairs(geoms, community_geoms),
        )  # fmt: skip

    def community_of_cells(self) -> pd.Series:
        """For each cell, the position of the community holding most of it (NaN for none)."""
        home = self.in_community.sort_values("area", ascending=False, kind="stable").drop_duplicates("unit")  # fmt: skip
        return pd.Series(home["cell"].to_numpy(), index=home["unit"].to_numpy()).reindex(range(len(self.cells)))  # fmt: skip


def overlaps(plan: PlanLayout, tolerance_m2: float) -> list[dict]:
    """``plan_overlap``: each pair of cells sharing more than ``tolerance_m2``, with the
    shared piece."""
    geoms, codes = plan.geoms, plan.codes
    a, b = plan.cells.sindex.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return []
    pieces = shapely.intersection(geoms[a], geoms[b])
    return [{"kind": "plan_overlap", "code": codes[i], "codes": f"{codes[i]};{codes[j]}",
             "measure": m2, "unit": "m2",
             "message_zh": f"{codes[i]} 与 {codes[j]} 重叠 {m2:,.0f} 平方米",
             "message_en": f"{codes[i]} and {codes[j]} overlap by {m2:,.0f} m²",
             "fix": None, "geometry": piece}
            for i, j, piece, m2 in zip(a, b, pieces, shapely.area(pieces), strict=True)
            if m2 > tolerance_m2]  # fmt: skip


def community_crossings(plan: PlanLayout, tolerance_m2: float) -> list[dict]:
    """``plan_crosses_community``: each cell reaching more than ``tolerance_m2`` outside the
    community holding most of it, with the piece outside; and each cell in no community at all,
    whole (no fix: there is no community to clip it to)."""
    geoms, codes, ccodes, cgeoms = plan.geoms, plan.codes, plan.community_codes, plan.community_geoms  # fmt: skip
    rows = []
    for cell, group in plan.in_community.groupby("unit"):
        main = group.loc[group["area"].idxmax()]
        outside = shapely.difference(geoms[cell], cgeoms[int(main["cell"])])
        m2 = shapely.area(outside)
        if m2 > tolerance_m2:
            others = [ccodes[int(c)] for c in group["cell"] if c != main["cell"]]
            rows.append({"kind": "plan_crosses_community", "code": codes[cell],
                         "codes": ";".join([codes[cell], *others]), "measure": m2, "unit": "m2",
                         "message_zh": f"{codes[cell]} 越出社区 {ccodes[int(main['cell'])]} 边界 {m2:,.0f} 平方米",
                         "message_en": f"{codes[cell]} crosses the boundary of community {ccodes[int(main['cell'])]} by {m2:,.0f} m²",
                         "fix": "clip_to_community", "geometry": outside})  # fmt: skip
    for cell in np.setdiff1d(np.arange(len(codes)), plan.in_community["unit"].to_numpy()):
        m2 = shapely.area(geoms[cell]) if geoms[cell] is not None else 0.0
        if m2 > tolerance_m2:  # a cell in no community at all has none to be clipped to
            rows.append({"kind": "plan_crosses_community", "code": codes[cell], "codes": codes[cell],
                         "measure": m2, "unit": "m2",
                         "message_zh": f"{codes[cell]} 不在任何社区内（{m2:,.0f} 平方米），请移入所属社区或删除",
                         "message_en": f"{codes[cell]} lies in no community ({m2:,.0f} m²): move it into its community or delete it",
                         "fix": None, "geometry": geoms[cell]})  # fmt: skip
    return rows


def cut_compounds(plan: PlanLayout, compounds: gpd.GeoDataFrame, tolerance_m2: float) -> list[dict]:  # fmt: skip
    """``plan_cuts_compound``: each compound whose part in one community lies in several cells
    (more than ``tolerance_m2`` outside the cell holding most of it), with that outside ground.

    A compound across a community border is held by a cell on each side and reported as
    ``compound_straddles_community`` by the analysis: only its part in one community can be cut.
    A compound in one cell only is not cut here: a part of it in no cell is 留白
    (:func:`uncovered`)."""
    compounds = compounds.reset_index(drop=True)
    kcodes, kgeoms = compounds["code"].to_numpy(), _geoms(compounds)
    shares = overlap_pairs(kgeoms, plan.geoms)
    home = plan.community_of_cells()
    shares = shares.assign(home=home.reindex(shares["cell"]).fillna(-1).to_numpy())
    rows = []
    for unit, group in shares.groupby("unit"):
        group = group[group.groupby("home")["cell"].transform("size") > 1]
        if len(group) < 2:
            continue
        main = group.loc[group["area"].idxmax()]
        if group["area"].sum() - main["area"] > tolerance_m2:
            rows.append(_cut_compound(plan, kcodes[unit], kgeoms[unit], group, main))
    return rows


def _cut_compound(plan: PlanLayout, code, compound, group: pd.DataFrame, main: pd.Series) -> dict:
    """The problem of ``compound`` held by the cells of ``group`` (``main``: the largest)."""
    codes = plan.codes
    group = group.sort_values("area", ascending=False)
    held = [codes[int(c)] for c in group["cell"]]
    shares_text = "、".join(f"{codes[int(c)]} {sh:.0%}" for c, sh in zip(group["cell"], group["share"], strict=True))  # fmt: skip
    mine = compound if main["home"] < 0 else shapely.intersection(compound, plan.community_geoms[int(main["home"])])  # fmt: skip
    lost = shapely.difference(mine, plan.geoms[int(main["cell"])])
    return {"kind": "plan_cuts_compound", "code": code, "codes": ";".join([code, *held]),
            "measure": float(group["area"].iloc[1:].sum() / group["area"].sum()), "unit": "share",
            "message_zh": f"小区 {code} 落在多个网格中：{shares_text}，应整体归入 {held[0]}",
            "message_en": f"Compound {code} lies in several cells: {shares_text.replace('、', ', ')}; it should go whole to {held[0]}",
            "fix": "snap_compound", "geometry": lost if not lost.is_empty else compound}  # fmt: skip


def uncovered(plan: PlanLayout, tolerance_m2: float) -> list[dict]:
    """``plan_uncovered`` (留白): in each community the plan touches, the pieces larger than
    ``tolerance_m2`` that no cell covers, as one multipolygon."""
    touched = sorted({int(c) for c in plan.in_community["cell"]})
    if not touched or len(plan.cells) == 0:
        return []
    covered = shapely.union_all(plan.geoms)
    ccodes, cgeoms = plan.community_codes, plan.community_geoms
    rows = []
    for c in touched:
        parts = shapely.get_parts(shapely.difference(cgeoms[c], covered))
        parts = parts[shapely.area(parts) > tolerance_m2]
        if len(parts) == 0:
            continue
        m2 = float(shapely.area(parts).sum())
        rows.append({"kind": "plan_uncovered", "code": ccodes[c], "codes": ccodes[c],
                     "measure": m2, "unit": "m2",
                     "message_zh": f"社区 {ccodes[c]} 内有 {len(parts)} 处、共 {m2:,.0f} 平方米不属于任何网格 (留白)",
                     "message_en": f"{m2:,.0f} m² of community {ccodes[c]} in {len(parts)} piece(s) lie in no cell",
                     "fix": "fill_gap", "geometry": shapely.multipolygons(parts)})  # fmt: skip
    return rows


def validate(
    cells: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    *,
    tolerance_m2: float = 1.0,
) -> gpd.GeoDataFrame:
    """Problems of a plan: ``plan_overlap``, ``plan_crosses_community``, ``plan_cuts_compound``,
    ``plan_uncovered`` (留白 in a community the plan covers), in ``PROBLEM_COLUMNS``. Pieces
    below ``tolerance_m2`` are digitising noise and ignored. Sorted by kind and code, so the
    list is stable.
    """
    plan = PlanLayout.of(cells, communities)
    rows = [
        *overlaps(plan, tolerance_m2),
        *community_crossings(plan, tolerance_m2),
        *cut_compounds(plan, compounds, tolerance_m2),
        *uncovered(plan, tolerance_m2),
    ]
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=cells.crs)
    return out.sort_values(["kind", "code"], kind="stable").reset_index(drop=True)
