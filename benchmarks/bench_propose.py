"""Grid proposal benchmark: ``propose_grids`` on one community of 2,000 compounds vs bare spopt.

Seeded synthetic community (``benchmarks/synthcity.py``: one community, 2,000 compounds on a
lattice with 16 m roads between them, 6,000 buildings of 6–39 households). Measured in one run, in
one process, each round timed with ``time.perf_counter``:

- gridmap: ``gridmap.core.propose.propose_grids`` (units, territories, adjacency, max-p regions
  with the ceiling, cuts, cell geometry, codes, problems);
- peer: ``spopt.region.MaxPHeuristic`` alone on the same units (gridmap's territories and
  households), with rook weights from ``libpysal.weights.Rook.from_dataframe`` (timed apart), the
  same floor, centroids as attributes, ``MAXP_CONSTRUCTIONS`` constructions and one annealing
  round (spopt's cheapest setting; its defaults, 99 and 10, take many minutes here).

Besides time: the number of cells, how many are above the ceiling, and the dispersion of each
solution (sum of squared distances of unit centroids to their cell's centroid, km²; smaller is
more compact).

    .venv/bin/python benchmarks/bench_propose.py [--rounds 3] [--compounds 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthcity import make_city
from gridmap.core.propose import MAXP_CONSTRUCTIONS, propose_grids
from gridmap.crs import metric_crs_for


def dispersion(labels: np.ndarray, xy: np.ndarray) -> float:
    """Sum of squared distances of unit centroids to their region's centroid, in km²."""
    _, labels = np.unique(labels, return_inverse=True)
    count = np.bincount(labels)
    centre = np.stack([np.bincount(labels, xy[:, d]) / count for d in (0, 1)], 1)
    return float(((xy - centre[labels]) ** 2).sum()) / 1e6


def ours(layers: dict, floor: int, ceiling: int, seed: int):
    start = time.perf_counter()
    result = propose_grids(layers["compound"], layers["building"], layers["community"],
                           floor=floor, ceiling=ceiling, seed=seed)  # fmt: skip
    return time.perf_counter() - start, result


def spopt_alone(units, floor: int, seed: int) -> tuple[float, float, np.ndarray]:
    """Rook weights and MaxPHeuristic on gridmap's units: (weights s, solve s, labels)."""
    import libpysal
    from spopt.region import MaxPHeuristic

    table = units[["households", "geometry"]].reset_index(drop=True)
    xy = shapely.get_coordinates(shapely.centroid(table.geometry.values))
    table["x"], table["y"] = xy[:, 0], xy[:, 1]
    start = time.perf_counter()
    w = libpysal.weights.Rook.from_dataframe(table, use_index=False, silence_warnings=True)
    weights = time.perf_counter() - start
    model = MaxPHeuristic(table, w, ["x", "y"], "households", floor,
                          max_iterations_construction=MAXP_CONSTRUCTIONS, max_iterations_sa=1)  # fmt: skip
    np.random.seed(seed)
    start = time.perf_counter()
    model.solve()
    return weights, time.perf_counter() - start, np.asarray(model.labels_)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--compounds", type=int, default=2000)
    parser.add_argument("--floor", type=int, default=300)
    parser.add_argument("--ceiling", type=int, default=500)
    args = parser.parse_args()
    n = args.compounds
    city = make_city(args.seed, n_communities=1, n_grids=max(1, n // 20), n_dept=1,
                     n_compounds=n, n_buildings=3 * n)  # fmt: skip
    crs = metric_crs_for(city["community"])
    layers = {k: city[k].to_crs(crs) for k in ("community", "compound", "building")}
    mine, peers, weights = [], [], []
    for _ in range(args.rounds):
        took, result = ours(layers, args.floor, args.ceiling, args.seed)
        w_took, solve, labels = spopt_alone(result.units, args.floor, args.seed)
        mine.append(took)
        peers.append(solve)
        weights.append(w_took)
    units = result.units.reset_index(drop=True)
    xy = shapely.get_coordinates(shapely.centroid(units.geometry.values))
    hh = units["households"].to_numpy()
    spopt_sums = np.bincount(np.unique(labels, return_inverse=True)[1], hh)
    ratios = [m / p for m, p in zip(mine, peers, strict=True)]
    print(f"one community: {len(layers['compound']):,} compounds, {len(layers['building']):,} buildings, "
          f"{int(hh.sum()):,} households; floor {args.floor}, ceiling {args.ceiling}; {args.rounds} rounds\n")  # fmt: skip
    print("| step | median | min–max |")
    print("|---|---|---|")
    print(f"| gridmap propose_grids (whole) | {statistics.median(mine):.1f} s | {min(mine):.1f}–{max(mine):.1f} s |")  # fmt: skip
    print(f"| spopt MaxPHeuristic.solve alone ({MAXP_CONSTRUCTIONS} constructions, 1 annealing round) | {statistics.median(peers):.1f} s | {min(peers):.1f}–{max(peers):.1f} s |")  # fmt: skip
    print(f"| libpysal Rook weights for spopt | {statistics.median(weights):.1f} s | {min(weights):.1f}–{max(weights):.1f} s |")  # fmt: skip
    print(f"| ratio gridmap / spopt solve | {statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}× |\n")  # fmt: skip
    cells = result.cells
    print("| solution | cells | above ceiling | below floor | dispersion (km²) |")
    print("|---|---|---|---|---|")
    print(f"| gridmap | {len(cells)} | {(cells['households'] > args.ceiling).sum()} | "
          f"{(cells['households'] < args.floor).sum()} | "
          f"{dispersion(units['cell_code'].to_numpy(), xy):.1f} |")  # fmt: skip
    print(f"| spopt | {len(spopt_sums)} | {(spopt_sums > args.ceiling).sum()} | "
          f"{(spopt_sums < args.floor).sum()} | {dispersion(labels, xy):.1f} |")  # fmt: skip
    print(f"\nproblems reported by gridmap: {len(result.problems)}")


if __name__ == "__main__":
    main()
