"""Automatic grid proposal (自动划分网格建议): the fabric's units grouped into grids of 300–500
households, and what could not be satisfied, with why.

:func:`propose_grids` (:mod:`~gridmap.core.propose.grids`) runs the steps community by community,
each in a module of its own:

- :mod:`~gridmap.core.propose.regions`: max-p regions that reach the household floor;
- :mod:`~gridmap.core.propose.balance`: cells out of the band balanced into it (均衡);
- :mod:`~gridmap.core.propose.fabric`: the proposal on the stored unit fabric (单元底图);
- :mod:`~gridmap.core.propose.problems`: the problem kinds, notes and their messages.

The units, their territories, the ceiling's cuts and the overlay tolerances are shared with the
unit fabric (:mod:`gridmap.core.fabric`) and live below both, in :mod:`gridmap.core.tiling`.
The tuning constants and the problem kinds are importable from here, where callers look for them.
"""

from gridmap.core.propose.grids import GridProposal, propose_grids
from gridmap.core.propose.problems import PROBLEM_COLUMNS, PROBLEM_KINDS
from gridmap.core.propose.regions import IMPROVE_SWEEPS, MAXP_CONSTRUCTIONS
from gridmap.core.tiling.ceiling import SPLIT_TREES
from gridmap.core.tiling.geometry import DUST_M2, FUZZ_M
from gridmap.core.tiling.territories import JITTER_M, MIN_BORDER_M, SAMPLE_SPACING_M, SMOOTHING_M

__all__ = [
    "DUST_M2",
    "FUZZ_M",
    "IMPROVE_SWEEPS",
    "JITTER_M",
    "MAXP_CONSTRUCTIONS",
    "MIN_BORDER_M",
    "PROBLEM_COLUMNS",
    "PROBLEM_KINDS",
    "SAMPLE_SPACING_M",
    "SMOOTHING_M",
    "SPLIT_TREES",
    "GridProposal",
    "propose_grids",
]
