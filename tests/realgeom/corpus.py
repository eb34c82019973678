"""A subdistrict of real shapes: street blocks of central Helsinki (OpenStreetMap, moved to
Chengdu), its real building footprints, and grids drawn the way offices draw them.

- communities: the blocks between the major streets, grouped around four seeds (real outlines,
  sharing their borders exactly, as a civil-affairs office's layer does);
- the Party grid (``party``, the base): a cell per large block with its small neighbours, each
  digitised on its own (a few metres off, every vertex jittered by centimetres, its own vertex
  spacing), plus the planted mess: two cells overlapping by about 2,000 m², a concave hole of
  about 5,000 m², a cell in two parts, a cell shifted 4 m off its community;
- the 综治 grid (``zongzhi``): Voronoi cells of random seeds, which follow neither the streets
  nor the communities (they straddle them and cut compounds), digitised with centimetre-to-metre
  noise and a hole;
- the 城管 grid (``chengguan``): the blocks as they are, each moved by about 1e-9 degree in the
  file's own degrees (micro-gaps and micro-overlaps at every shared border);
- compounds: the blocks inset from the street centre lines, the large ones split in two, one
  across two communities; buildings: the real footprints, invalid ones as mapped; members at
  the buildings and a few in the street.

Everything is deterministic (one seed). ``build()`` gives metric frames; ``write_files`` writes
the files an office would hand over (compounds in GCJ-02, as from a web map).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from realgeom.osm import footprints, streets, write_buildings

from gridmap.crs import metric_crs_for, wgs84_to_gcj02

MAJOR = {
    "primary", "secondary", "tertiary", "residential", "unclassified", "living_street",
    "primary_link", "secondary_link", "tertiary_link", "trunk", "trunk_link",
}  # fmt: skip
SEED = 20240615


def street_blocks(extract: str = "Helsinki.osm.pbf") -> gpd.GeoDataFrame:
    """The faces between the major streets (polygonised), in the place's metric CRS."""
    lines = streets(extract)
    crs = metric_crs_for(lines)
    lines = lines[lines["highway"].isin(MAJOR)].to_crs(crs)
    noded = shapely.union_all(lines.geometry.values)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 1.0]
    order = np.lexsort((shapely.get_y(shapely.centroid(faces)), -shapely.area(faces)))
    return gpd.GeoDataFrame({"block": np.arange(len(faces))}, geometry=faces[order], crs=crs)


def digitise(geom, rng: np.random.Generator, shift_m: float, noise_m: float, step_m=(6.0, 14.0)):
    """``geom`` as someone else would draw it: its own vertex spacing, moved by up to
    ``shift_m``, every vertex off by ``noise_m`` (standard deviation); repaired the way a GIS
    would save it (valid, polygonal)."""
    step = rng.uniform(*step_m)
    dense = shapely.segmentize(geom, step)
    shift = rng.uniform(-shift_m, shift_m, 2)
    salt = rng.uniform(0, 1000, 2)

    def move(coords):
        # the noise is a function of the point (and of this drawing's salt), so a ring's closing
        # point moves with its first one; two drawings of one corner still differ
        u = np.sin(coords @ np.array([[12.9898, 39.346], [78.233, 11.135]]) + salt) * 43758.5453
        u = u - np.floor(u)  # two uniform numbers per point …
        r = np.sqrt(-2 * np.log(np.clip(u[:, :1], 1e-12, 1))) * noise_m  # … made normal
        angle = 2 * np.pi * u[:, 1:]
        return coords + shift + np.hstack([r * np.cos(angle), r * np.sin(angle)])

    drawn = shapely.transform(dense, move)
    drawn = shapely.make_valid(drawn)
    parts = [p for p in shapely.get_parts(drawn) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, weights=None) -> np.ndarray:
    centres = points[rng.choice(len(points), k, replace=False, p=weights)]
    for _ in range(20):
        label = np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array([
            points[label == c].mean(axis=0) if (label == c).any() else centres[c] for c in range(k)
        ])  # fmt: skip
    return label


@dataclass
class Subdistrict:
    crs: object
    communities: gpd.GeoDataFrame
    grids: dict[str, gpd.GeoDataFrame]
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame  # the real footprints, as mapped (unrepaired, some None)
    members: gpd.GeoDataFrame
    plants: dict = field(default_factory=dict)


