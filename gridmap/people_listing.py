"""Who serves a place (服务人员), as the map's panel and the coordinator's contact list show it.

Pure functions of the staff roster (one row per person and post, ``places`` the ";"-joined codes
served): the posts serving some place codes, in the roster's order of posts, each with its title
(Chinese and English), the holder's name — masked (张*明) unless the reader may see personal
data there —, the public duty phone (值班电话, for everyone), whether a Party member, since when in
post and whether its term has run out (换届提醒); the personal phone only with ``personal``.

Examples
--------
>>> import pandas as pd
>>> staff = pd.DataFrame({"code": ["R1"], "name": ["张三明"], "phone": ["10012345678"],
...     "role": ["secretary"], "places": ["B1;G1"], "party_member": [True],
...     "took_post": ["2019-03-01"], "duty_phone": ["100-8800-0001"]})
>>> post = posts_serving(staff, {"G1"}, personal=False, today=date(2026, 12, 1), term_years=5)[0]
>>> post["name"], post["duty_phone"], post["term_due"], "phone" in post
('张*明', '100-8800-0001', True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from gridmap.core.staffing import TERM_POSTS, _codes, _party_years
from gridmap.people_layers import STAFF_ROLES
from gridmap.permissions import mask_name

STAFF_READ = ("name", "phone", "role", "places", "party_member", "took_post", "duty_phone")
CONTACT_HEADERS = {"role_zh": "职务", "places": "服务地点", "name": "姓名",
                   "duty_phone": "值班电话", "phone": "手机"}  # fmt: skip


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def serving(staff: pd.DataFrame, codes: Iterable[str]) -> pd.DataFrame:
    """The rows of ``staff`` naming one of ``codes`` among the places they serve, in the
    roster's order of posts (网格长 first), then by code."""
    codes = set(codes)
    if staff.empty or not codes:
        return staff.iloc[:0]
    mine = staff[[bool(codes.intersection(_codes(p))) for p in staff["places"]]]
    order = {role: i for i, role in enumerate(STAFF_ROLES)}
    return mine.assign(_o=mine["role"].map(order)).sort_values(["_o", "code"]).drop(columns="_o")


def term_due(role: str, took_post, today: date, term_years: float) -> bool:
    """Whether an elected post (书记, 副书记, 支委, 两委) has been held longer than the term."""
    held = _party_years(_text(took_post), today) if role in TERM_POSTS else None
    return held is not None and held > term_years


def post_of(row: dict, *, personal: bool, today: date, term_years: float) -> dict:
    """One post as the API gives it (the personal phone only with ``personal``)."""
    name = _text(row.get("name"))
    party = row.get("party_member")
    post = {
        "code": row["code"],
        "role": row["role"],
        "role_zh": STAFF_ROLES.get(row["role"], row["role"]),
        "role_en": str(row["role"]).replace("_", " "),
        "name": name if personal else mask_name(name),
        "duty_phone": _text(row.get("duty_phone")),
        "party_member": None if party is None or pd.isna(party) else bool(party),
        "took_post": _text(row.get("took_post")),
        "term_due": term_due(row["role"], row.get("took_post"), today, term_years),
        "places": _codes(row.get("places")),
    }
    if personal:
        post["phone"] = _text(row.get("phone"))
    return post


def posts_serving(staff: pd.DataFrame, codes: Iterable[str], *, personal: bool, today: date, term_years: float) -> list[dict]:  # fmt: skip
    """The posts serving any of ``codes`` (see the module)."""
    rows = serving(staff, codes).to_dict("records")
    return [post_of(r, personal=personal, today=today, term_years=term_years) for r in rows]


def contact_table(posts: list[dict], labels: dict[str, str], *, phones: bool) -> pd.DataFrame:
    """The contact list (通讯录) of ``posts``: 职务, 服务地点 (each place named first, code after,
    only those in ``labels`` — the reader's area), 姓名, 值班电话 and, with ``phones``, 手机."""
    columns = [c for c in CONTACT_HEADERS if phones or c != "phone"]
    rows = [
        {**p, "places": "、".join(labels[c] for c in p["places"] if c in labels)} for p in posts
    ]
    table = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return table.rename(columns=CONTACT_HEADERS)
