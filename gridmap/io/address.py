"""Chinese home addresses (住址) → compound name, building, unit and room, offline.

Rosters name where members live as offices write it: "紫阳花园3栋2单元501室",
"武昌区首义路街道紫阳花园3号楼2-501", "紫阳花园三栋二单元501", or "3-2-501" with the compound in
another column. 栋, 号楼, 幢, 座 and 号 all mean a building (楼栋); 单元 a stairwell; the last number
is the room, whose leading digits are the floor (楼层). Everything here is pure text work: which
compound and building the text names is decided by :mod:`gridmap.core.geocode`.

Examples
--------
>>> a = parse_address("武昌区首义路街道紫阳花园３号楼2-501")
>>> a.subdistrict, a.compound, a.building, a.unit, a.room, a.floor
('首义路街道', '紫阳花园', '3', 2, '501', 5)
>>> parse_address("紫阳花园十二栋二单元1502室").building, parse_address("枫林苑B座1201").building
('12', 'B')
>>> parse_parts("紫阳花园", None, "3-2-501").building
'3'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields

import pandas as pd

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}  # fmt: skip
_NUMERAL = "零〇一二两三四五六七八九十百"
# a Chinese number right before a building, stairwell or phase word is a number, not a name
_NUMERAL_BEFORE = re.compile(rf"([{_NUMERAL}]+)(?=号楼|栋|幢|座|单元|号|楼|期)")
_BUILDING_WORD = r"(?:号楼|栋|幢|座|号|楼|#)"
_TAIL = re.compile(
    rf"(?:第?(?P<building>\d+|[A-Z])(?:{_BUILDING_WORD})"
    r"(?:(?P<unit>\d+)(?:单元|-))?(?:(?P<room>\d+)(?:室|号|房)?)?"
    r"|(?P<b>\d+|[A-Z])-(?P<u>\d+)-(?P<r>\d+)(?:室|号|房)?)$"
)
_PARTS = re.compile(r"^(?:(?P<b>\d+|[A-Z])-)?(?P<r>\d+)(?:室|号|房)?$")
_BUILDING_ONLY = re.compile(rf"^第?(?P<b>\d+|[A-Z])(?:{_BUILDING_WORD})?$")
_PREFIXES = (
    ("district", re.compile(r"^(?:.{1,6}?省)?(?:.{1,6}?市)?.{1,6}?(?:区|县|市)(?!域)")),
    ("subdistrict", re.compile(r"^.{1,10}?(?:街道办事处|街道办|街道|镇|乡)")),
    ("community", re.compile(r"^.{1,10}?(?:社区居委会|社区居民委员会|社区|村委会)")),
)
_SPACES = re.compile(r"\s+")
_DASHES = re.compile(r"[‐‑‒–—―－~～]")
_NOT_DISTRICT = ("小区", "社区", "园区", "校区", "片区")
_NAME_NOISE = re.compile(r"[\s()（）\[\]【】〔〕<>《》·•.,，、'\"“”‘’_]")


@dataclass(frozen=True)
class ParsedAddress:
    """What an address says, each part ``None`` where it says nothing.

    ``place`` is the whole normalised text before the building (prefixes included): the matcher
    falls back to it when the prefixes were cut in the wrong place.
    """

    compound: str | None = None
    building: str | None = None
    unit: int | None = None
    room: str | None = None
    floor: int | None = None
    district: str | None = None
    subdistrict: str | None = None
    community: str | None = None
    place: str | None = None


def chinese_number(text: str) -> int | None:
    """``'三'`` → 3, ``'十二'`` → 12, ``'二十三'`` → 23, ``'一百零五'`` → 105; ``None`` if not one.

    >>> [chinese_number(t) for t in ("三", "十", "十二", "二十", "一〇五", "x")]
    [3, 10, 12, 20, 105, None]
    """
    if not text or any(c not in _NUMERAL for c in text):
        return None
    if "十" not in text and "百" not in text:
        return int("".join(str(_DIGITS[c]) for c in text))  # 一〇五 read digit by digit
    total, current = 0, 0
    for c in text:
        if c in _DIGITS:
            current = _DIGITS[c]
        else:
            total += (current or 1) * (10 if c == "十" else 100)
            current = 0
    return total + current


def normalise(text: object) -> str:
    """Full-width digits and letters to ASCII, spaces out, letters upper-case, 一二三 → 123
    before a building, stairwell or phase word, dashes of every kind to ``-``."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = str(text)
    if not unicodedata.is_normalized("NFKC", s):  # the check is much cheaper than the fold
        s = unicodedata.normalize("NFKC", s)
    s = _DASHES.sub("-", _SPACES.sub("", s.upper()))
    if _NUMERAL_BEFORE.search(s) is None:
        return s
    return _NUMERAL_BEFORE.sub(lambda m: str(chinese_number(m.group(1)) or m.group(1)), s)


def name_key(name: object) -> str:
    """The form in which compound names are compared: normalised, no brackets or punctuation.

    >>> name_key("紫阳花园 (二期)") == name_key("紫阳花园2期")
    True
    """
    return _NAME_NOISE.sub("", normalise(name))


def building_key(value: object) -> str | None:
    """A building number as compared: ``'03'`` → ``'3'``, ``'b'`` → ``'B'``, ``'3号楼'`` → ``'3'``."""
    m = _BUILDING_ONLY.match(normalise(value))
    if m is None:
        return None
    b = m.group("b")
    return str(int(b)) if b.isdigit() else b


def _floor(room: str | None) -> int | None:
    return int(room[:-2]) if room and len(room) >= 3 and room[:-2].isdigit() else None


