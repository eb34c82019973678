"""A seeded synthetic city for the benchmarks, at any size, built with vectorised shapely.

Communities are a grid of blocks; each is split into Party grid cells; each cell holds compounds
inset from the streets, each compound a row of buildings. The departmental grid is drawn on other
lines (jittered cells that do not follow compounds) so the overlay has real work to do; some Party
cells are drawn a few metres off so that checks find overlaps and gaps. All in EPSG:4326.

With ``irregular=True`` nothing is a rectangle: every coordinate goes through one smooth warp of
the plane (streets curve by up to ~25 m over a few hundred metres; shared borders stay shared),
every building is turned by its own angle, and each Party and departmental grid cell is
digitised on its own — its own vertex spacing (8–20 m), every vertex off by centimetres to
decimetres — so that neighbours never share a vertex and every shared border is a pair of
nearly-coincident lines, as in real offices' layers.

    from benchmarks.synthcity import city_at, make_city
    city = make_city(seed=0)            # 100 communities, 2,000 grids, 200,000 buildings …
    small = city_at(0.1, seed=0)        # a tenth of that, 100,000 members, 10 stations
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import shapely

METRIC = "EPSG:4544"
ORIGIN = pyproj.Transformer.from_crs(4326, METRIC, always_xy=True).transform(104.0, 30.5)


def _frame(columns: dict, geoms, crs=METRIC) -> gpd.GeoDataFrame:
    moved = shapely.transform(np.asarray(geoms, dtype=object), lambda c: c + np.array(ORIGIN))
    return gpd.GeoDataFrame(columns, geometry=moved, crs=crs).to_crs(4326)


def _split(n: int) -> tuple[int, int]:
    """The factor pair of ``n`` closest to a square (so that counts come out exact)."""
    cols = max(c for c in range(1, math.isqrt(n) + 1) if n % c == 0)
    return cols, n // cols


def make_city(
    seed: int = 0,
    n_communities: int = 100,
    n_grids: int = 2000,
    n_dept: int = 3000,
    n_compounds: int = 20000,
    n_buildings: int = 200000,
    n_members: int = 0,
    outside_share: float = 0.03,
    irregular: bool = False,
) -> dict[str, gpd.GeoDataFrame]:
    """The city as layer frames: community, grid_party, grid_dept, compound, building, member."""
    rng = np.random.default_rng(seed)
    cc, cr = _split(n_communities)
    gpc = max(1, n_grids // n_communities)  # grid cells per community
    gc, gr = _split(gpc)
    kpg = max(1, n_compounds // (n_communities * gpc))  # compounds per grid cell
    kc, kr = _split(kpg)
    bpk = max(1, n_buildings // (n_communities * gpc * kpg))  # buildings per compound
    cell_w, cell_h = 60.0 * kc * 3, 50.0 * kr * 3
    comm_w, comm_h = cell_w * gc, cell_h * gr

    ci, cj = np.divmod(np.arange(cc * cr)[:n_communities], cr)
    communities = shapely.box(ci * comm_w, cj * comm_h, (ci + 1) * comm_w, (cj + 1) * comm_h)
    community_codes = np.array([f"C{k:04d}" for k in range(n_communities)])

    k = np.arange(n_communities * gc * gr)
    comm, rest = np.divmod(k, gc * gr)
    gi, gj = np.divmod(rest, gr)
    gx, gy = ci[comm] * comm_w + gi * cell_w, cj[comm] * comm_h + gj * cell_h
    # a few cells drawn a little off (overlaps and gaps for the checks to find)
    off = rng.random(len(k)) < 0.05
    jitter = np.where(off, rng.uniform(-6, 6, len(k)), 0.0)
    grids = shapely.box(gx, gy, gx + cell_w + jitter, gy + cell_h)
    grid_codes = np.array([f"G{n:05d}" for n in k])

    m = np.arange(len(k) * kc * kr)
    cell, rest = np.divmod(m, kc * kr)
    ki, kj = np.divmod(rest, kr)
    kw, kh = cell_w / kc, cell_h / kr
    kx, ky = gx[cell] + ki * kw + 8, gy[cell] + kj * kh + 8
    compounds = shapely.box(kx, ky, kx + kw - 16, ky + kh - 16)
    compound_codes = np.array([f"X{n:06d}" for n in m])

    b = np.arange(len(m) * bpk)
    owner, slot = np.divmod(b, bpk)
    rows = max(1, round(math.sqrt(bpk / 2)))
    per_row = math.ceil(bpk / rows)
    bw = (kw - 16 - 10) / per_row - 4
    bh = (kh - 16 - 10) / rows - 6
    bi, bj = np.divmod(slot, rows)
    bx = kx[owner] + 5 + bi * (bw + 4) + rng.uniform(-1, 1, len(b))
    by = ky[owner] + 5 + bj * (bh + 6) + rng.uniform(-1, 1, len(b))
    buildings = shapely.box(bx, by, bx + bw, by + bh)

    extent = shapely.box(0, 0, comm_w * cc, comm_h * cr)
    dc, dr = _split(n_dept)
    dxs = np.linspace(0, comm_w * cc, dc + 1) + np.r_[0, rng.uniform(-20, 20, dc - 1), 0]
    dys = np.linspace(0, comm_h * cr, dr + 1) + np.r_[0, rng.uniform(-20, 20, dr - 1), 0]
    di, dj = np.meshgrid(np.arange(dc), np.arange(dr), indexing="ij")
    dept = shapely.box(dxs[di.ravel()], dys[dj.ravel()], dxs[di.ravel() + 1], dys[dj.ravel() + 1])
    dept = shapely.intersection(dept, extent)

    if irregular:
        shape = _Irregular(rng)
        communities = shape.drawn(communities, step=25.0)
        grids = shape.drawn(grids, step=14.0, noise=0.05, rng=rng)
        dept = shape.drawn(dept, step=14.0, noise=0.3, rng=rng)
        compounds = shape.drawn(compounds, step=12.0, noise=0.02, rng=rng)
        buildings = shape.turned(buildings, rng.uniform(-25, 25, len(buildings)))

    city = {
        "community": _frame(
            {"code": community_codes, "name": [f"社区{c}" for c in community_codes]}, communities
        ),
        "grid_party": _frame({"code": grid_codes, "community_code": community_codes[comm]}, grids),
        "grid_dept": _frame({"code": [f"D{n:05d}" for n in range(len(dept))]}, dept),
        "compound": _frame(
            {"code": compound_codes, "community_code": community_codes[comm[cell]]}, compounds
        ),
        "building": _frame(
            {
                "code": [f"B{n:07d}" for n in b],
                "households": rng.integers(6, 40, len(b)),
                "compound_code": compound_codes[owner],
            },
            buildings,
        ),
    }
    if n_members:
        city["member"] = _members(rng, n_members, buildings, outside_share)
    return city


class _Irregular:
    """The warp shared by every layer, and each cell's own digitising (see the module doc)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.phase = rng.uniform(0, 2 * np.pi, 4)

    def warp(self, xy: np.ndarray) -> np.ndarray:
        x, y, p = xy[:, 0], xy[:, 1], self.phase
        dx = 16 * np.sin(2 * np.pi * y / 900 + p[0]) + 8 * np.sin(2 * np.pi * (x + y) / 430 + p[1])
        dy = 16 * np.sin(2 * np.pi * x / 1100 + p[2]) + 8 * np.sin(2 * np.pi * (x - y) / 510 + p[3])
        return xy + np.column_stack([dx, dy])

    def drawn(self, geoms, step: float, noise: float = 0.0, rng=None) -> np.ndarray:
        """Densified (its own spacing per geometry when ``noise``), warped, each vertex off by
        ``noise`` m (a function of the point and of the geometry: a ring stays closed)."""
        geoms = np.asarray(geoms, dtype=object)
        spacing = rng.uniform(0.6 * step, 1.4 * step, len(geoms)) if noise else step
        dense = shapely.segmentize(geoms, spacing)
        xy, owner = shapely.get_coordinates(dense, return_index=True)
        xy = self.warp(xy)
        if noise:
            salt = rng.uniform(0, 1000, (len(geoms), 2))[owner]
            u = np.sin(xy @ np.array([[12.9898, 39.346], [78.233, 11.135]]) + salt) * 43758.5453
            u -= np.floor(u)
            r = np.sqrt(-2 * np.log(np.clip(u[:, 0], 1e-12, 1))) * noise
            xy = xy + np.column_stack(
                [r * np.cos(2 * np.pi * u[:, 1]), r * np.sin(2 * np.pi * u[:, 1])]
            )
        out = shapely.set_coordinates(dense.copy(), xy)
        broken = ~shapely.is_valid(out)
        if broken.any():  # a GIS saves valid polygons: what a drawing crossed is made valid
            fixed = shapely.make_valid(out[broken])
            out[broken] = [
                max(shapely.get_parts(g), key=lambda p: p.area) if g.geom_type != "Polygon" else g
                for g in fixed
            ]
        return out

    def turned(self, geoms, degrees: np.ndarray) -> np.ndarray:
        """Each geometry turned about its centre by its own angle, then warped."""
        geoms = np.asarray(geoms, dtype=object)
        xy, owner = shapely.get_coordinates(geoms, return_index=True)
        centre = shapely.get_coordinates(shapely.centroid(geoms))[owner]
        a = np.radians(degrees)[owner]
        d = xy - centre
        rotated = centre + np.column_stack(
            [d[:, 0] * np.cos(a) - d[:, 1] * np.sin(a), d[:, 0] * np.sin(a) + d[:, 1] * np.cos(a)]
        )
        return shapely.set_coordinates(geoms.copy(), self.warp(rotated))


