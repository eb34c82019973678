"""Findings read with names first and codes second (名称在前, 编号在后).

The checks of ``core`` write their messages with codes (they see one layer at a time);
:func:`with_names` gives each finding the name of the place it is about and rewrites every code
of a named place in its messages as ``玉林社区（510199001005）``, so that a coordinator reads the
places by their names everywhere a finding is shown: popups, lists, reports, exports. Members are
never named: a finding about a member keeps the member's code (personal data).

Examples
--------
>>> from shapely import Point
>>> from gridmap.core.gaps import Gap, make_gaps
>>> g = make_gaps([Gap("compound_without_org", "compound", "XQ1", "", 55, "households",
...                    "小区 XQ1 有 55 户，没有任何党支部覆盖", "Compound XQ1 is covered by no branch",
...                    Point(104, 30))])
>>> named = with_names(g, {"compound": {"XQ1": "玉林雅居"}})
>>> named["name"][0], named["message_zh"][0]
('玉林雅居', '小区玉林雅居（XQ1）有 55 户，没有任何党支部覆盖')
>>> named["message_en"][0]
'Compound 玉林雅居 (XQ1) is covered by no branch'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import geopandas as gpd

# the layers whose places are named in findings, in the order a code shared by two is read
NAMED_LAYERS = (
    "community",
    "grid",
    "compound",
    "building",
    "org",
    "station",
    "property",
    "owners_committee",
)
# a code as the checks write it, with the Chinese word for its layer that may stand before it
# a code in brackets is named already: naming twice changes nothing
_CODE = r"(?<![A-Za-z0-9_.（(-])([A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)"
_ZH = re.compile(r"(?:(社区|网格|小区|楼栋|服务站) ?)?" + _CODE + " ?")
_EN = re.compile(_CODE)


def _is_code(token: str, names: Mapping[str, str]) -> bool:
    # a short number is a count or a measure even where a place happens to be coded so
    return token in names and not (token.isdigit() and len(token) < 6)


def name_text_zh(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each code of a named place as 名称（编号）; lists joined by 、.

    >>> name_text_zh("相邻网格: DJ1;DJ2;DJ3", {"DJ1": "一网格", "DJ2": "二网格"})
    '相邻网格: 一网格（DJ1）、二网格（DJ2）、DJ3'
    >>> name_text_zh(name_text_zh("网格 DJ1 有 5 户", {"DJ1": "一网格"}), {"DJ1": "一网格"})
    '一网格（DJ1）有 5 户'
    """

    def named(m: re.Match) -> str:
        word, code = m.group(1) or "", m.group(2)
        if not _is_code(code, names):
            return m.group(0)
        name = names[code]
        return f"{'' if word and word in name else word}{name}（{code}）"

    # the checks join lists with ";", which reads as 、 in Chinese
    return _ZH.sub(named, text).replace(";", "、")


def name_text_en(text: str, names: Mapping[str, str]) -> str:
    """``text`` with each code of a named place as ``name (code)``.

    >>> name_text_en("next to: DJ1;DJ2", {"DJ1": "一网格"})
    'next to: 一网格 (DJ1);DJ2'
    >>> name_text_en(name_text_en("grid DJ1", {"DJ1": "一网格"}), {"DJ1": "一网格"})
    'grid 一网格 (DJ1)'
    """
    return _EN.sub(lambda m: f"{names[m[1]]} ({m[1]})" if _is_code(m[1], names) else m[0], text)


def place_names(named: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """One code → name map of the layers' places (empty names left out; the first layer of
    :data:`NAMED_LAYERS` holding a code names it)."""
    out: dict[str, str] = {}
    for layer in reversed(NAMED_LAYERS):
        for code, name in (named.get(layer) or {}).items():
            if isinstance(name, str) and name.strip() and code is not None:
                out[str(code)] = name.strip()
    return out


def with_names(gaps: gpd.GeoDataFrame, named: Mapping[str, Mapping[str, str]]) -> gpd.GeoDataFrame:
    """The findings with the names of their places (``name`` where it was empty) and their
    messages naming every named place they mention (see the module's example).

    ``named`` maps a layer of :data:`NAMED_LAYERS` (every grid layer under ``"grid"``) to its
    code → name. Findings about members keep their codes and no name.
    """
    names = place_names(named)
    out = gaps.copy()
    if not len(out) or not names:
        return out
    own = out["code"].astype(str).map(names)
    members = out["layer"].astype(str).eq("member")
    empty = out["name"].isna() | out["name"].astype(str).str.strip().eq("")
    fill = empty & own.notna() & ~members
    out.loc[fill, "name"] = own[fill]
    out["message_zh"] = [name_text_zh(str(t), names) for t in out["message_zh"].fillna("")]
    out["message_en"] = [name_text_en(str(t), names) for t in out["message_en"].fillna("")]
    return out


def names_of(frames: Mapping[str, object]) -> dict[str, dict[str, str]]:
    """The code → name maps of layer frames (a frame, a list of frames or ``None`` per layer)
    that have ``code`` and ``name`` columns."""
    out: dict[str, dict[str, str]] = {}
    for layer, given in frames.items():
        for frame in given if isinstance(given, list | tuple) else [given]:
            if frame is None or "code" not in frame or "name" not in frame:
                continue
            pairs = frame[["code", "name"]].dropna()
            codes, texts = pairs["code"].astype(str), pairs["name"].astype(str)
            out.setdefault(layer, {}).update(zip(codes, texts, strict=True))
    return out
