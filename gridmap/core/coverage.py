"""Coverage gaps (留白) where Party work "cannot get into" compounds, buildings and households.

Each function returns a gap frame (see :mod:`gridmap.core.gaps`). Inputs in a metric CRS;
tables come from the hierarchy and the assignment (codes, not geometry, link them). Messages
name features by code, never members by name: personal data stays out of reports.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from gridmap.config import Settings
>>> grids = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=[box(0, 0, 9, 9), box(10, 0, 19, 9)], crs=4544)
>>> households = {"G1": 250, "G2": 420}
>>> out_of_band(grids, households, "grid:party", Settings())[["code", "measure"]].values.tolist()
[['G1', 250.0]]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core.assign import counts_by_placement
from gridmap.core.gaps import Gap, counted
from gridmap.core.staffing_rates import STAFFING_RATES, staffing_by_unit, staffing_rates  # noqa: F401 (coverage.*)
from gridmap.core.topology import reprojected_gaps


def _text(value) -> str | None:
    """A code, or None for anything missing (pandas hands missing codes over as NaN)."""
    return value if isinstance(value, str) and value else None


def out_of_band(
    grids: gpd.GeoDataFrame, households: dict, layer: str, settings: Settings
) -> gpd.GeoDataFrame:
    """grid_out_of_band: households in a grid outside ``grid_households_min..max``."""
    low, high = settings.grid_households_min, settings.grid_households_max
    records = []
    for code, geom in zip(grids["code"], grids.geometry.values, strict=True):
        n = int(households.get(code, 0))
        if low <= n <= high:
            continue
        side_zh, side_en = ("低于", "under") if n < low else ("高于", "over")
        records.append(Gap("grid_out_of_band", layer, code, "", float(n), "households",
                           f"网格 {code} 有 {n} 户，{side_zh}{low}–{high} 户的范围",
                           f"Grid {code} holds {counted(n, 'household')}, {side_en} the {low}–{high} band", geom, codes=code))  # fmt: skip
    return reprojected_gaps(records, grids.crs)


def grids_without_member(
    grids: gpd.GeoDataFrame, households: dict, members: dict, layer: str
) -> gpd.GeoDataFrame:
    """grid_without_member (空白网格): a grid with households where no Party member lives."""
    records = []
    for code, geom in zip(grids["code"], grids.geometry.values, strict=True):
        if households.get(code, 0) > 0 and members.get(code, 0) == 0:
            records.append(Gap("grid_without_member", layer, code, "", float(households[code]), "households",
                               f"网格 {code} 有 {households[code]} 户，没有党员居住 (空白网格)",
                               f"No Party member lives in grid {code} ({counted(households[code], 'household')})", geom, codes=code))  # fmt: skip
    return reprojected_gaps(records, grids.crs)


def buildings_without_member(
    buildings: gpd.GeoDataFrame, members: dict, compound_of: dict
) -> gpd.GeoDataFrame:
    """building_without_member: a building with households and no member (no 党员中心户 there)."""
    mask = (buildings["households"].to_numpy() > 0) & ~buildings["code"].isin(
        list(members)
    ).to_numpy()
    records = [
        Gap("building_without_member", "building", code, "", float(n), "households",
            f"楼栋 {code} 有 {n} 户，没有党员居住，可考虑培育党员中心户",
            f"Building {code} has {counted(n, 'household')} and no Party member", geom, codes=";".join(c for c in (code, _text(compound_of.get(code))) if c))
        for code, n, geom in zip(buildings["code"][mask], buildings["households"][mask], buildings.geometry.values[mask], strict=True)
    ]  # fmt: skip
    return reprojected_gaps(records, buildings.crs)


def unassigned_members(points: gpd.GeoDataFrame, assignment: pd.DataFrame) -> gpd.GeoDataFrame:
    """member_unassigned: a home point in, or near enough to, no building."""
    lost = assignment["how"].to_numpy() == "unplaced"
    records = [
        Gap("member_unassigned", "member", code, "", float(d), "m",
            f"党员 {code} 的住址点距最近楼栋 {d:.0f} 米，未能落位到楼栋",
            f"Member {code}'s home point is {d:.0f} m from the nearest building", geom, codes=code)
        for code, d, geom in zip(assignment["code"][lost], assignment["distance_m"][lost], points.geometry.values[lost], strict=True)
    ]  # fmt: skip
    return reprojected_gaps(records, points.crs)


def members_not_reported(points: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """member_not_reported: in-service members living here who have not reported (双报到)."""
    in_service = points["in_service"].fillna(False).astype(bool).to_numpy()
    reported = points["reported"].fillna(False).astype(bool).to_numpy()
    mask = in_service & ~reported
    records = [
        Gap("member_not_reported", "member", code, "", 1.0, "members",
            f"在职党员 {code} 居住在本辖区，尚未到社区报到", f"In-service member {code} lives here and has not reported",
            geom, codes=code)
        for code, geom in zip(points["code"][mask], points.geometry.values[mask], strict=True)
    ]  # fmt: skip
    return reprojected_gaps(records, points.crs)


def property_without_org(compounds: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """property_without_org (红色物业): a property company with no Party organisation."""
    company = (
        compounds["property_company"].notna().to_numpy()
        & (compounds["property_company"].astype(str) != "").to_numpy()
    )
    no_org = compounds["property_has_org"].astype("boolean").fillna(True).eq(False).to_numpy()
    mask = company & no_org
    records = [
        Gap("property_without_org", "compound", code, str(name or ""), 1.0, "count",
            f"小区 {code} 的物业企业 {firm} 未建立党组织", f"The property company {firm} of compound {code} has no Party organisation",
            geom, codes=code)
        for code, name, firm, geom in zip(compounds["code"][mask], compounds["name"][mask], compounds["property_company"][mask],
                                          compounds.geometry.values[mask], strict=True)
    ]  # fmt: skip
    return reprojected_gaps(records, compounds.crs)


def beyond_station_reach(
    buildings: gpd.GeoDataFrame, compound_of: dict, stations: gpd.GeoDataFrame, settings: Settings
) -> gpd.GeoDataFrame:
    """beyond_station_reach: households farther than the walking radius from every station.

    Straight-line distance; one finding per compound (or per building outside compounds).
    """
    homes = buildings[buildings["households"].to_numpy() > 0]
    if homes.empty or stations.empty:
        return reprojected_gaps([], buildings.crs)
    _, distance = stations.sindex.nearest(
        homes.geometry.values, return_distance=True, return_all=False
    )
    far = homes[distance > settings.station_radius_m].assign(
        distance=distance[distance > settings.station_radius_m]
    )
    far["unit"] = [_text(compound_of.get(c)) or c for c in far["code"]]
    records = []
    for unit, group in far.groupby("unit", sort=True):
        n = int(group["households"].sum())
        records.append(Gap("beyond_station_reach", "compound" if unit != group["code"].iloc[0] else "building", unit, "",
                           float(n), "households",
                           f"{unit} 有 {n} 户距最近的党群服务站超过 {settings.station_radius_m:.0f} 米 (最远 {group['distance'].max():.0f} 米)",
                           f"{n} households of {unit} are over {settings.station_radius_m:.0f} m from every station",
                           shapely.union_all(group.geometry.values), codes=";".join([unit, *group["code"]])))  # fmt: skip
    return reprojected_gaps(records, buildings.crs)


def rates(units: pd.DataFrame) -> dict:
    """两个覆盖 rates of a set of compounds/grids: share with an organisation, own branch, members."""
    with_homes = units[units["households"] > 0]
    n = max(len(with_homes), 1)
    return {
        "compounds": len(with_homes),
        "org_coverage": round(float(with_homes["covered"].sum()) / n, 4),
        "own_branch_rate": round(float(with_homes["own_branch"].sum()) / n, 4),
        "member_coverage": round(float((with_homes["members"] > 0).sum()) / n, 4),
    }


def coverage_rates(compound_table: pd.DataFrame, grid_layer_column: str) -> pd.DataFrame:
    """Rates for the subdistrict, every community and every grid (for drill-down maps)."""
    rows = [{"level": "subdistrict", "code": "", **rates(compound_table)}]
    homes = compound_table["households"].to_numpy() > 0
    flags = pd.DataFrame({
        "compounds": homes, "covered": homes & compound_table["covered"].to_numpy(dtype=bool),
        "own_branch": homes & compound_table["own_branch"].to_numpy(dtype=bool),
        "members": homes & (compound_table["members"].to_numpy() > 0),
    }, index=compound_table.index)  # fmt: skip
    for level, column in (("community", "community_code"), ("grid", grid_layer_column)):
        # the sums of :func:`rates` for every unit at once, rounded the same way
        sums = flags.groupby(compound_table[column], sort=True).sum()
        for code, n, covered, own, members in sums.itertuples(name=None):
            d = max(n, 1)
            rows.append({"level": level, "code": code, "compounds": n,
                         "org_coverage": round(float(covered) / d, 4), "own_branch_rate": round(float(own) / d, 4),
                         "member_coverage": round(float(members) / d, 4)})  # fmt: skip
    return pd.DataFrame(rows)


FIGURE_COLUMNS = [
    "level", "code", "community_code", "households", "buildings", "compounds",
    "members_full", "members_probationary", "members",
    "org_coverage", "own_branch_rate", "member_coverage", "proposal",
]  # fmt: skip


def _by_category(units: pd.Series, category: np.ndarray) -> dict[str, pd.Series]:
    """Full and probationary members per unit (members in no unit left out), as grouped sums
    would count them, with one factorisation of the unit codes."""
    codes, uniques = pd.factorize(units, sort=True)
    seen = codes >= 0
    index = pd.Index(uniques, dtype=units.dtype)
    return {
        f"members_{c}": pd.Series(
            np.bincount(codes[seen], weights=category[seen] == c, minlength=len(uniques)).astype(
                np.int64
            ),
            index=index,
        )
        for c in ("full", "probationary")
    }


def unit_figures(
    buildings: pd.DataFrame,
    members: pd.DataFrame,
    rates: pd.DataFrame,
    proposal_of: dict[str, str],
    grid_column: str = "grid_code__unified",
) -> pd.DataFrame:
    """What a click on the map shows: households, buildings, members and rates of every unit.

    One row per subdistrict (code ""), community, grid of ``grid_column`` and compound.
    ``buildings`` and ``members`` carry ``compound_code``, ``community_code`` and ``grid_column``
    (members also ``category``); ``rates`` is :func:`coverage_rates`; ``proposal_of`` maps a
    compound to the kind of organisation proposed for it.

    >>> b = pd.DataFrame({"code": ["B1", "B2"], "compound_code": ["C1", "C1"],
    ...                   "community_code": ["S1", "S1"], "grid_code__unified": ["G1", "G1"],
    ...                   "households": [30, 20]})
    >>> m = b[["compound_code", "community_code", "grid_code__unified"]].assign(
    ...     category=["full", "probationary"])
    >>> r = coverage_rates(b.assign(covered=True, own_branch=False, members=2)
    ...                    .groupby("compound_code", as_index=False).first()
    ...                    .rename(columns={"compound_code": "code"}), "grid_code__unified")
    >>> f = unit_figures(b, m, r, {"C1": "joint_branch"}).set_index(["level", "code"])
    >>> f.loc[("compound", "C1"), ["households", "members_full", "proposal"]].astype(str).tolist()
    ['50', '1', 'joint_branch']
    >>> row = f.loc[("community", "S1")]
    >>> int(row["compounds"]), float(row["org_coverage"])
    (1, 1.0)
    """
    keys = {"community": "community_code", "grid": grid_column, "compound": "compound_code"}
    frames = []
    for level, key in [("subdistrict", None), *keys.items()]:
        b = buildings.assign(_unit="") if key is None else buildings.dropna(subset=[key])
        column = key or "_unit"
        units = pd.Series("", index=members.index) if key is None else members[key]
        table = pd.DataFrame(
            {
                "households": b.groupby(column)["households"].sum(),
                "buildings": b.groupby(column).size(),
                **_by_category(units, members["category"].to_numpy()),
            }
        )
        table.index.name = "code"
        table = table.fillna(0).astype(int).reset_index()
        table.insert(0, "level", level)
        if level == "community" or key is None:
            table["community_code"] = None if key is None else table["code"]
        else:
            parent = b.groupby(column)["community_code"].first()
            table["community_code"] = table["code"].map(parent)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    out["members"] = out["members_full"] + out["members_probationary"]
    out = out.merge(rates, on=["level", "code"], how="left")
    compound_rows = out["level"] == "compound"
    out.loc[compound_rows, "compounds"] = 1
    out["compounds"] = out["compounds"].fillna(0).astype(int)
    out["proposal"] = out["code"].map(proposal_of).where(compound_rows, None)
    return out[FIGURE_COLUMNS]


def unified_cell_figures(
    cells: gpd.GeoDataFrame,
    building_cells: pd.Series,
    households: pd.Series,
    placed: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Add n_buildings, households, members_full and members_probationary to unified cells
    (全科网格的户数与党员数; the unit figures of every level are :func:`unit_figures`).

    ``building_cells`` is each building's cell (from the hierarchy), ``households`` its count;
    ``placed`` every member's placement (:func:`gridmap.core.assign.place_members`). A member
    counts in the cell of their building, as its households do (a member snapped to a building
    across a cell border counts on the building's side; one placed nowhere counts in no cell),
    so the cells hold the members the unit figures give their grid.
    """
    out = cells.copy()
    table = pd.DataFrame({"cell": building_cells.to_numpy(), "households": households.to_numpy()})
    per_cell = table.groupby("cell").agg(
        n_buildings=("cell", "size"), households=("households", "sum")
    )
    out["n_buildings"] = out["code"].map(per_cell["n_buildings"]).fillna(0).astype(int)
    out["households"] = out["code"].map(per_cell["households"]).fillna(0).astype(int)
    counts = counts_by_placement(placed, building_cells.to_numpy(dtype=object))
    for value, column in (("full", "members_full"), ("probationary", "members_probationary")):
        out[column] = out["code"].map(counts[value]).fillna(0).astype(int)
    out["area_m2"] = out.area.round(1)
    return out
