"""Grids and plans as unit tables, on the fabric of a hand-made irregular community: assignment
by largest share with its residuals, a table round trip, and bad rows found by row and field."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from core.test_fabric import CM2, assert_tiles, frame, irregular_community
from shapely import Polygon

from gridmap.core.fabric import unit_fabric
from gridmap.core.unit_plans import assign_units, cells_from_assignment, check_assignment, residuals


def fabric():
    communities, compounds, buildings = irregular_community()
    return communities, buildings, unit_fabric(communities, compounds, buildings, ceiling=10_000)


def two_drawn_cells(area) -> tuple:
    """The community cut in two by a slanted line, as a planner might draw it freehand."""
    x0, y0, _, y1 = area.bounds
    west = Polygon([(x0 - 1, y0 - 1), (520, y0 - 1), (470, y1 + 1), (x0 - 1, y1 + 1)])
    return shapely.intersection(area, west), shapely.difference(area, west)


def test_each_unit_goes_to_the_cell_holding_its_largest_share_and_residuals_are_listed():
    communities, buildings, units = fabric()
    west, east = two_drawn_cells(communities.geometry.iloc[0])
    cells = frame(["G1", "G2"], [west, east])
    table = assign_units(units, cells)
    assert table["unit_code"].tolist() == units["code"].tolist()
    for unit, row in zip(units.geometry.values, table.itertuples(), strict=True):
        shares = shapely.area(shapely.intersection([west, east], unit)) / unit.area
        assert row.cell_code == ["G1", "G2"][int(np.argmax(shares))]
        assert abs(row.share - shares.max()) < 1e-4
    assert table["cell_code"].notna().all()
    found = residuals(units, cells, table, buildings).set_index("cell_code")
    made = cells_from_assignment(units, table).set_index("code")
    for code, drawn in (("G1", west), ("G2", east)):
        assert abs(found.loc[code, "area_only_drawn_m2"] - shapely.difference(drawn, made.geometry[code]).area) < 0.1  # fmt: skip
        assert found.loc[code, "households_units"] == made.loc[code, "households"]
    # ground moves between the two cells as much one way as the other, households likewise
    assert found["area_only_drawn_m2"].sum() > 0
    assert abs(found["area_only_drawn_m2"].sum() - found["area_only_units_m2"].sum()) < 0.5
    assert found["households_difference"].sum() == 0


def test_a_table_round_trip_gives_the_same_cells_tiling_the_community():
    communities, _, units = fabric()
    cells = frame(["G1", "G2"], list(two_drawn_cells(communities.geometry.iloc[0])))
    table = assign_units(units, cells)
    written = table[["unit_code", "cell_code"]].astype(str)
    assert check_assignment(written, np.arange(2, len(written) + 2), units) == []
    made = cells_from_assignment(units, written, {"G1": "西网格"})
    assert made[["code", "name"]].values.tolist() == [["G1", "西网格"], ["G2", "G2"]]
    assert made["households"].sum() == units["households"].sum()
    assert_tiles(made, communities.geometry.iloc[0])
    again = assign_units(units, made)
    assert again["cell_code"].tolist() == table["cell_code"].tolist()
    assert (again["share"] > 1 - CM2).all()  # units lie wholly in the cells made of them


def test_bad_rows_are_found_by_row_and_field_with_what_to_do():
    units = pd.DataFrame({"code": ["C1-X1", "C1-X2", "C1-X3", "C2-X9"],
                          "community_code": ["C1", "C1", "C1", "C2"]})  # fmt: skip
    table = pd.DataFrame({
        "unit_code": ["C1-X1", "C1-X7", "C1-X1", "", "C1-X2", "C2-X9"],
        "cell_code": ["G1", "G1", "G2", "G3", "", "G1"],
    })  # fmt: skip
    problems = check_assignment(table, np.arange(2, 8), units)
    found = {(p.row, p.field) for p in problems}
    assert found == {(3, "unit_code"), (4, "unit_code"), (5, "unit_code"), (6, "cell_code"),
                     (7, "cell_code"), (None, "unit_code")}  # fmt: skip
    text = {(p.row, p.field): p.reason_zh + p.reason_en for p in problems}
    assert "C1-X7 不存在" in text[(3, "unit_code")] and "gridmap integrate" in text[(3, "unit_code")]  # fmt: skip
    assert "第 2 行" in text[(4, "unit_code")]  # the duplicate names the first row
    assert "C1" in text[(7, "cell_code")] and "C2" in text[(7, "cell_code")]  # two communities
    assert "C1-X3" in text[(None, "unit_code")] and "留白" in text[(None, "unit_code")]


def test_a_unit_under_a_cell_drawn_across_the_community_border_stays_in_its_own_community():
    # communities C1 (x 0–20) and C2 (x 20–40), two units each; G1 is drawn 6 m into C2, over
    # most of U3: U3 still goes to G2, the cell of its own community
    units = frame(
        ["U1", "U2", "U3", "U4"], [shapely.box(x, 0, x + 10, 10) for x in (0, 10, 20, 30)]
    )
    units = units.assign(community_code=["C1", "C1", "C2", "C2"], households=[10, 20, 30, 40])
    drawn = frame(["G1", "G2"], [shapely.box(0, 0, 26, 10), shapely.box(26, 0, 40, 10)])
    assert assign_units(units, drawn)["cell_code"].tolist() == ["G1", "G1", "G2", "G2"]
    # no cell of its own community holds any of U3: it goes to the nearest one of them
    drawn = frame(["G1", "G2"], [shapely.box(0, 0, 30, 10), shapely.box(30, 0, 40, 10)])
    table = assign_units(units, drawn)
    assert table["cell_code"].tolist() == ["G1", "G1", "G2", "G2"]
    assert table["share"].tolist()[2] == 0.0  # none of its ground lies in the cell it goes to
    assert check_assignment(table, np.arange(2, 6), units) == []


def test_a_cell_dissolved_from_units_keeps_only_parts_of_positive_area():
    # a unit reduced to a line by an overlay (zero area) must not leave a part of zero area
    units = frame(["U1", "U2"], [shapely.box(0, 0, 10, 10), Polygon([(20, 0), (21, 0), (22, 0)])])
    units = units.assign(community_code="C1", households=[10, 0])
    made = cells_from_assignment(units, pd.DataFrame({"unit_code": ["U1", "U2"], "cell_code": ["G1", "G1"]}))  # fmt: skip
    assert made.geometry.iloc[0].geom_type == "Polygon" and made.geometry.iloc[0].area == 100
    assert made["units"].tolist() == [2]
