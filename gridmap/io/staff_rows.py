"""Rows of a staff roster that cannot stand (花名册行检查), found before anything is written.

A post that only a Party member can hold (书记, 支委, 党小组长, 党员中心户, 党建指导员 …) held by
someone the roster calls a non-member, and the same person listed twice for the same post at the
same place. Messages name rows, never people: the roster's names are personal data.

Examples
--------
>>> import numpy as np, pandas as pd
>>> f = pd.DataFrame({"name": ["甲", "甲"], "phone": ["10012345678"] * 2,
...                   "role": ["secretary", "secretary"], "places": ["B1", "B1;B2"],
...                   "party_member": pd.array([True, False], dtype="boolean")})
>>> [(p.row, p.field) for p in staff_row_problems(f, np.array([2, 3]))]
[(3, 'party_member'), (3, 'role')]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap.errors import RowProblem
from gridmap.people_layers import MEMBER_POSTS, STAFF_ROLES


def _column(frame: pd.DataFrame, name: str) -> list:
    if name not in frame:
        return [None] * len(frame)
    values = frame[name].astype(object)
    return values.where(values.notna(), None).tolist()


def _non_members_in_member_posts(frame: pd.DataFrame, rows: np.ndarray) -> list[RowProblem]:
    out = []
    for row, role, member in zip(rows, _column(frame, "role"), _column(frame, "party_member"), strict=True):  # fmt: skip
        if role in MEMBER_POSTS and member is False:
            title = STAFF_ROLES[role]
            out.append(RowProblem(int(row), "party_member",
                                  f"{title}须由党员担任，此行“是否党员”为否",
                                  f"a {role} must be a Party member; this row says not a member"))  # fmt: skip
    return out


def _same_person_same_post(frame: pd.DataFrame, rows: np.ndarray) -> list[RowProblem]:
    """The second row of a person (name and phone) in a post at a place already listed."""
    seen: dict[tuple, int] = {}
    out = []
    columns = [_column(frame, c) for c in ("name", "phone", "role", "places")]
    for row, name, phone, role, places in zip(rows, *columns, strict=True):
        if name is None or role is None:
            continue
        for place in str(places or "").split(";"):
            key = (name, phone, role, place)
            if key in seen:
                first = seen[key]
                out.append(RowProblem(int(row), "role",
                                      f"与第 {first} 行是同一人担任同一职务 ({STAFF_ROLES[role]}，{place})",
                                      f"the same person holds the same post ({role}, {place}) in row {first}"))  # fmt: skip
                break
            seen[key] = int(row)
    return out


def staff_row_problems(frame: pd.DataFrame, rows: np.ndarray) -> list[RowProblem]:
    """Every row of a read staff roster that breaks a rule, in row order."""
    problems = _non_members_in_member_posts(frame, rows) + _same_person_same_post(frame, rows)
    return sorted(problems, key=lambda p: (p.row, p.field or ""))