def build(seed: int = SEED, communities: int = 4) -> Subdistrict:
    rng = np.random.default_rng(seed)
    blocks = street_blocks()
    crs = blocks.crs
    faces = blocks.geometry.values
    area = shapely.area(faces)
    centre = np.column_stack(
        [shapely.get_x(shapely.centroid(faces)), shapely.get_y(shapely.centroid(faces))]
    )
    community_of = _kmeans(centre, communities, rng, weights=area / area.sum())
    comm_codes = [f"510104{c + 1:03d}" for c in range(communities)]
    comm = gpd.GeoDataFrame(
        {"code": comm_codes, "name": [f"芬兰路{c + 1}社区" for c in range(communities)]},
        geometry=[shapely.union_all(faces[community_of == c]) for c in range(communities)],
        crs=crs,
    )
    plants: dict = {}

    # --- Party grid: large blocks with their small neighbours, community by community ---------
    cell_of = np.full(len(faces), -1)
    seeds = np.flatnonzero(area >= 4000)
    n_cells = 0
    for c in range(communities):
        mine = np.flatnonzero(community_of == c)
        own = [s for s in seeds if community_of[s] == c] or [mine[np.argmax(area[mine])]]
        for s in own:
            cell_of[s] = n_cells
            n_cells += 1
        for f in mine:
            if cell_of[f] < 0:
                nearest = own[int(np.argmin(((centre[own] - centre[f]) ** 2).sum(1)))]
                cell_of[f] = cell_of[nearest]
    truth = [shapely.union_all(faces[cell_of == g]) for g in range(n_cells)]
    cell_comm = [int(community_of[cell_of == g][0]) for g in range(n_cells)]
    party = [digitise(g, rng, shift_m=1.5, noise_m=0.05) for g in truth]
    # planted: an overlap of ~2,000 m² (cell 0 reaches into the neighbour it shares most with)
    reach = shapely.buffer(party[0], 25.0, join_style="mitre")
    shared = [shapely.area(shapely.intersection(reach, p)) if i else 0 for i, p in enumerate(party)]
    neighbour = int(np.argmax(shared))
    grab = shapely.intersection(shapely.buffer(party[0], 8.0, join_style="mitre"), party[neighbour])
    party[0] = shapely.union(party[0], grab)
    plants["overlap"] = (0, neighbour, float(grab.area))
    # planted: a concave hole of ~5,000 m² in the largest cell (an L, not a square)
    big = int(np.argmax([p.area for p in party]))
    at = shapely.get_coordinates(shapely.point_on_surface(party[big]))[0]
    ell = shapely.Polygon(
        np.array([(0, 0), (90, 0), (90, 40), (40, 40), (40, 95), (0, 95)]) - (30, 30) + at
    )
    ell = shapely.affinity.rotate(ell, 23, origin="centroid")
    hole = shapely.intersection(ell, shapely.buffer(party[big], -5))
    party[big] = shapely.difference(party[big], hole)
    plants["hole"] = (big, float(hole.area))
    # planted: a cell 4 m off its community's border
    off = (big + 1) % n_cells
    party[off] = _translate(party[off], 4.0, -3.0)
    plants["shifted"] = off
    codes = [f"{comm_codes[cell_comm[g]]}D{g:02d}" for g in range(n_cells)]
    # planted: one cell in two parts (two cells of one community under one code)
    multi = None
    for c in range(communities):
        mine = [
            g for g in range(n_cells) if cell_comm[g] == c and g not in (0, neighbour, big, off)
        ]
        for a in mine:
            for b in mine:
                if a < b and shapely.distance(party[a], party[b]) > 30 and multi is None:
                    multi = (a, b)
    if multi:
        a, b = multi
        party[a] = shapely.MultiPolygon(
            [*shapely.get_parts(party[a]), *shapely.get_parts(party[b])]
        )
        party[b] = None
        plants["multipart"] = codes[a]
    keep = [g for g in range(n_cells) if party[g] is not None]
    party_frame = gpd.GeoDataFrame(
        {"code": [codes[g] for g in keep], "name": [f"党建网格{g:02d}" for g in keep]},
        geometry=[party[g] for g in keep],
        crs=crs,
    )

    # --- 综治: Voronoi cells of random seeds, clipped to the subdistrict, straddling everything ---
    outline = shapely.union_all(comm.geometry.values)
    x0, y0, x1, y1 = outline.bounds
    pts = shapely.points(rng.uniform(x0, x1, 14), rng.uniform(y0, y1, 14))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=outline.envelope.buffer(100))
    )
    zz = [shapely.intersection(c, shapely.buffer(outline, 2.0)) for c in cells]
    zz = [digitise(z, rng, shift_m=0.5, noise_m=0.3, step_m=(3.0, 9.0)) for z in zz if z.area > 100]
    donut = int(np.argmax([z.area for z in zz]))
    zz[donut] = shapely.difference(
        zz[donut], shapely.buffer(shapely.point_on_surface(zz[donut]), 12.0, quad_segs=3)
    )
    zongzhi = gpd.GeoDataFrame(
        {
            "code": [f"ZZ{i:03d}" for i in range(len(zz))],
            "name": [f"综治网格{i}" for i in range(len(zz))],
        },
        geometry=zz,
        crs=crs,
    )

    # --- 城管: the blocks, by 2–3, each moved by ~1e-9 degree once in degrees ----------------
    cg_of = np.arange(len(faces)) // 3
    cg = [shapely.union_all(faces[cg_of == k]) for k in np.unique(cg_of)]
    cg_deg = gpd.GeoSeries(cg, crs=crs).to_crs(4326).values
    tiny = rng.choice([-1e-9, 1e-9], (len(cg_deg), 2))
    cg_deg = np.array(
        [_translate(g, dx, dy) for g, (dx, dy) in zip(cg_deg, tiny, strict=True)], dtype=object
    )
    chengguan = gpd.GeoDataFrame(
        {
            "code": [f"CG{k:03d}" for k in range(len(cg_deg))],
            "name": [f"单元网格{k}" for k in range(len(cg_deg))],
        },
        geometry=list(cg_deg),
        crs=4326,
    ).to_crs(crs)

    # --- compounds: blocks inset from the streets' centre lines ------------------------------
    comps = []
    for f in np.flatnonzero(area >= 1500):
        inset = shapely.buffer(faces[f], -4.0, join_style="mitre")
        if inset.is_empty or inset.area < 500:
            continue
        if inset.area > 15000:  # split in two along a line through its centre
            cx, _ = shapely.get_coordinates(shapely.centroid(inset))[0]
            left = shapely.box(x0 - 10, y0 - 10, cx, y1 + 10)
            comps += [shapely.intersection(inset, left), shapely.difference(inset, left)]
        else:
            comps.append(inset)
    # planted: one compound across two communities (two neighbouring blocks drawn as one)
    middling = np.flatnonzero((area >= 1500) & (area <= 45000))
    straddling = cut = None
    for f in middling:
        other = [g for g in middling if community_of[g] != community_of[f]
                 and shapely.intersection(faces[f], faces[g]).length > 20]  # fmt: skip
        if other:
            both = shapely.union(faces[f], faces[other[0]])
            comps = [c for c in comps if not c.intersects(both)]
            straddling = shapely.buffer(both, -4.0, join_style="mitre")
            comps.append(straddling)
            break
    # planted: one compound across two Party cells of one community (cut by the base grid)
    for a in range(n_cells):
        near = [b for b in range(a + 1, n_cells) if cell_comm[b] == cell_comm[a]
                and shapely.intersection(truth[a], truth[b]).length > 60]  # fmt: skip
        if near:
            seam = shapely.intersection(
                shapely.buffer(truth[a], 1.0), shapely.buffer(truth[near[0]], 1.0)
            )
            spot = shapely.point_on_surface(seam)
            home = comm.geometry.values[cell_comm[a]]
            cut = shapely.intersection(shapely.buffer(spot, 22.0, quad_segs=5), home)
            comps = [c for c in comps if not c.intersects(cut)]
            comps.append(cut)
            break
    comps = [c for c in comps if c.area > 100]
    for name, planted in (("straddling_compound", straddling), ("cut_compound", cut)):
        at = [i for i, c in enumerate(comps) if c is planted]
        if at:
            plants[name] = f"XQ{at[0]:03d}"
    comps = [digitise(c, rng, shift_m=0.3, noise_m=0.02) for c in comps]
    compounds = gpd.GeoDataFrame(
        {
            "code": [f"XQ{i:03d}" for i in range(len(comps))],
            "name": [f"小区{i}" for i in range(len(comps))],
        },
        geometry=comps,
        crs=crs,
    )

    # --- buildings (as mapped) and members ------------------------------------------------------
    buildings = footprints("Helsinki.osm.pbf")
    readable = buildings.geometry.notna().to_numpy()
    where = gpd.GeoSeries(buildings.geometry.values[readable], crs=4326).to_crs(crs).values
    spot = np.full(len(buildings), None, dtype=object)
    spot[readable] = shapely.point_on_surface(shapely.make_valid(where))
    inside = np.zeros(len(buildings), dtype=bool)
    inside[readable] = shapely.intersects(outline, spot[readable].astype(object))
    buildings = buildings[inside | ~readable].reset_index(drop=True)
    spot = spot[inside | ~readable]
    rows = []
    for i, p in enumerate(spot):
        if p is None or shapely.is_empty(p):
            continue
        for k in range(int(rng.integers(0, 4))):
            x, y = shapely.get_coordinates(p)[0] + rng.normal(0, 0.5, 2)
            rows.append((f"DY{i:04d}{k}", x, y))
    for k in range(6):  # in the street: no building within reach
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        rows.append((f"DYS{k:03d}", x, y))
    members = gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "category": rng.choice(["正式党员", "正式党员", "预备党员"], len(rows)),
        },
        geometry=shapely.points([(r[1], r[2]) for r in rows]),
        crs=crs,
    )
    return Subdistrict(crs, comm, {"party": party_frame, "zongzhi": zongzhi, "chengguan": chengguan},
                       compounds, buildings, members, plants)  # fmt: skip


