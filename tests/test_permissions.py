"""The permissions package as a decision table: which account (role and area) gets which kind of
data about which place — shown, masked or refused — read off hand-made places, with no database
and no web framework. Each row is written out by hand, so a rule broken in any of the package's
parts (roles, areas, the table of kinds) fails a row."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from gridmap.errors import NotFoundError, PermissionDeniedError
from gridmap.permissions import (
    PERMISSIONS,
    RULES,
    Area,
    Principal,
    board_names_shown,
    decide,
    denied,
    hidden_gap_layers,
    holds_place,
    holds_shape,
    in_area,
    mask_address,
    mask_name,
    mask_phone,
    may_see_unit,
    outside_area,
)

# one subdistrict S1 of two communities; C1 holds grids G1 and G2, C2 holds G3 (a bent one)
S1 = box(0, 0, 3, 1)
C1, C2 = box(0, 0, 2, 1), box(2, 0, 3, 1)
GRIDS = {  # code: (community, outline)
    "G1": ("C1", box(0, 0, 1, 1)),
    "G2": ("C1", box(1, 0, 2, 1)),
    "G3": ("C2", box(2, 0, 3, 0.2).union(box(2.8, 0, 3, 1))),
}
AREAS = {
    "everywhere": None,
    "S1": Area("subdistrict", "S1", frozenset({"C1", "C2"}), S1),
    "C1": Area("community", "C1", frozenset({"C1"}), C1),
    "G1": Area("grid", "G1", frozenset({"C1"}), GRIDS["G1"][1]),
    "nowhere": Area.nothing("X9"),  # an account whose code names no place
}

# account (role@area) × grid → what it gets of each kind of data
TABLE = """
account           grid  figures  member   member_gaps  staff    board_names  personal_export
admin@everywhere  G1    shown    shown    shown        shown    shown        shown
admin@everywhere  G3    shown    shown    shown        shown    shown        shown
coordinator@S1    G3    shown    shown    shown        shown    shown        shown
coordinator@C1    G1    shown    shown    shown        shown    shown        shown
coordinator@C1    G2    shown    shown    shown        shown    shown        shown
coordinator@C1    G3    refused  refused  refused      refused  masked       refused
coordinator@G1    G1    shown    shown    shown        shown    shown        shown
coordinator@G1    G2    refused  refused  refused      refused  masked       refused
coordinator@nowhere G1  refused  refused  refused      refused  masked       refused
planner@C1        G1    shown    masked   masked       masked   masked       refused
planner@C1        G3    refused  refused  refused      refused  masked       refused
viewer@S1         G3    shown    masked   masked       masked   masked       refused
viewer@G1         G1    shown    masked   masked       masked   masked       refused
viewer@G1         G2    refused  refused  refused      refused  masked       refused
"""
HEADER, *ROWS = (line.split() for line in TABLE.strip().splitlines())
KINDS = HEADER[2:]
CASES = [(account, grid, kind, got) for account, grid, *gets in ROWS for kind, got in zip(KINDS, gets, strict=True)]  # fmt: skip


def account(name: str) -> tuple[Principal, Area | None]:
    role, where = name.split("@")
    area = AREAS[where]
    return Principal(name, role, None if area is None else area.code), area


def test_the_table_names_every_kind_of_data_the_package_knows():
    assert set(KINDS) == set(RULES)


@pytest.mark.parametrize(("name", "grid", "kind", "expected"), CASES)
def test_decision_table(name, grid, kind, expected):
    principal, area = account(name)
    community, outline = GRIDS[grid]
    if kind == "board_names":  # the boards ask by the grid's outline, as /board does
        got = "shown" if board_names_shown(principal, area)(outline) else "masked"
    else:
        got = decide(principal, kind, inside=may_see_unit(area, "grid", grid, community))
    assert got == expected


@pytest.mark.parametrize("grid", sorted(GRIDS))
@pytest.mark.parametrize("where", sorted(AREAS))
def test_a_grid_lies_in_an_area_by_its_code_as_by_its_outline(where, grid):
    area, (community, outline) = AREAS[where], GRIDS[grid]
    by_code = may_see_unit(area, "grid", grid, community)
    assert holds_shape(area, outline) == by_code
    assert holds_place(area, Area("grid", grid, frozenset({community}), outline)) == by_code


def test_units_of_each_level_by_area():
    c1, g1, s1 = AREAS["C1"], AREAS["G1"], AREAS["S1"]
    # a community account sees its community and what lies in it, not the subdistrict's figures
    assert [c1.holds_unit(*u) for u in (("community", "C1", "C1"), ("community", "C2", "C2"),
            ("compound", "K1", "C1"), ("subdistrict", "S1", None))] == [True, False, True, False]  # fmt: skip
    # a grid account sees its own grid only: not its community, nor a compound of it
    assert [g1.holds_unit(*u) for u in (("grid", "G1", "C1"), ("community", "C1", "C1"),
            ("compound", "K1", "C1"))] == [True, False, False]  # fmt: skip
    assert s1.holds_unit("subdistrict", "", None) and s1.holds_unit("building", "B7", "C2")
    assert not s1.holds_unit("building", "B8", None)  # a unit of no community is nobody's
    assert may_see_unit(None, "building", "B8", None)


def test_a_compound_or_building_asked_for_lies_in_an_area_by_its_outline():
    compound = Area("compound", "K1", frozenset(), box(2.85, 0.5, 2.95, 0.6))  # inside G3's arm
    assert holds_place(AREAS["C1"], compound) is False
    assert holds_place(AREAS["S1"], compound) is True
    assert holds_place(None, compound) is True
    assert holds_place(AREAS["nowhere"], compound) is False


def test_rows_of_a_frame_lie_in_an_area_by_geometry_or_else_by_community():
    frame = gpd.GeoDataFrame(
        {"community_code": ["C1", "C2", "C1", "C2"]},
        geometry=[Point(0.5, 0.5), Point(2.9, 0.9), None, None],
        crs="EPSG:4326",
    )
    assert in_area(frame, None).tolist() == [True] * 4
    assert in_area(frame, AREAS["C1"]).tolist() == [True, False, True, False]
    # the point in G3's arm lies in C2 and the subdistrict, outside C1's outline
    assert in_area(frame, AREAS["S1"]).tolist() == [True, True, True, True]
    # a row without geometry is never a grid account's: its community is larger than the grid
    assert in_area(frame, AREAS["G1"]).tolist() == [True, False, False, False]
    assert in_area(frame, AREAS["nowhere"]).tolist() == [False] * 4
    table = pd.DataFrame({"community_code": ["C2", "C1"]})  # no geometry column at all
    assert in_area(table, AREAS["C1"]).tolist() == [False, True]


ACTIONS_TABLE = """
role         view  personal  edit_plan  approve_plan  import  accounts
admin        yes   yes       yes        yes           yes     yes
planner      yes   no        yes        no            no      no
coordinator  yes   yes       no         no            no      no
viewer       yes   no        no         no            no      no
"""


def test_what_each_role_may_do():
    header, *rows = (line.split() for line in ACTIONS_TABLE.strip().splitlines())
    assert set(header[1:]) == set(PERMISSIONS)
    for role, *answers in rows:
        principal = Principal("x", role, "C1")
        assert [principal.may(action) for action in header[1:]] == [a == "yes" for a in answers], role  # fmt: skip


def test_members_gaps_are_hidden_from_roles_that_may_not_see_personal_data():
    assert hidden_gap_layers(Principal("p", "planner", "C1")) == ["member", "staff"]
    assert hidden_gap_layers(Principal("v", "viewer", "C1")) == ["member", "staff"]
    assert hidden_gap_layers(Principal("c", "coordinator", "C1")) == []
    assert hidden_gap_layers(Principal("a", "admin", None)) == []


def test_an_unknown_kind_of_data_is_a_programming_error_not_a_silent_refusal():
    with pytest.raises(ValueError, match="unknown kind of data"):
        decide(Principal("a", "admin", None), "phone_book", inside=True)


def test_refusals_say_who_may_not_do_what_in_chinese_first():
    refusal = denied(Principal("王测试", "planner", "C1"), "approve_plan")
    assert isinstance(refusal, PermissionDeniedError)
    assert refusal.message_zh == "规划员账号 王测试 无权批准网格方案。"
    assert refusal.message_en == "The planner account 王测试 may not approve grid plans."
    absent = outside_area("社区 C2", "community C2")
    assert isinstance(absent, NotFoundError) and absent.message_zh == "没有社区 C2。"


def test_masks_keep_only_what_identifies_no_one():
    assert [mask_name(n) for n in ("欧阳测试", "张三", "李", None)] == [
        "欧**试",
        "张*",
        "李*",
        None,
    ]
    assert mask_phone(10012345678) == "100****5678" and mask_phone("1001234") == "****"
    masked = mask_address("测试街道测试花园3栋2单元501室")
    assert masked.endswith("****") and "501" not in masked and "3栋" not in masked


def test_an_area_of_nothing_covers_nothing():
    nothing = AREAS["nowhere"]
    assert nothing.covers(np.array([box(0, 0, 1, 1)], dtype=object)).tolist() == [False]
    assert nothing.bbox() is None and AREAS["C1"].bbox() == (0.0, 0.0, 2.0, 1.0)


CONTRACT = {"gridmap.errors", "gridmap.layers"}  # what the package may read of the rest of gridmap
FRAMEWORKS = {"fastapi", "starlette", "sqlalchemy", "geoalchemy2", "argon2", "itsdangerous"}


def test_the_package_imports_no_web_framework_no_database_and_nothing_above_the_contract():
    import ast
    from pathlib import Path

    import gridmap.permissions as package

    found = set()
    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    roots = {name.split(".")[0] for name in found}
    assert not roots & FRAMEWORKS, roots & FRAMEWORKS
    ours = {n for n in found if n.startswith("gridmap.") and not n.startswith("gridmap.permissions")}  # fmt: skip
    assert ours <= CONTRACT, ours - CONTRACT
