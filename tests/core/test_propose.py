"""The automatic grid proposal on hand-made communities, and its invariants on the demo data."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from shapely import MultiPolygon, box

from gridmap.config import Settings
from gridmap.core.hierarchy import assign_by_area
from gridmap.core.propose import PROBLEM_COLUMNS, propose_grids
from gridmap.crs import metric_crs_for
from gridmap.errors import CRSError, GridmapError
from gridmap.io.read import read_layer_file

DEMO = Path(__file__).resolve().parents[2] / "geodata" / "demo"
BAND_KINDS = {"over_ceiling", "under_floor", "floor_not_reached", "ceiling_exceeded", "below_floor"}


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)


def row(households, prefix="X", x0=0.0, y0=0.0):
    """Compounds 80 m square on a 100 m pitch (20 m roads between), one building each."""
    n = len(households)
    xs = x0 + 100.0 * np.arange(n)
    compounds = frame([f"{prefix}{i + 1}" for i in range(n)],
                      shapely.box(xs + 10, y0 + 10, xs + 90, y0 + 90))  # fmt: skip
    buildings = frame([f"{prefix}{i + 1}-1" for i in range(n)],
                      shapely.box(xs + 20, y0 + 20, xs + 80, y0 + 80), households=list(households))  # fmt: skip
    return compounds, buildings


def community(code="C1", geom=None, n=1, name="一社区"):
    return frame([code], [geom if geom is not None else box(0, 0, 100 * n, 100)], name=[name])


def concat(*frames) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        gpd.pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    )


def check_invariants(result, compounds, buildings, communities, floor=300, ceiling=500):
    """What every proposal promises, unless a problem names the cell."""
    cells, problems = result.cells, result.problems
    assert list(problems.columns) == PROBLEM_COLUMNS
    reported = dict(problems.groupby("cell_code")["kind"].apply(set)) if len(problems) else {}
    for cell in cells.itertuples():
        kinds = reported.get(cell.code, set())
        if not kinds & BAND_KINDS:
            assert floor <= cell.households <= ceiling, cell.code
        if "island" not in kinds:
            assert cell.geometry.geom_type == "Polygon", cell.code
        home = communities.set_index("code").geometry[cell.community_code]
        assert shapely.area(shapely.difference(cell.geometry, home)) < 0.01, cell.code
        assert cell.code.startswith(cell.community_code)
    for code, geom in zip(communities["code"], communities.geometry, strict=True):
        mine = cells[cells["community_code"] == code]
        assert len(mine) >= 1
        union = shapely.union_all(mine.geometry.values)
        assert abs(union.area - geom.area) / geom.area < 1e-4  # no 留白
        assert abs(mine.area.sum() - geom.area) / geom.area < 1e-4  # no overlap
    split = set(problems.loc[problems["kind"] == "compound_split", "codes"])
    # a compound across a community border is held by a cell in each community (its part there)
    across = set(problems.loc[problems["kind"] == "compound_straddles_community", "codes"])
    held = [c for cs in cells["compounds"] for c in cs.split(";") if c]
    assert len(held) - len(set(held)) <= sum(held.count(c) - 1 for c in split | across)
    outside = set(problems.loc[problems["kind"] == "compound_outside_community", "codes"])
    assert set(held) == set(compounds["code"]) - outside
    placed, _ = assign_by_area(
        buildings, compounds, "building", "compound", Settings(), report=False
    )
    per_compound = buildings.groupby(placed["parent"].to_numpy())["households"].sum()
    points = shapely.point_on_surface(buildings.geometry.values)
    for cell in cells.itertuples():
        if (split | across) & set(
            cell.compounds.split(";")
        ):  # its buildings in the cell, as the editor counts
            inside = shapely.covers(cell.geometry, points)
            assert cell.households == buildings["households"].to_numpy()[inside].sum()
            continue
        own = sum(per_compound.get(c, 0) for c in cell.compounds.split(";") if c)
        loose = buildings[buildings["code"].isin(cell.loose_buildings.split(";"))]
        assert cell.households == own + loose["households"].sum()


def test_a_row_of_compounds_makes_the_most_contiguous_cells_in_the_band():
    compounds, buildings = row([120, 150, 100, 130, 90, 160, 110, 140, 100, 120])
    communities = community(n=10)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    # 1,220 households cannot make four cells of 300 along a row: three it is
    assert len(result.cells) == 3 and result.problems.empty
    for listed in result.cells["compounds"]:
        numbers = sorted(int(c[1:]) for c in listed.split(";"))
        assert numbers == list(range(numbers[0], numbers[-1] + 1))  # neighbours only
    assert result.cells["code"].tolist() == ["C1001", "C1002", "C1003"]
    assert result.cells["name"].tolist() == ["一社区第1网格", "一社区第2网格", "一社区第3网格"]
    assert result.cells["compounds"].iloc[0].startswith("X1;")  # reading order: west first
    assert set(result.units["cell_code"]) == set(result.cells["code"])


def test_a_compound_above_the_ceiling_is_a_cell_of_its_own():
    compounds, buildings = row([150, 200, 700, 180, 160, 120])
    communities = community(n=6)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.cells[["compounds", "households"]].values.tolist() == [
        ["X1;X2", 350], ["X3", 700], ["X4;X5;X6", 460]
    ]  # fmt: skip
    problem = result.problems.iloc[0]
    assert (problem["kind"], problem["codes"], problem["cell_code"], problem["measure"]) == (
        "over_ceiling", "X3", "C1002", 700.0
    )  # fmt: skip
    assert "超过上限 500" in problem["message_zh"] and "ceiling" in problem["message_en"]


def test_units_hemmed_in_by_large_compounds_are_reported_or_joined_when_empty():
    compounds, buildings = row([700, 100, 650])
    communities = community(n=3)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    short = result.problems[result.problems["kind"] == "floor_not_reached"]
    assert short[["codes", "measure"]].values.tolist() == [["X2", 100.0]]
    compounds, buildings = row([700, 0, 650])
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert len(result.cells) == 2
    assert sorted(result.problems["kind"]) == ["over_ceiling", "over_ceiling"]


def test_a_community_below_the_floor_is_one_cell_and_an_empty_one_too():
    compounds, buildings = row([80, 60])
    communities = concat(community(n=2), community("C2", box(0, 200, 200, 300), name="二社区"))
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.cells[["code", "households", "compounds"]].values.tolist() == [
        ["C1001", 140, "X1;X2"], ["C2001", 0, ""]
    ]  # fmt: skip
    assert result.problems[["kind", "community_code", "cell_code", "measure"]].values.tolist() == [
        ["under_floor", "C1", "C1001", 140.0], ["under_floor", "C2", "C2001", 0.0]
    ]  # fmt: skip


def test_an_island_joins_the_nearest_unit_and_is_reported():
    compounds, buildings = row([150] * 6)
    far, far_buildings = row([50], prefix="Y", y0=300)
    compounds, buildings = concat(compounds, far), concat(buildings, far_buildings)
    communities = community(geom=MultiPolygon([box(0, 0, 600, 100), box(0, 300, 100, 400)]))
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    island = result.problems[result.problems["kind"] == "island"]
    assert island[["codes", "measure"]].values.tolist() == [["Y1", 220.0]]
    holder = result.cells.set_index("code").loc[island["cell_code"].iloc[0]]
    assert "X1" in holder["compounds"].split(";") and "Y1" in holder["compounds"].split(";")
    assert holder.geometry.geom_type == "MultiPolygon"


def test_an_exclave_without_compounds_joins_the_nearest_cell():
    compounds, buildings = row([100] * 4)
    communities = community(geom=MultiPolygon([box(0, 0, 400, 100), box(0, 300, 100, 400)]))
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.problems[["kind", "measure"]].values.tolist() == [["island", 10000.0]]
    assert "飞地" in result.problems["message_zh"].iloc[0]


def test_a_region_that_cannot_be_cut_into_the_band_is_reported():
    compounds, buildings = row([280, 280])
    communities = community(n=2)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.problems[["kind", "codes", "measure"]].values.tolist() == [
        ["ceiling_exceeded", "X1;X2", 560.0]
    ]


def test_loose_buildings_are_a_unit_and_straddling_or_outside_compounds_are_reported():
    compounds, buildings = row([150, 150, 150, 50])
    compounds.loc[2, "geometry"] = box(210, 10, 320, 90)  # 20 of its 110 m lie in C2
    compounds.loc[3, "geometry"] = box(910, 10, 990, 90)  # in no community
    buildings.loc[3, "geometry"] = box(920, 20, 980, 80)
    loose = frame(["L1"], [box(330, 20, 380, 80)], households=[100])
    buildings = concat(buildings, loose)
    communities = concat(community(n=3), community("C2", box(300, 0, 600, 100), name="二社区"))
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.cells[["code", "households", "compounds", "loose_buildings"]].values.tolist() == [
        ["C1001", 450, "X1;X2;X3", ""], ["C2001", 100, "X3", "L1"]
    ]  # fmt: skip  # X3's part in C2 is a unit of C2, held whole by its cell
    kinds = result.problems.set_index("kind")
    assert kinds.loc["compound_straddles_community", "codes"] == "X3"
    assert kinds.loc["compound_straddles_community", "measure"] == pytest.approx(20 / 110, abs=1e-4)
    assert kinds.loc["compound_outside_community", ["codes", "measure"]].tolist() == ["X4", 50.0]
    assert kinds.loc["under_floor", "cell_code"] == "C2001"


def test_one_community_can_be_proposed_alone():
    west, west_buildings = row([150, 200, 160])
    east, east_buildings = row([120, 100], prefix="Y", x0=300)
    east.loc[0, "geometry"] = box(290, 10, 390, 90)  # 10 m of it in the west community
    compounds, buildings = concat(west, east), concat(west_buildings, east_buildings)
    communities = concat(community(n=3), community("C2", box(300, 0, 500, 100), name="二社区"))
    everything = propose_grids(compounds, buildings, communities)
    alone = propose_grids(compounds, buildings, communities, community="C2")
    assert alone.cells["code"].tolist() == ["C2001"]
    assert alone.cells.drop(columns="geometry").equals(
        everything.cells[everything.cells["community_code"] == "C2"].reset_index(drop=True).drop(columns="geometry")
    )  # fmt: skip
    assert set(alone.units["cell_code"]) == {"C2001"}
    assert alone.problems[["kind", "codes"]].values.tolist() == [
        ["compound_straddles_community", "Y1"], ["under_floor", "Y1;Y2"]
    ]  # fmt: skip
    with pytest.raises(GridmapError):
        propose_grids(compounds, buildings, communities, community="C9")


def test_same_seed_same_proposal_and_numpy_global_state_untouched():
    rng = np.random.default_rng(7)
    i, j = np.divmod(np.arange(48), 8)
    compounds = frame([f"X{k:02d}" for k in range(48)], shapely.box(i * 100 + 10, j * 100 + 10, i * 100 + 90, j * 100 + 90))  # fmt: skip
    buildings = frame([f"B{k:02d}" for k in range(48)], shapely.box(i * 100 + 20, j * 100 + 20, i * 100 + 80, j * 100 + 80),
                      households=rng.integers(20, 200, 48))  # fmt: skip
    communities = community(geom=box(0, 0, 600, 800))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = propose_grids(compounds, buildings, communities, seed=1)
    assert (np.random.get_state()[1] == before).all()
    again = propose_grids(compounds, buildings, communities, seed=1)
    check_invariants(first, compounds, buildings, communities)
    assert first.cells.drop(columns="geometry").equals(again.cells.drop(columns="geometry"))
    assert shapely.equals_exact(
        first.cells.geometry.values, again.cells.geometry.values, 1e-9
    ).all()
    other = propose_grids(compounds, buildings, communities, seed=2)
    check_invariants(other, compounds, buildings, communities)


def test_inputs_are_checked():
    compounds, buildings = row([100])
    with pytest.raises(CRSError):
        propose_grids(compounds.to_crs(4326), buildings.to_crs(4326), community().to_crs(4326))
    with pytest.raises(GridmapError):
        propose_grids(compounds, buildings, community(), floor=600, ceiling=500)


def test_a_duplicate_or_nested_compound_goes_with_the_compound_around_it():
    compounds, buildings = row([150, 150, 150, 150])
    extra = frame(["X2b", "X3a"], [compounds.geometry[1], box(230, 30, 270, 70)])  # copy; inside X3
    compounds = concat(compounds, extra)
    communities = community(n=4)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    cells = result.cells.set_index("code")["compounds"].str.split(";")
    assert sorted(cells.tolist()) == [["X1", "X2", "X2b"], ["X3", "X3a", "X4"]]
    found = result.problems[["kind", "codes"]].values.tolist()
    assert sorted(found) == [
        ["compound_within_compound", "X2b"],
        ["compound_within_compound", "X3a"],
    ]


def random_community(seed: int):
    """Compounds on a jittered 100 m lattice: some touching, some tilted, some missing, some above
    the ceiling; now and then a hole (a lake) and an exclave; a few loose buildings."""
    rng = np.random.default_rng(seed)
    nx, ny = int(rng.integers(2, 9)), int(rng.integers(1, 7))
    area = box(0, 0, 100 * nx, 100 * ny)
    if rng.random() < 0.3 and nx > 3 and ny > 2:
        area = area.difference(box(120, 120, 210, 190))
    if rng.random() < 0.3:
        area = area.union(box(100 * nx + 200, 0, 100 * nx + 300, 100))
    compounds, buildings, households = [], [], []
    for i in range(nx):
        for j in range(ny):
            if rng.random() < 0.15:
                continue
            gap = 0.0 if rng.random() < 0.3 else rng.uniform(2, 20)
            geom = box(
                100 * i + gap / 2,
                100 * j + gap / 2,
                100 * (i + 1) - gap / 2,
                100 * (j + 1) - gap / 2,
            )
            if rng.random() < 0.2:
                geom = shapely.affinity.rotate(geom, rng.uniform(-10, 10))
            geom = geom.intersection(area) if rng.random() < 0.9 else geom
            compounds.append(geom)
            for b in range(int(rng.integers(0, 4))):
                c = geom.representative_point()
                buildings.append(
                    box(c.x - 5 + b * 0.1, c.y - 5, c.x + 5, c.y + 5).intersection(geom)
                )
                households.append(
                    int(rng.integers(0, 200) if rng.random() < 0.85 else rng.integers(200, 700))
                )
    for _ in range(int(rng.integers(0, 3))):
        x, y = rng.uniform(0, 100 * nx), rng.uniform(0, 100 * ny)
        buildings.append(box(x, y, x + 4, y + 4))
        households.append(int(rng.integers(0, 150)))
    return (frame([f"X{k}" for k in range(len(compounds))], compounds),
            frame([f"B{k}" for k in range(len(buildings))], buildings, households=households),
            community(geom=area))  # fmt: skip


@pytest.mark.parametrize("seed", range(8))
def test_random_communities_keep_every_promise(seed):
    compounds, buildings, communities = random_community(seed)
    result = propose_grids(compounds, buildings, communities, seed=seed)
    check_invariants(result, compounds, buildings, communities)


@pytest.fixture(scope="module")
def demo():
    read = {
        layer: read_layer_file(DEMO / name, layer).frame
        for layer, name in (("community", "communities.gpkg"), ("compound", "compounds.gpkg"),
                            ("building", "buildings.zip"))
    }  # fmt: skip
    crs = metric_crs_for(read["community"])
    return {layer: f.to_crs(crs) for layer, f in read.items()}


def test_demo_every_cell_is_in_the_band_contiguous_and_in_one_community(demo):
    communities, compounds, buildings = demo["community"], demo["compound"], demo["building"]
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert len(result.cells) >= 40
    found = set(zip(result.problems["kind"], result.problems["codes"], strict=True))
    # planted in the demo: XQ032 straddles two communities, XQ169 lies outside every one
    assert {
        ("compound_straddles_community", "XQ032"),
        ("compound_outside_community", "XQ169"),
    } <= found
    assert not set(result.problems["kind"]) & BAND_KINDS
    again = propose_grids(compounds, buildings, communities)
    assert again.cells["compounds"].tolist() == result.cells["compounds"].tolist()


def planted_community(seed: int, n: int = 12, groups: int = 3, households: int = 400):
    """Irregular compounds (a Voronoi diagram of random points) and ``groups`` contiguous groups
    of them holding ``households`` each, grown on their adjacency: a perfect partition exists."""
    rng = np.random.default_rng(seed)
    area = box(0, 0, 600, 400)
    diagram = shapely.voronoi_polygons(shapely.multipoints(rng.uniform([0, 0], [600, 400], (n, 2))), extend_to=area)  # fmt: skip
    cells = shapely.intersection(shapely.get_parts(diagram), area)
    touch = [[j for j in range(n) if j != i and shapely.length(shapely.intersection(cells[i].boundary, cells[j].boundary)) > 1] for i in range(n)]  # fmt: skip
    label = np.full(n, -1)
    label[rng.choice(n, groups, replace=False)] = np.arange(groups)
    while (label < 0).any():
        for k in rng.permutation(groups):
            free = [j for i in np.flatnonzero(label == k) for j in touch[i] if label[j] < 0]
            if free:
                label[free[0]] = k
    hh = np.zeros(n, dtype=int)
    for k in range(groups):
        mine = np.flatnonzero(label == k)
        cuts = (
            np.sort(rng.choice(np.arange(1, households // 10), len(mine) - 1, replace=False)) * 10
        )
        hh[mine] = np.diff(np.r_[0, cuts, households])
    seeds = shapely.buffer(cells, -4)
    centres = shapely.centroid(seeds)
    compounds = frame([f"X{k + 1}" for k in range(n)], seeds)
    buildings = frame([f"B{k + 1}" for k in range(n)], shapely.buffer(centres, 3, cap_style="square"), households=hh)  # fmt: skip
    return compounds, buildings, community(geom=area), label


@pytest.mark.parametrize("seed", [4, 23])
def test_a_community_with_a_perfect_partition_gets_one(seed):
    """Max-p and the ceiling cuts alone leave a cell of 510 or 590 households here; the balancing
    moves and recombinations find cells that are all in the band."""
    compounds, buildings, communities, planted = planted_community(seed)
    for k in range(3):  # the planted groups: contiguous, 400 households each
        assert buildings["households"][planted == k].sum() == 400
        assert shapely.union_all(shapely.buffer(compounds.geometry.values[planted == k], 5)).geom_type == "Polygon"  # fmt: skip
    result = propose_grids(compounds, buildings, communities, seed=seed)
    check_invariants(result, compounds, buildings, communities)
    assert result.cells["households"].between(300, 500).all(), result.cells["households"].tolist()
    assert result.problems.empty


def test_a_compound_that_cannot_be_split_says_why_by_its_name():
    compounds, buildings = row([900, 150, 160, 170])
    compounds["name"] = ["阳光苑", "月光苑", "星光苑", "晨光苑"]
    communities = community(n=4)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    [problem] = result.problems.to_dict("records")
    assert (problem["kind"], problem["codes"], problem["measure"]) == ("over_ceiling", "X1", 900.0)
    assert problem["message_zh"].startswith("小区阳光苑（X1）有 900 户，超过上限 500 户，但只有 1 栋楼，无法按楼栋拆分")  # fmt: skip
    assert problem["message_en"].startswith("Compound 阳光苑 (X1) has 900 households") and "cannot be split" in problem["message_en"]  # fmt: skip
    assert result.cells["households"].tolist() == [900, 480]


def test_a_compound_above_the_ceiling_is_split_into_contiguous_groups_in_the_band():
    compounds, buildings = row([350, 320])
    big = frame(["X9"], [box(210, 10, 590, 90)])  # 860 households in 20 buildings
    xs = 215 + 19.0 * np.arange(20)
    many = frame([f"X9-{i:02d}" for i in range(20)], shapely.box(xs, 20, xs + 14, 80), households=[43] * 20)  # fmt: skip
    compounds, buildings = concat(compounds, big), concat(buildings, many)
    communities = community(n=6)
    result = propose_grids(compounds, buildings, communities)
    check_invariants(result, compounds, buildings, communities)
    assert result.cells["households"].between(300, 500).all(), result.cells["households"].tolist()
    [split] = result.problems.to_dict("records")
    assert (split["kind"], split["codes"], split["measure"]) == ("compound_split", "X9", 860.0)
    assert split["message_zh"].startswith("小区 X9 有 860 户，超过上限 500 户，按楼栋拆分为相邻的")
    assert sum("X9" in c.split(";") for c in result.cells["compounds"]) == 2
    assert all(g.geom_type == "Polygon" for g in result.cells.geometry)