def _translate(geom, dx: float, dy: float):
    return shapely.transform(geom, lambda c: c + np.array([dx, dy]))


def write_files(city: Subdistrict, out: Path) -> list[dict]:
    """The layers as an office's files (EPSG:4326, compounds in GCJ-02); returns the manifest
    (layer, file, grid_layer, crs) in load order."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = []

    def geo(frame: gpd.GeoDataFrame, name: str, layer: str, headers: dict, **extra) -> None:
        table = frame.rename(columns=headers).to_crs(4326)
        table.to_file(out / name, layer=Path(name).stem, driver="GPKG")
        manifest.append({"layer": layer, "file": name, **extra})

    geo(city.communities, "communities.gpkg", "community", {"code": "社区编码", "name": "社区名称"})
    for name, grid in city.grids.items():
        geo(grid, f"{name}.gpkg", "grid", {"code": "网格编码", "name": "网格名称"}, grid_layer=name)
    compounds = city.compounds.rename(columns={"code": "小区编码", "name": "小区名称"}).to_crs(4326)

    def to_gcj(coords):
        x, y = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    compounds = compounds.set_geometry(shapely.transform(compounds.geometry.values, to_gcj))
    compounds = compounds.set_crs(None, allow_override=True)
    compounds.to_file(out / "compounds_gcj02.gpkg", layer="compounds", driver="GPKG")
    manifest.append({"layer": "compound", "file": "compounds_gcj02.gpkg", "crs": "gcj02"})
    # the footprints go byte for byte as mapped (invalid ones, unreadable ones and all)
    write_buildings(out / "buildings.gpkg", city.buildings["row"].to_numpy())
    manifest.append({"layer": "building", "file": "buildings.gpkg"})
    members = city.members.to_crs(4326)
    pd.DataFrame(
        {
            "党员编号": members["code"],
            "姓名": [f"党员{i}" for i in range(len(members))],
            "党员类别": members["category"],
            "在职党员": "否",
            "已报到": "否",
            "经度": members.geometry.x.round(7),
            "纬度": members.geometry.y.round(7),
        }
    ).to_csv(out / "members.csv", index=False, encoding="utf-8-sig")
    manifest.append({"layer": "member", "file": "members.csv"})
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    return manifest
