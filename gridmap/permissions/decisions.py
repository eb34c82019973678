"""May this account see this kind of data about this place? Shown, masked or refused.

Every reader asks the same table, by the kind of data and whether the place lies in the
account's area (:mod:`gridmap.permissions.areas`; admins: everywhere):

=============== ================= ========================== ========================
kind            outside the area  in it, role without        in it, role with
                                  personal data               personal data
=============== ================= ========================== ========================
figures         refused (404)     shown                      shown
member          refused (404)     masked (counts only)       shown
member_gaps     refused (404)     masked (counts only)       shown
staff           refused (404)     masked (张*明)             shown
board_names     masked (张*明)    masked (张*明)             shown
personal_export refused (403)     refused (403)              shown
=============== ================= ========================== ========================

A member's gap is drawn at their home and names them (在职党员未报到), so it is personal data
like the member. A notice board (网格公示牌) is for every account that may view, so a board
outside the area is shown with the names masked rather than refused.

Examples
--------
>>> coordinator, planner = Principal("c", "coordinator", "C1"), Principal("p", "planner", "C1")
>>> decide(coordinator, "member", inside=True), decide(planner, "member", inside=True)
('shown', 'masked')
>>> decide(coordinator, "member", inside=False), decide(coordinator, "board_names", inside=False)
('refused', 'masked')
>>> hidden_gap_layers(planner), hidden_gap_layers(coordinator)
(['member', 'staff'], [])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from shapely.geometry.base import BaseGeometry

from gridmap.layers import LAYERS
from gridmap.permissions.areas import Area, holds_shape
from gridmap.permissions.roles import Principal

Decision = Literal["shown", "masked", "refused"]
# kind of data: (outside the area, in it without personal data, in it with personal data)
RULES: dict[str, tuple[Decision, Decision, Decision]] = {
    "figures": ("refused", "shown", "shown"),
    "member": ("refused", "masked", "shown"),
    "member_gaps": ("refused", "masked", "shown"),
    "staff": ("refused", "masked", "shown"),
    "board_names": ("masked", "masked", "shown"),
    "personal_export": ("refused", "refused", "shown"),
}
PERSONAL_LAYERS = tuple(name for name, spec in LAYERS.items() if spec.personal_fields)
"""The layers whose features are people (members, staff): never a map layer, never listed one
by one to a role that may not see personal data."""


def decide(principal: Principal, data: str, *, inside: bool) -> Decision:
    """What ``principal`` gets of ``data`` (a kind of :data:`RULES`) about a place that lies in
    their area (``inside``) or not; an account that may not view gets nothing."""
    if data not in RULES:
        raise ValueError(f"unknown kind of data {data}")
    if not principal.may("view"):
        return "refused"
    outside, without, with_personal = RULES[data]
    if not (inside or principal.everywhere):
        return outside
    return with_personal if principal.may("personal") else without


def hidden_gap_layers(principal: Principal) -> list[str]:
    """Layers whose gaps a role sees only as counts (``member_gaps`` masked): a member's gap is
    drawn at their home and names them, so only roles that may see personal data get it one
    by one."""
    shown = decide(principal, "member_gaps", inside=True) == "shown"
    return [] if shown else list(PERSONAL_LAYERS)


def board_names_shown(principal: Principal, area: Area | None) -> Callable[[BaseGeometry], bool]:
    """The notice boards' rule: given a grid's outline, whether its board shows the names of the
    people serving it (``board_names`` shown) or masks them."""

    def shown(shape: BaseGeometry) -> bool:
        return decide(principal, "board_names", inside=holds_shape(area, shape)) == "shown"

    return shown
