"""Make the demo subdistrict 锦绣街道 from a seed and write it as offices hand data over.

    python -m geodata.generate --seed 20261125 --out geodata/demo

Writes a GBK shapefile without .cpg (Party grid), a zipped GBK shapefile (buildings), GeoPackages
(communities in CGCS2000 Gauss–Krüger, compounds, 城管 grid), GeoJSON (subdistrict, 综治 grid),
CSVs with Chinese headers and GCJ-02 coordinates (members: UTF-8 with BOM; stations: GBK), the
organisation table, ``manifest.json`` (load order) and ``planted.json`` (every planted case).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geodata import people, staffing
from geodata.city import (
    City,
    balance_households,
    build_city,
    departmental_grids,
    subdistrict_outline,
)
from geodata.plants import (
    plant,
    plant_building_defects,
    plant_compound_defects,
    plant_grid_defects,
    plant_household_band,
    points_far_from,
    to_lonlat_records,
)
from gridmap.crs import wgs84_to_gcj02

SEED = 20261125
METRIC = "EPSG:4544"  # CGCS2000 / 3-degree Gauss-Kruger CM 105E
ORIGIN = pyproj.Transformer.from_crs(4326, METRIC, always_xy=True).transform(104.030, 30.640)
TO_LONLAT = pyproj.Transformer.from_crs(METRIC, 4326, always_xy=True)


def _metric(geoms) -> np.ndarray:
    return shapely.transform(np.asarray(geoms, dtype=object), lambda c: c + np.array(ORIGIN))


def frame(records: list[dict], columns: dict[str, str]) -> gpd.GeoDataFrame:
    """Records in generator metres → a GeoDataFrame in WGS84 with the office's headers."""
    data = pd.DataFrame([{zh: r.get(key) for key, zh in columns.items()} for r in records])
    geoms = gpd.GeoSeries(_metric([r["geometry"] for r in records]), crs=METRIC)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=METRIC).to_crs(4326)


def lonlat(x: float, y: float) -> tuple[float, float]:
    return TO_LONLAT.transform(x + ORIGIN[0], y + ORIGIN[1])


def make(seed: int = SEED) -> tuple[City, dict]:
    """The whole demo: the city and everything planted in it."""
    rng = np.random.default_rng(seed)
    city = build_city(rng)
    balance_households(city)
    planted = plant_grid_defects(city) + plant_compound_defects(city, rng)
    planted += (
        plant_building_defects(city) + plant_household_band(city) + people.plant_property(city)
    )
    empty_building = people.pick_empty_building(city)
    counts = people.member_counts(city, rng)
    members = people.make_members(city, rng, counts, empty_building)
    planted += people.plant_member_cases(city, members, rng)
    planted += people.plant_empty_places(city, members, empty_building)
    full = pd.Series(
        [m["compound_code"] for m in members if m["category"] == "正式党员"]
    ).value_counts()
    every = pd.Series([m["compound_code"] for m in members]).value_counts()
    orgs, org_plants = people.make_orgs(city, full.to_dict(), every.to_dict())
    staffing.with_groups(orgs, full.to_dict())
    stations = people.make_stations(city)
    planted += org_plants + _beyond_reach(city, stations)
    departmental = departmental_grids(city, rng)
    extra = {"members": members, "stations": stations, "orgs": orgs, "planted": planted,
             "departmental": departmental, "people": staffing.make_people(city, orgs)}  # fmt: skip
    return city, extra


def _beyond_reach(city: City, stations: list[dict]) -> list[dict]:
    out = []
    station_points = [s["geometry"] for s in stations]
    for c in city.compounds:
        buildings = [b["valid"] for b in city.buildings if b["compound_code"] == c["code"]]
        if buildings and all(points_far_from(station_points, buildings, 1000.0)):
            out.append(plant("beyond_station_reach", "compound", c["code"], [c["code"]], c["geometry"],
                             f"小区 {c['name']} 距最近的党群服务站超过 1000 米",
                             f"Compound {c['code']} is more than 1,000 m from every station"))  # fmt: skip
    assert out, "the demo must have compounds beyond every station's reach"
    return out


def write_gbk_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """GBK attributes, no .cpg, language-driver byte 0: what much desktop GIS writes."""
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0
    dbf.write_bytes(bytes(data))


def _csv_points(records, columns: dict[str, str]) -> pd.DataFrame:
    table = pd.DataFrame([{zh: r.get(key) for key, zh in columns.items()} for r in records])
    xy = np.array([lonlat(r["geometry"].x, r["geometry"].y) for r in records])
    glon, glat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
    table["经度"], table["纬度"] = np.round(glon, 7), np.round(glat, 7)
    return table


