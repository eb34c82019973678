"""The committed demo data: reproducible from its seed, in the forms offices have, plants real."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geodata.generate import make, write_all
from gridmap.core.gaps import GAP_KINDS

DEMO = Path(__file__).resolve().parents[1] / "geodata" / "demo"
PLANTED = json.loads((DEMO.parent / "planted.json").read_text(encoding="utf-8"))
METRIC = 4544

DOMAIN_KINDS = [
    "uncovered_area", "grid_overlap", "compound_split", "compound_without_org",
    "grid_without_member", "building_without_member", "grid_out_of_band", "member_unassigned",
    "member_not_reported", "property_without_org", "beyond_station_reach", "branch_too_small",
    "branch_too_large", "branch_needs_committee", "joint_branch_too_many_units",
    "invalid_geometry", "duplicate_feature", "sliver", "grid_straddles_community",
    "compound_straddles_community", "compound_outside_community", "building_outside_compound",
]  # fmt: skip


def source(folder: Path, name: str) -> str:
    """The GDAL path of a demo file (the zipped shapefile sits in a folder inside the zip)."""
    return (
        f"/vsizip/{folder / name}/楼栋/buildings.shp"
        if name.endswith(".zip")
        else str(folder / name)
    )


def planted(kind: str) -> list[dict]:
    return [p for p in PLANTED if p["kind"] == kind]


def test_every_kind_of_domain_is_planted_and_known():
    kinds = {p["kind"] for p in PLANTED}
    assert set(DOMAIN_KINDS) <= kinds
    assert kinds - {"member_snapped"} <= set(GAP_KINDS)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    city, extra = make()
    write_all(city, extra, out)
    return out


@pytest.mark.parametrize(
    "name",
    [
        "party_grid.shp",
        "compounds.gpkg",
        "buildings.zip",
        "communities.gpkg",
        "zongzhi_grid.geojson",
    ],
)
def test_regenerating_from_the_seed_gives_the_committed_features(regenerated, name):
    encoding = "GBK" if name.endswith((".shp", ".zip")) else None
    committed = pyogrio.read_dataframe(source(DEMO, name), encoding=encoding)
    again = pyogrio.read_dataframe(source(regenerated, name), encoding=encoding)
    assert committed.drop(columns="geometry").equals(again.drop(columns="geometry"))
    assert shapely.equals_exact(committed.geometry.values, again.geometry.values, 1e-6).all()


def test_regenerated_tables_and_plants_are_identical(regenerated):
    for name in ("members.csv", "orgs.csv"):
        assert (regenerated / name).read_bytes() == (DEMO / name).read_bytes()
    assert json.loads((regenerated.parent / "planted.json").read_text(encoding="utf-8")) == PLANTED


def test_shapefiles_are_gbk_without_cpg_and_language_byte_zero():
    assert not (DEMO / "party_grid.cpg").exists()
    dbf = (DEMO / "party_grid.dbf").read_bytes()
    assert dbf[29] == 0 and "网格编码".encode("gbk") in dbf
    with pytest.raises(UnicodeDecodeError):
        dbf[32:].decode("utf-8")


def test_tables_are_in_office_encodings_with_fictional_people():
    raw = (DEMO / "members.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    members = pd.read_csv(DEMO / "members.csv", encoding="utf-8-sig", dtype=str)
    assert members["手机号码"].str.fullmatch(r"100\d{8}").all()
    assert members["姓名"].str.contains("演示").all()
    stations = (DEMO / "stations.csv").read_bytes()
    assert "党群服务".encode("gbk") in stations


def _metric(name: str, **kwargs) -> gpd.GeoDataFrame:
    return gpd.read_file(source(DEMO, name), **kwargs).to_crs(METRIC)


def test_planted_geometry_defects_are_really_there():
    grids = _metric("party_grid.shp", encoding="gbk").set_index("网格编码")
    overlap = grids.loc["DJ201"].geometry.intersection(grids.loc["DJ202"].geometry).area
    assert overlap >= 500
    sliver = grids.loc["DJ305"].geometry.distance(grids.loc["DJ303"].geometry)
    assert 0.3 < sliver < 1.0
    communities = _metric("communities.gpkg")
    hole = communities.union_all().difference(grids.union_all())
    buildings = _metric("buildings.zip", encoding="gbk")
    big = [g for g in shapely.get_parts(hole) if g.area >= 2000]
    assert any(buildings.within(g).any() for g in big)
    assert grids.loc["DJ207"].geometry.geom_type == "MultiPolygon"


def test_planted_members_are_where_they_say():
    members = gpd.read_file(DEMO / "members.csv", encoding="utf-8-sig")
    assert "DY-FAR" in set(members["党员编号"]) and "DY-NEAR" in set(members["党员编号"])
    far = next(p for p in planted("member_unassigned"))
    buildings = _metric("buildings.zip", encoding="gbk")
    point = gpd.GeoSeries(gpd.points_from_xy([far["lon"]], [far["lat"]]), crs=4326).to_crs(METRIC)[
        0
    ]
    assert buildings.distance(point).min() >= 40
    near = planted("member_snapped")[0]
    point = gpd.GeoSeries(gpd.points_from_xy([near["lon"]], [near["lat"]]), crs=4326).to_crs(
        METRIC
    )[0]
    target = buildings.set_index("楼栋编号").loc[near["codes"][1]].geometry
    assert 3 <= target.distance(point) <= 8


def test_the_demo_is_made_of_real_shapes_not_rectangles():
    for name, encoding in (("compounds.gpkg", None), ("party_grid.shp", "gbk")):
        shapes = _metric(name, encoding=encoding).geometry.values
        boxy = shapely.area(shapes) / shapely.area(shapely.oriented_envelope(shapes)) > 0.99
        assert boxy.mean() < 0.05, name


def test_buildings_are_real_footprints_moved_as_they_were_mapped():
    """Every building but the planted additions is an OpenStreetMap footprint, moved unchanged."""
    from geodata.blocks import footprints
    from geodata.generate import ORIGIN

    buildings = _metric("buildings.zip", encoding="gbk")
    added = {p["code"] for p in PLANTED if p["kind"] in ("invalid_geometry", "duplicate_feature")}
    ours = buildings[~buildings["楼栋编号"].isin(added | {"LD-001"})
                     & ~buildings["楼栋编号"].str.startswith("XQ169")]  # fmt: skip
    moved = shapely.transform(ours.geometry.values, lambda c: c - np.array(ORIGIN))
    real = footprints().valid
    nearest = shapely.STRtree(shapely.centroid(real)).query_nearest(shapely.centroid(moved))[1]
    assert len(nearest) == len(moved) > 1500
    assert np.allclose(shapely.area(moved), shapely.area(real[nearest]), rtol=1e-4)
    assert shapely.distance(shapely.centroid(moved), shapely.centroid(real[nearest])).max() < 0.05
