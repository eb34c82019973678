"""The invariants on generated irregular shapes: concave communities, Voronoi grids digitised
independently (every vertex jittered, borders centimetres to metres apart, no shared vertices),
concave compounds; and random rings for the repair on import."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from realgeom.corpus import digitise

from gridmap.config import Settings
from gridmap.core.cell_geometry import in_storage_crs
from gridmap.core.unified_grid import unified_grid
from gridmap.io.geometry import repair_geometries
from gridmap.io.write import write_frame

S = Settings()
CRS = 4544  # CGCS2000 3-degree zone 105°E: Chengdu


def star(rng: np.random.Generator, centre, r_min: float, r_max: float, n: int):
    """A concave polygon: ``n`` vertices at sorted random angles and random radii."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = rng.uniform(r_min, r_max, n)
    ring = np.column_stack([np.cos(angles) * radii, np.sin(angles) * radii]) + centre
    return shapely.make_valid(shapely.Polygon(ring)).buffer(0)


def voronoi_in(area, rng: np.random.Generator, k: int) -> list:
    x0, y0, x1, y1 = area.bounds
    seeds = shapely.multipoints(np.column_stack([rng.uniform(x0, x1, k), rng.uniform(y0, y1, k)]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=area.envelope.buffer(50)))
    return [c for c in shapely.intersection(cells, area) if c.area > 1.0]


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=CRS)


@st.composite
def irregular_subdistrict(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centre = np.array([407_000.0, 3_393_000.0])
    outline = star(rng, centre, 150, 400, draw(st.integers(7, 14)))
    communities = voronoi_in(outline, rng, draw(st.integers(1, 3)))
    cells = voronoi_in(outline, rng, draw(st.integers(3, 12)))
    noise = draw(st.sampled_from([0.01, 0.05, 0.3, 1.5]))
    drawn = [digitise(c, rng, shift_m=noise, noise_m=noise / 3, step_m=(2.0, 12.0)) for c in cells]
    if draw(st.booleans()) and len(drawn) > 2:  # a hole where nobody drew a cell
        drawn[0] = shapely.difference(drawn[0], star(rng, shapely.get_coordinates(
            shapely.point_on_surface(drawn[0]))[0], 5, 25, 7))  # fmt: skip
    compounds = []
    for _ in range(draw(st.integers(0, 6))):
        home = communities[int(rng.integers(len(communities)))]
        spot = shapely.get_coordinates(shapely.point_on_surface(home))[0] + rng.normal(0, 40, 2)
        shape = shapely.intersection(star(rng, spot, 8, 35, 9), home)
        shape = shapely.make_valid(shape)
        parts = [p for p in shapely.get_parts(shape) if p.geom_type == "Polygon"]
        shape = max(parts, key=lambda p: p.area) if parts else None
        if (
            shape is not None
            and shape.area > 60
            and not any(shape.intersects(c) for c in compounds)
        ):
            compounds.append(shape)
    return (
        frame([f"C{i}" for i in range(len(communities))], communities, name="社区"),
        frame([f"G{i:02d}" for i in range(len(drawn))], drawn),
        frame([f"X{i}" for i in range(len(compounds))], compounds),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=irregular_subdistrict())
def test_unified_grid_invariants_on_independently_digitised_irregular_grids(case, tmp_path_factory):
    communities, base, compounds = case
    cells, _ = unified_grid(communities, compounds, base, S)
    assert cells.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert cells.is_valid.all() and (cells.area > S.gap_tolerance_m2).all()
    for code, community in zip(communities["code"], communities.geometry.values, strict=True):
        covered = shapely.union_all(cells.geometry.values[cells["community_code"] == code])
        assert shapely.symmetric_difference(covered, community).area < 1e-4 * community.area
    left, right = cells.sindex.query(cells.geometry.values, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(
        shapely.intersection(
            cells.geometry.values[left[pairs]], cells.geometry.values[right[pairs]]
        )
    )
    assert overlap.max(initial=0.0) <= S.overlap_tolerance_m2
    for compound in compounds.geometry.values:
        shares = shapely.area(shapely.intersection(cells.geometry.values, compound))
        assert (shares > S.overlap_tolerance_m2).sum() == 1
    stored = in_storage_crs(cells)
    assert stored.is_valid.all()
    path = write_frame(stored, tmp_path_factory.mktemp("u") / "u.geojson", "geojson", "unified")
    kinds = {f["geometry"]["type"] for f in json.loads(path.read_text())["features"]}
    assert kinds <= {"Polygon", "MultiPolygon"}


@st.composite
def scribbles(draw):
    """Rings as a careless hand draws them: random points, repeated, crossing, collapsing."""
    n = draw(st.integers(1, 12))
    points = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=n, max_size=n))
    scale = draw(st.sampled_from([1e-4, 1e-9, 1e-6]))
    coords = [(104.0 + x * scale, 30.0 + y * scale) for x, y in points]
    kind = draw(st.sampled_from(["polygon", "multipolygon", "collection"]))
    ring = [*coords, coords[0]] if len(coords) >= 3 else coords
    if len(ring) < 4:
        return shapely.LineString(ring) if len(ring) >= 2 else shapely.Point(ring[0])
    polygon = shapely.Polygon(ring)
    if kind == "polygon":
        return polygon
    if kind == "multipolygon":
        return shapely.MultiPolygon(
            [polygon, shapely.Polygon([(x + 3 * scale, y) for x, y in ring])]
        )
    return shapely.GeometryCollection([polygon, shapely.LineString(ring[:2])])


@settings(max_examples=150, deadline=None)
@given(st.lists(scribbles(), min_size=1, max_size=8))
def test_repair_on_import_gives_valid_polygons_or_a_row_problem_for_every_row(geoms):
    rows = np.arange(2, len(geoms) + 2)
    out, _, problems = repair_geometries(np.array(geoms, dtype=object), "polygon", rows)
    bad = {p.row for p in problems}
    for row, geom in zip(rows, out, strict=True):
        if row in bad:
            assert geom is None
        else:
            assert geom.geom_type == "MultiPolygon" and geom.is_valid and not geom.is_empty
            assert geom.area > 0
    assert all(p.field == "geometry" and p.reason_zh and p.reason_en for p in problems)
