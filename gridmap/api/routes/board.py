"""``/board``: the 网格公示牌 of a grid (``?grid=``) or of every grid of a community
(``?community=``, one board per printed page), as the map's panel links to it.

Every account that may view gets the boards; the names of the people serving a grid are shown
only to roles that may see personal data, and only for grids in their area — the others read
them masked (张*明): the ``board_names`` rule of :mod:`gridmap.permissions`. A personal phone is
never on a board; the public duty phone always is. Boards with names shown are written to the
audit trail (which grids, how many people).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from gridmap.api.deps import ConnDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import AreaDep, PagePrincipalDep, require
from gridmap.store.db import transaction

router = APIRouter(include_in_schema=False, dependencies=[*CHECKED, require("view", page=True)])
Code = Annotated[str | None, Query(max_length=64)]


@router.get("/board", response_class=HTMLResponse)
def board(
    conn: ConnDep,
    principal: PagePrincipalDep,
    area: AreaDep,
    grid: Code = None,
    community: Code = None,
    size: Literal["A4", "A3"] = "A4",
) -> HTMLResponse:
    from gridmap.notice_boards import board_page, names_seen
    from gridmap.permissions import board_names_shown
    from gridmap.store.features import log_change

    show_names = board_names_shown(principal, area)
    page, boards = board_page(conn, grid, community, size, show_names)
    seen = names_seen(boards, show_names)
    if seen is not None:
        with transaction(conn.engine) as tx:
            log_change(tx, principal.name, "board_personal", "staff", seen)
    return HTMLResponse(page)
