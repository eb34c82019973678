"""A seeded synthetic city for the benchmarks, at any size, built with vectorised shapely.

Communities are a grid of blocks; each is split into Party grid cells; each cell holds compounds
inset from the streets, each compound a row of buildings. The departmental grid is drawn on other
lines (jittered cells that do not follow compounds) so the overlay has real work to do; some Party
cells are drawn a few metres off so that checks find overlaps and gaps. All in EPSG:4326.

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


def city_at(
    scale: float = 1.0, seed: int = 0, members: int | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """The benchmarks' city at ``scale`` (1.0: 100 communities, 2,000 Party and 3,000
    departmental grid cells, 20,000 compounds, 200,000 buildings), with ``members`` member points
    (``None``: 1,000,000 × ``scale``; 0: none) and one Party service station (党群服务站) per
    community.

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
