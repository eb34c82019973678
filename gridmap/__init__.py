"""gridmap — 党建引领基层治理网格 GIS.

Unified grids (多网合一), Party organisation coverage (两个覆盖) and gaps (留白) for
subdistricts and communities.
"""

__version__ = "0.1.0"
