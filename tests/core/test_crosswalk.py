"""The crosswalk of the unified grid to departmental grids, and where departments disagree, on
hand-made irregular cells (metres, EPSG:4544)."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Polygon, box

from gridmap.core.crosswalk import crosswalk, disagreements, joined_crosswalk, sorted_joins

CRS = "EPSG:4544"
# two unified cells meeting along a staircase
U1 = Polygon([(0, 0), (60, 0), (60, 40), (40, 40), (40, 100), (0, 100)])
U2 = Polygon([(60, 0), (120, 0), (120, 100), (40, 100), (40, 40), (60, 40)])
UNIFIED = gpd.GeoDataFrame({"code": ["U1", "U2"]}, geometry=[U1, U2], crs=CRS)
# a trapezoid across the staircase, and a sliver just inside U2's east edge
DEPT = gpd.GeoDataFrame(
    {"code": ["D1", "D2"]},
    geometry=[Polygon([(20, 20), (100, 20), (80, 80), (20, 80)]), box(119.5, 0, 120, 100)],
    crs=CRS,
)
L_SHAPED = Polygon([(62, 22), (78, 22), (78, 38), (74, 38), (74, 26), (62, 26)])
# in U1 and D1; an L in U2 and D1; in U2 outside D1
BUILDINGS = gpd.GeoDataFrame(
    {"households": [10, 25, 7]},
    geometry=[box(22, 50, 30, 60), L_SHAPED, box(100, 80, 110, 90)],
    crs=CRS,
)


def test_each_pair_sharing_ground_has_its_area_shares_and_households():
    rows = crosswalk(UNIFIED, {"zongzhi": DEPT}, BUILDINGS).set_index(["unified_code", "dept_code"])
    d1 = DEPT.geometry[0]
    assert rows.loc[("U1", "D1"), "shared_area_m2"] == round(d1.intersection(U1).area, 1)
    assert rows.loc[("U1", "D1"), "households_shared"] == 10
    assert rows.loc[("U2", "D1"), "households_shared"] == 25
    assert round(rows.loc[("U1", "D1"), "share_of_dept"] + rows.loc[("U2", "D1"), "share_of_dept"], 3) == 1.0  # fmt: skip
    # the half-metre sliver shares 50 m² (over the 1 m² dust limit) and no households
    assert rows.loc[("U2", "D2"), ["shared_area_m2", "share_of_dept", "households_shared"]].tolist() == [50.0, 1.0, 0]  # fmt: skip
    assert ("U1", "D2") not in rows.index


def test_rows_are_sorted_by_layer_department_and_unified_code_whatever_the_order_given():
    a = crosswalk(UNIFIED, {"b": DEPT, "a": DEPT.iloc[::-1]}, BUILDINGS)
    assert a[["layer", "dept_code", "unified_code"]].values.tolist() == [
        ["a", "D1", "U1"], ["a", "D1", "U2"], ["a", "D2", "U2"],
        ["b", "D1", "U1"], ["b", "D1", "U2"], ["b", "D2", "U2"],
    ]  # fmt: skip
    assert list(joined_crosswalk([]).columns)[:3] == ["unified_code", "layer", "dept_code"]


def test_a_department_cell_split_between_cells_and_communities_is_a_disagreement():
    cross = crosswalk(UNIFIED, {"zongzhi": DEPT}, BUILDINGS)
    communities = gpd.GeoDataFrame({"code": ["C1", "C2"]}, geometry=[box(0, 0, 50, 100), box(50, 0, 120, 100)], crs=CRS)  # fmt: skip
    found = disagreements(cross, {"zongzhi": DEPT}, communities)
    assert found.values.tolist() == [["zongzhi", "D1", 2, "U1;U2", 2, "C1;C2"]]
    # a share under min_share does not count: D1 is mostly in U2 and C2 at a high threshold
    assert disagreements(cross, {"zongzhi": DEPT}, communities, min_share=0.6).empty


def test_sorted_joins_keep_duplicates_and_sort_values_per_key():
    import pandas as pd

    assert sorted_joins(pd.Series(["k", "j", "k", "k"]), pd.Series(["b", "z", "a", "b"])) == {"j": "z", "k": "a;b;b"}  # fmt: skip
    assert sorted_joins(pd.Series([], dtype=object), pd.Series([], dtype=object)) == {}
