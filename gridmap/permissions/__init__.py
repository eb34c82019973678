"""Permissions (权限): may this account do this action, or see this data, on this place?

One package answers every such question, as pure functions with no database and no web framework
(the routes' dependencies in :mod:`gridmap.api.security` and the readers call them):

- :mod:`~gridmap.permissions.roles`: the roles, the actions each may do (``Principal.may``) and
  the refusal's wording;
- :mod:`~gridmap.permissions.areas`: an account's area and whether a unit, a place, a shape or
  the rows of a frame lie in it;
- :mod:`~gridmap.permissions.decisions`: the table of kinds of data × in the area or not × role
  → shown, masked or refused, with the rules derived from it (member gaps, notice boards);
- :mod:`~gridmap.permissions.masks`: what a masked name, phone or address reads.

The accounts themselves (passwords, tokens, sessions) live in :mod:`gridmap.auth`; reading an
area's outline from the database in :mod:`gridmap.store.areas`.
"""

from gridmap.permissions.areas import (
    Area,
    Level,
    holds_place,
    holds_shape,
    in_area,
    may_see_unit,
    outside_area,
)
from gridmap.permissions.decisions import (
    PERSONAL_LAYERS,
    RULES,
    Decision,
    board_names_shown,
    decide,
    hidden_gap_layers,
)
from gridmap.permissions.masks import MASKS, mask_address, mask_name, mask_phone
from gridmap.permissions.roles import ACTIONS, PERMISSIONS, ROLES, Principal, denied

__all__ = [
    "ACTIONS",
    "MASKS",
    "PERMISSIONS",
    "PERSONAL_LAYERS",
    "ROLES",
    "RULES",
    "Area",
    "Decision",
    "Level",
    "Principal",
    "board_names_shown",
    "decide",
    "denied",
    "hidden_gap_layers",
    "holds_place",
    "holds_shape",
    "in_area",
    "mask_address",
    "mask_name",
    "mask_phone",
    "may_see_unit",
    "outside_area",
]