def _strip_prefixes(place: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {"district": None, "subdistrict": None, "community": None}
    rest = place
    for part, pattern in _PREFIXES:
        m = pattern.match(rest)
        # a prefix never takes the whole text, and a 小区 or 社区 is no district
        if m is None or len(m.group(0)) == len(rest):
            continue
        if part != "district" or not m.group(0).endswith(_NOT_DISTRICT):
            found[part] = m.group(0)
            rest = rest[len(m.group(0)) :]
    found["compound"] = rest or None
    return found


def parse_address(text: object) -> ParsedAddress:
    """One address as written → its parts (see the module's examples)."""
    s = normalise(text)
    if not s:
        return ParsedAddress()
    m = _TAIL.search(s)
    if m is None:
        place, building, unit, room = s, None, None, None
    else:
        place = s[: m.start()]
        building = m.group("building") or m.group("b")
        unit_text = m.group("unit") or m.group("u")
        room = m.group("room") or m.group("r")
        building = str(int(building)) if building.isdigit() else building
        unit = int(unit_text) if unit_text else None
    parts = _strip_prefixes(place) if place else {"compound": None}
    return ParsedAddress(
        compound=parts.get("compound"),
        building=building,
        unit=unit,
        room=room,
        floor=_floor(room),
        district=parts.get("district"),
        subdistrict=parts.get("subdistrict"),
        community=parts.get("community"),
        place=place or None,
    )


def parse_parts(
    compound: object, building: object = None, room: object = None, unit: object = None
) -> ParsedAddress:
    """An address kept in separate columns: compound name, building number, room, stairwell.

    The room column may carry the building too ("3-2-501", "3栋2单元501"); a building or unit
    column, when given, wins. "2-501" is unit and room when there is a building column, else
    building and room.

    >>> p = parse_parts("紫阳花园", "3号楼", "2-501")
    >>> p.compound, p.building, p.unit, p.room
    ('紫阳花园', '3', 2, '501')
    """
    place = normalise(compound)
    from_room = _room_parts(normalise(room), has_building=bool(normalise(building)))
    b = building_key(building) or from_room.get("building")
    unit_text = re.fullmatch(r"第?(\d+)(?:单元)?", normalise(unit))
    parts = _strip_prefixes(place) if place else {"compound": None}
    return ParsedAddress(
        compound=parts.get("compound"),
        building=b,
        unit=int(unit_text.group(1)) if unit_text else from_room.get("unit"),
        room=from_room.get("room"),
        floor=_floor(from_room.get("room")),
        district=parts.get("district"),
        subdistrict=parts.get("subdistrict"),
        community=parts.get("community"),
        place=place or None,
    )


def _room_parts(text: str, has_building: bool) -> dict:
    if not text:
        return {}
    full = _TAIL.fullmatch(text)
    if full is not None:
        parsed = parse_address(text)
        return {"building": parsed.building, "unit": parsed.unit, "room": parsed.room}
    unit_room = re.fullmatch(r"(?:(?P<u>\d+)单元)?(?P<r>\d+)(?:室|号|房)?", text)
    if unit_room is not None:
        u = unit_room.group("u")
        return {"unit": int(u) if u else None, "room": unit_room.group("r")}
    m = _PARTS.match(text)
    if m is None:
        return {}
    b, u, r = m.group("b"), None, m.group("r")
    if b is not None and u is None and has_building:
        b, u = None, b  # "2-501" beside a building column: stairwell 2, room 501
    return {
        "building": (str(int(b)) if b.isdigit() else b) if b else None,
        "unit": int(u) if u else None,
        "room": r,
    }


def parse_many(
    addresses: pd.Series | None = None,
    compounds: pd.Series | None = None,
    buildings: pd.Series | None = None,
    rooms: pd.Series | None = None,
    units: pd.Series | None = None,
) -> pd.DataFrame:
    """Parse an address column, or compound/building/room/unit columns; each distinct value once.

    A row with anything in the separate columns is read from them, else from its address.
    One column per field of :class:`ParsedAddress`, on the index of the columns given.

    >>> parse_many(pd.Series(["紫阳花园3栋", None]), pd.Series([None, "枫林苑"]),
    ...            rooms=pd.Series([None, "2-1-301"]))[["compound", "building", "unit"]].values.tolist()
    [['紫阳花园', '3', None], ['枫林苑', '2', 1]]
    """
    given = [s for s in (addresses, compounds, buildings, rooms, units) if s is not None]
    if not given:
        raise ValueError("parse_many needs at least one column")
    index = given[0].index

    def cells(s: pd.Series | None) -> list:
        if s is None:
            return [None] * len(index)
        return [v if _present(v) else None for v in s.astype(object)]

    columns_given = (addresses, compounds, buildings, rooms, units)
    rows = list(zip(*(cells(s) for s in columns_given), strict=True))
    parsed: dict[tuple, ParsedAddress] = {}
    for key in dict.fromkeys(rows):
        has_parts = any(v is not None for v in key[1:])
        parsed[key] = parse_parts(*key[1:]) if has_parts else parse_address(key[0])
    columns = [f.name for f in fields(ParsedAddress)]
    as_rows = {k: tuple(vars(p).values()) for k, p in parsed.items()}  # fields in order
    table = [as_rows[k] for k in rows]
    return pd.DataFrame(table, index=index, columns=columns, dtype=object)


def _present(value: object) -> bool:
    if value is None or (isinstance(value, float) and value != value):
        return False
    return str(value).strip() != ""
