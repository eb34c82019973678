"""A community tiled by its units: what the unit fabric (单元底图, :mod:`gridmap.core.fabric`)
and the automatic grid proposal (:mod:`gridmap.core.propose`) are both built on.

- :mod:`~gridmap.core.tiling.units`: compounds and clusters of loose buildings as units (划分单元);
- :mod:`~gridmap.core.tiling.territories`: the community partitioned among its units (辖区) and
  who borders whom;
- :mod:`~gridmap.core.tiling.ceiling`: groups of units above the household ceiling cut in two or
  lightened;
- :mod:`~gridmap.core.tiling.geometry`: the overlay tolerances and the fast union they share.

Nothing here imports the fabric or the proposal (``tests/test_architecture.py``): they build on
it, not it on them.
"""
