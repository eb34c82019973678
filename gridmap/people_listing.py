"""Who serves a place (服务人员), as the map's panel and the coordinator's contact list show it.

Pure functions of the staff roster (one row per person and post, ``places`` the ";"-joined codes
served): the posts serving some place codes, in the roster's order of posts, each with its title
(Chinese and English), the holder's name — masked (张*明) unless the reader may see personal
data there —, the public duty phone (值班电话, for everyone), whether a Party member, since when in
post and whether its term has run out (换届提醒); the personal phone only with ``personal``.
A compound also shows its property company (物业服务企业: its Party organisation and the
党建指导员 sent to it) and its owners' committee (业主委员会), :func:`compound_property`.

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
from gridmap.people_layers import COMMITTEE_ORGS, PROPERTY_ORGS, STAFF_ROLES
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


PROPERTY_ORGS_EN = {"yes": "its own Party organisation", "joint": "a joint Party organisation",
                    "none": "no Party organisation"}  # fmt: skip
COMMITTEE_ORGS_EN = {"branch": "Party branch", "functional": "functional Party branch",
                     "joint": "joint Party branch", "none": "none"}  # fmt: skip
PROPERTY_READ = ("name", "compounds", "employees", "party_members", "party_org", "has_instructor")
COMMITTEE_READ = ("name", "compound_code", "members", "party_members", "cross_serving", "party_org")


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _org(value, zh: dict, en: dict) -> dict:
    key = _text(value)
    return {"party_org": key, "party_org_zh": zh.get(key) if key else None,
            "party_org_en": en.get(key) if key else None}  # fmt: skip


def compound_property(
    compound: str,
    firms: pd.DataFrame,
    committees: pd.DataFrame,
    staff: pd.DataFrame,
    *,
    personal: bool,
    today: date,
    term_years: float,
) -> dict:
    """The property companies serving ``compound`` and its owners' committees, as the panel
    shows them: a company's name, employees and Party members, its Party organisation (单独建立
    ``yes`` / 联合建立 ``joint`` / 未建立 ``none``, 红色物业 when ``yes`` or ``joint``) and the
    党建指导员 the roster sends to it (posts as :func:`post_of`, names masked unless
    ``personal``; the column 派驻党建指导员 when the roster names none); a committee's members,
    Party members, members also in the 社区"两委" (交叉任职), its Party organisation and the posts
    naming it.

    >>> firms = pd.DataFrame({"code": ["WY1"], "name": ["东篱物业"], "compounds": ["K1;K2"],
    ...     "employees": [30], "party_members": [2], "party_org": ["joint"], "has_instructor": [None]})
    >>> staff = pd.DataFrame({"code": ["R1"], "name": ["李四清"], "role": ["instructor"],
    ...     "places": ["WY1"], "duty_phone": ["100-8800-0002"]})
    >>> out = compound_property("K2", firms, pd.DataFrame(), staff, personal=False,
    ...                         today=date(2026, 12, 1), term_years=5)
    >>> firm = out["property"][0]
    >>> firm["red"], firm["instructors"][0]["name"], firm["instructors"][0]["duty_phone"]
    (True, '李*清', '100-8800-0002')
    """
    kw = {"personal": personal, "today": today, "term_years": term_years}
    sent = staff[staff["role"] == "instructor"] if len(staff) else staff
    out: dict = {"property": [], "owners_committee": []}
    for firm in firms.to_dict("records") if len(firms) else []:
        if compound not in _codes(firm.get("compounds")):
            continue
        org = _org(firm.get("party_org"), PROPERTY_ORGS, PROPERTY_ORGS_EN)
        flag = firm.get("has_instructor")
        out["property"].append({
            "code": firm["code"], "name": _text(firm.get("name")),
            "employees": _count(firm.get("employees")), "party_members": _count(firm.get("party_members")),
            **org, "red": org["party_org"] in ("yes", "joint"),
            "has_instructor": None if flag is None or pd.isna(flag) else bool(flag),
            "instructors": posts_serving(sent, {firm["code"]}, **kw),
        })  # fmt: skip
    mine = committees[committees["compound_code"] == compound] if len(committees) else committees
    for row in mine.to_dict("records"):
        out["owners_committee"].append({
            "code": row["code"], "name": _text(row.get("name")),
            "members": _count(row.get("members")), "party_members": _count(row.get("party_members")),
            "cross_serving": _count(row.get("cross_serving")),
            **_org(row.get("party_org"), COMMITTEE_ORGS, COMMITTEE_ORGS_EN),
            "posts": posts_serving(staff, {row["code"]}, **kw),
        })  # fmt: skip
    return out