def write_all(city: City, extra: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    outline = subdistrict_outline(city)
    frame(
        [{"code": "510199001", "name": "锦绣街道", "geometry": outline}],
        {"code": "街道编码", "name": "街道名称"},
    ).to_file(out / "subdistrict.geojson", driver="GeoJSON")
    communities = frame(city.communities, {"code": "社区编码", "name": "社区名称"})
    communities["所属街道"] = "510199001"
    communities.to_crs(METRIC).to_file(out / "communities.gpkg", layer="社区")
    write_gbk_shapefile(
        frame(city.grids, {"code": "网格编码", "name": "网格名称", "community_code": "所属社区"}),
        out / "party_grid.shp",
    )
    zongzhi, chengguan = extra["departmental"]
    frame(zongzhi, {"code": "网格编号", "name": "网格名称"}).to_file(
        out / "zongzhi_grid.geojson", driver="GeoJSON"
    )
    frame(chengguan, {"code": "单元网格编码", "name": "网格名称"}).to_file(
        out / "chengguan_grid.gpkg", layer="城管单元网格"
    )
    compounds = frame(
        city.compounds,
        {
            "code": "小区编码",
            "name": "小区名称",
            "community_code": "所属社区",
            "property_company": "物业公司",
        },
    )
    compounds["物业党组织"] = ["是" if c["property_has_org"] else "否" for c in city.compounds]
    compounds.to_file(out / "compounds.gpkg", layer="小区")
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "buildings.shp"
        write_gbk_shapefile(
            frame(
                city.buildings,
                {
                    "code": "楼栋编号",
                    "name": "楼栋名称",
                    "compound_code": "所属小区",
                    "households": "户数",
                    "floors": "层数",
                },
            ),
            shp,
        )
        with zipfile.ZipFile(out / "buildings.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).glob("buildings.*")):
                zf.write(part, f"楼栋/{part.name}")
    members = _csv_points(
        extra["members"],
        {
            "code": "党员编号",
            "name": "姓名",
            "phone": "手机号码",
            "address": "家庭住址",
            "category": "党员类别",
            "in_service": "在职党员",
            "reported": "已报到",
            "org_name": "所在党组织",
        },
    )
    members.to_csv(out / "members.csv", index=False, encoding="utf-8-sig")
    _csv_points(extra["stations"], {"code": "站点编号", "name": "站点名称", "kind": "类型"}).to_csv(
        out / "stations.csv", index=False, encoding="gbk"
    )
    pd.DataFrame(extra["orgs"]).to_csv(out / "orgs.csv", index=False, encoding="utf-8")
    write_people(extra["people"], out)
    (out / "manifest.json").write_text(
        json.dumps(MANIFEST, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    planted = to_lonlat_records([dict(p) for p in extra["planted"]], lonlat)
    (out.parent / "planted.json").write_text(json.dumps(planted, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")  # fmt: skip
    (out.parent / "README.md").write_text(readme(city, extra, planted), encoding="utf-8")


def write_people(made: dict, out: Path) -> None:
    """The roster (GBK, as offices save it), property companies, owners' committees, and
    ``planted_people.json`` beside ``planted.json``."""
    pd.DataFrame(made["staff"]).to_csv(out / "staff.csv", index=False, encoding="gbk")
    pd.DataFrame(made["property"]).to_csv(out / "property.csv", index=False, encoding="utf-8")
    pd.DataFrame(made["owners_committee"]).to_csv(
        out / "owners_committee.csv", index=False, encoding="utf-8"
    )
    text = json.dumps(made["plants"], ensure_ascii=False, indent=1) + "\n"
    (out.parent / "planted_people.json").write_text(text, encoding="utf-8")


def readme(city: City, extra: dict, planted: list[dict]) -> str:
    """geodata/README.md, written with the data so that its table never drifts from it."""
    rows = "\n".join(
        f"| `{p['kind']}` | {p['layer']} | `{p['code']}` | {p['lon']:.5f}, {p['lat']:.5f} | {p['note_zh']} |"
        for p in planted
    )
    households = sum(b["households"] for b in city.buildings)
    zongzhi, chengguan = extra["departmental"]
    return README.format(
        communities=len(city.communities), grids=len(city.grids), compounds=len(city.compounds),
        zongzhi=len(zongzhi), chengguan=len(chengguan),
        buildings=len(city.buildings), households=households, members=len(extra["members"]),
        stations=len(extra["stations"]), orgs=len(extra["orgs"]), planted=len(planted), rows=rows,
    )  # fmt: skip


README = """# Demo data: 锦绣街道 (fictional)

A fictional subdistrict near 104.04°E, 30.65°N, made by `python -m geodata.generate --seed 20261125`
(this file is written by the same command). Names are invented; phone numbers start with 100.

{communities} communities · {grids} Party grids · {zongzhi} 综治 cells · {chengguan} 城管 unit cells ·
{compounds} compounds · {buildings} buildings · {households} households · {members} Party members ·
{stations} stations · {orgs} organisations.

## A real place, moved

The streets and buildings are real: the building footprints and streets of a Finnish town from
OpenStreetMap (`osm/`, the extract `test.osm.pbf` shipped in the pyrosm wheel), projected to metres
around their centre and moved, unrotated, to Chengdu's latitude. **Map data © OpenStreetMap
contributors, available under the Open Database License (ODbL) 1.0**
(<https://www.openstreetmap.org/copyright>); the demo files derived from it are under the same
licence. Street blocks are the faces of the street network; a block with many buildings is cut
between its clusters of buildings into compound cells (`blocks.py`). Each compound is its cell set
6 m back from the street and hugging its buildings; its buildings are the real footprints inside
it, with floors as mapped (or seeded) and households from floors × area. Cells are grouped into
Party grids of four compounds and grids into communities, so borders run along real streets or
between compounds (`city.py`). The 综治 office grouped the same cells its own way and traced its
cells independently (no vertex shared with a neighbour, up to 3 cm apart: within the snapping
tolerance); the 城管 unit grid has a cell per compound cell, traced the same way. The three
largest footprints invalid as mapped (ways cut at the extract's edge, crossing themselves) are
moved into compounds; footprints mapped with too few points to form a polygon are left out.

## Files, as offices hand them over (`demo/`, loaded in `manifest.json` order)

| file | what | why this form |
|---|---|---|
| `subdistrict.geojson` | 街道 | GeoJSON, WGS84 |
| `communities.gpkg` | 社区 | GeoPackage in CGCS2000 Gauss–Krüger CM 105E (EPSG:4544): reprojected on import |
| `party_grid.shp` | 党建网格 | GBK shapefile **without .cpg** and language-driver byte 0: the encoding must be detected |
| `zongzhi_grid.geojson` | 综治网格 | boundaries that disagree with the Party grid, digitised on their own |
| `chengguan_grid.gpkg` | 城管单元网格 | unit cells along streets, one per block or part of a block |
| `compounds.gpkg` | 小区 (物业公司, 物业党组织) | GeoPackage |
| `buildings.zip` | 楼栋 (户数, 层数) | zipped GBK shapefile, no .cpg |
| `stations.csv` | 党群服务站 | **GBK** CSV, **GCJ-02** coordinates (`--crs gcj02`) |
| `members.csv` | 党员 | UTF-8 with BOM (Excel), Chinese headers, **GCJ-02** coordinates |
| `orgs.csv` | 党组织 (组织名称, 组织类型, 上级组织, 设支委会, 覆盖小区, 党小组数) | the organisation table |
| `property.csv` | 物业服务企业 (服务小区, 党员数, 党组织, 派驻党建指导员) | UTF-8 |
| `owners_committee.csv` | 业主委员会 (所在小区, 委员人数, 党员人数, 交叉任职人数, 党组织) | UTF-8 |
| `staff.csv` | 人员花名册: every post (网格员, 书记, 党小组长, 楼栋长, 党建指导员, 社区工作者 …) with the places it serves | **GBK** CSV; dates typed as 2021.3, 2021年3月, 2021-03-01 and one Excel serial |

The people layers are nearly complete: each kind of vacancy or reminder of `gridmap/core/staffing.py`
is planted once, with the place it is about and its community, in `planted_people.json`
(`geodata/staffing.py`; Party ages and terms as of 2026-12-01).

## Planted cases ({planted}, listed in `planted.json`)

Each is at a known code; tests name them. Apart from these, the Party grid tiles each community
exactly, compounds lie whole in one grid and one community, and geometries are valid. Some plants
have consequences that checks rightly report too (the grid that takes a compound of 玉林社区 changes
both grids' household counts; the compound stretched across the community border is also cut
between two grids; the detached part of DJ207 lies outside every community; the departmental
grids cross community borders; natural cases of `building_without_member`,
`member_not_reported` and out-of-band grids exist besides the planted ones). `member_snapped` is
not a gap: that member must be assigned to the building named.

| kind | layer | code | lon, lat (WGS84) | what |
|---|---|---|---|---|
{rows}
"""


MANIFEST = [
    {"layer": "subdistrict", "file": "subdistrict.geojson"},
    {"layer": "community", "file": "communities.gpkg"},
    {"layer": "grid", "file": "party_grid.shp", "grid_layer": "party"},
    {"layer": "grid", "file": "zongzhi_grid.geojson", "grid_layer": "zongzhi"},
    {"layer": "grid", "file": "chengguan_grid.gpkg", "grid_layer": "chengguan"},
    {"layer": "compound", "file": "compounds.gpkg"},
    {"layer": "building", "file": "buildings.zip"},
    {"layer": "station", "file": "stations.csv", "crs": "gcj02"},
    {"layer": "member", "file": "members.csv", "crs": "gcj02"},
    {"layer": "org", "file": "orgs.csv"},
    {"layer": "property", "file": "property.csv"},
    {"layer": "owners_committee", "file": "owners_committee.csv"},
    {"layer": "staff", "file": "staff.csv"},
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "demo")
    args = parser.parse_args()
    city, extra = make(args.seed)
    if args.out.exists():
        shutil.rmtree(args.out)
    write_all(city, extra, args.out)
    kinds = sorted({p["kind"] for p in extra["planted"]})
    print(
        f"{len(city.communities)} communities, {len(city.grids)} Party grids, {len(city.compounds)} compounds, "
        f"{len(city.buildings)} buildings, {sum(b['households'] for b in city.buildings)} households, "
        f"{len(extra['members'])} members, {len(extra['stations'])} stations, {len(extra['orgs'])} organisations"
    )
    print(f"{len(extra['planted'])} planted cases of {len(kinds)} kinds: {', '.join(kinds)}")


if __name__ == "__main__":
    main()