def city_at(
    scale: float = 1.0, seed: int = 0, members: int | None = None, irregular: bool = False
) -> dict[str, gpd.GeoDataFrame]:
    """The benchmarks' city at ``scale`` (1.0: 100 communities, 2,000 Party and 3,000
    departmental grid cells, 20,000 compounds, 200,000 buildings), with ``members`` member points
    (``None``: 1,000,000 × ``scale``; 0: none) and one Party service station (党群服务站) per
    community; ``irregular``: real-like shapes (see the module doc).

    >>> city = city_at(0.01, seed=1, members=0)
    >>> len(city["building"]), len(city["station"])
    (2000, 1)
    """
    if members is None:
        members = int(1_000_000 * scale)
    city = make_city(
        seed,
        n_communities=max(1, int(100 * scale)),
        n_grids=max(1, int(2000 * scale)),
        n_dept=max(1, int(3000 * scale)),
        n_compounds=max(1, int(20000 * scale)),
        n_buildings=max(1, int(200000 * scale)),
        n_members=members,
        irregular=irregular,
    )
    city["station"] = stations_of(city["community"])
    return city


def stations_of(communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One Party service station per community, at a point inside it."""
    codes = communities["code"]
    return gpd.GeoDataFrame(
        {"code": [f"S{c}" for c in codes], "name": [f"党群服务站{c}" for c in codes]},
        geometry=shapely.point_on_surface(communities.geometry.values),
        crs=communities.crs,
    )


def _members(rng, n: int, buildings: np.ndarray, outside_share: float) -> gpd.GeoDataFrame:
    home = rng.integers(0, len(buildings), n)
    x0, y0, x1, y1 = shapely.bounds(buildings[home]).T
    u, v = rng.random(n), rng.random(n)
    x, y = x0 + u * (x1 - x0), y0 + v * (y1 - y0)
    away = rng.random(n) < outside_share
    x[away] += rng.choice([-1, 1], away.sum()) * rng.uniform(3, 60, away.sum()) + (x1 - x0)[away]
    category = np.where(rng.random(n) < 0.87, "full", "probationary")
    return _frame(
        {"code": [f"M{k:07d}" for k in range(n)], "category": category}, shapely.points(x, y)
    )
