"""Grid proposals (自动划分网格方案) saved as draft plans: ``gridmap propose`` and the editor's 自动划分
button. Not the branch proposals of the analysis (支部组建建议, :mod:`gridmap.core.branches`).

Reads communities, compounds, buildings and the stored unit fabric (单元底图) from the store, runs
:func:`gridmap.core.propose.propose_grids` on that fabric in a metric CRS, and saves the cells as a
new draft plan of the Party grid layer, so a planner starts from it in the editor. Each cell is the
dissolve of fabric units, so the plan opens in paint mode with exactly the proposal's assignment
(without a stored fabric, one is made from the layers as ``gridmap integrate`` would). What could
not be satisfied comes back with the plan (and is written into the plan's note).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from gridmap.config import Settings
from gridmap.crs import metric_crs_for
from gridmap.errors import NotFoundError
from gridmap.layers import STORAGE_CRS
from gridmap.store.db import connect, transaction
from gridmap.store.fabric import read_fabric
from gridmap.store.features import read_features
from gridmap.store.plans import create_plan


@dataclass
class ProposedGridPlan:
    """A grid proposal stored as a draft plan, with what it could not satisfy."""

    plan_id: int
    cells: int
    problems: pd.DataFrame
    assignment: pd.DataFrame  # unit_code, cell_code: the fabric unit of each cell


def propose_grid_plan(engine: Engine, settings: Settings, *, name: str, author: str,
                      community: str | None = None, grid_layer: str = "party", seed: int = 0) -> ProposedGridPlan:  # fmt: skip
    """Propose grids for every community (or one) and store them as a draft plan."""
    from gridmap.core.cell_geometry import in_storage_crs
    from gridmap.core.propose import propose_grids

    with connect(engine) as conn:
        communities = read_features(conn, "community")
        if community and not (communities["code"] == community).any():
            raise NotFoundError(f"没有社区 {community}。", f"No community {community}.")
        compounds = read_features(conn, "compound")
        buildings = read_features(conn, "building")
        fabric = read_fabric(conn)
    if communities.empty:
        raise NotFoundError("还没有社区图层，请先导入社区。", "No communities yet; load the community layer first.")  # fmt: skip
    crs = metric_crs_for(communities)
    result = propose_grids(
        compounds.to_crs(crs), buildings.to_crs(crs), communities.to_crs(crs),
        floor=settings.grid_households_min, ceiling=settings.grid_households_max, seed=seed,
        community=community,  # every community still decides where straddling compounds go
        fabric=in_storage_crs(fabric, crs) if len(fabric) else None,
    )  # fmt: skip
    cells = result.cells.to_crs(STORAGE_CRS)
    note = f"自动划分 {settings.grid_households_min}–{settings.grid_households_max} 户；问题 {len(result.problems)} 项"  # fmt: skip
    with transaction(engine) as conn:
        plan_id = create_plan(conn, name, grid_layer, author, cells=cells[["code", "name", "community_code", "geometry"]], note=note)  # fmt: skip
    assignment = pd.DataFrame(result.units[["code", "cell_code"]].to_numpy(), columns=["unit_code", "cell_code"])  # fmt: skip
    return ProposedGridPlan(plan_id, len(cells), result.problems, assignment)
