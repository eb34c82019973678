"""Addresses → buildings, against gridmap's own compounds and buildings (地址落位, offline).

A roster names where a member lives ("紫阳花园3栋2单元501室"); this module finds the compound by
its name (exactly, by an alias or former name, or by a close spelling), then the building by its
number inside that compound, and hands back the building's representative point. Every row gets
the rule that matched and a confidence; an ambiguous or failed match keeps its reason and the
closest candidates and is never placed. No outside geocoder, no network.

=========  ==========  ===========================================================
rule       confidence  when
=========  ==========  ===========================================================
code       high        the row names a building code (楼栋编号) that exists
exact      high        the compound's name or code, as written or ending the address
alias      high        one of the compound's aliases or former names (别名/曾用名)
fuzzy      medium      a close spelling, clearly closer to one compound than to any other
=========  ==========  ===========================================================

Examples
--------
>>> from shapely.geometry import box
>>> from gridmap.io.address import parse_many
>>> compounds = gpd.GeoDataFrame({"code": ["XQ1"], "name": ["紫阳花园"], "aliases": ["紫阳小区"]},
...     geometry=[box(0, 0, 1, 1)], crs="EPSG:4326")
>>> buildings = gpd.GeoDataFrame({"code": ["XQ1-03"], "name": ["紫阳花园3栋"],
...     "compound_code": ["XQ1"]}, geometry=[box(0, 0, 0.1, 0.1)], crs="EPSG:4326")
>>> parsed = parse_many(pd.Series(["紫阳小区三栋2单元501", "紫杨花园3栋", "紫阳花园9栋"]))
>>> m = match_addresses(parsed, compounds, buildings)
>>> m[["status", "rule", "confidence", "building_code"]].values.tolist()
[['matched', 'alias', 'high', 'XQ1-03'], ['matched', 'fuzzy', 'medium', 'XQ1-03'], ['unmatched', None, 'low', None]]
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rapidfuzz import fuzz, process

from gridmap.crs import metric_crs_for
from gridmap.io.address import building_key, name_key, normalise, parse_address
from gridmap.layers import STORAGE_CRS

CONFIDENCE = {"code": "high", "exact": "high", "alias": "high", "fuzzy": "medium"}
FUZZY_MIN_SCORE = 66.0  # one wrong character in a three-character name still reaches it
FUZZY_MIN_MARGIN = 15.0  # … and it must be this much closer than to the next compound
FUZZY_CHUNK = 2000  # query names scored at a time (memory: chunk × names × 4 bytes)
RESULT_COLUMNS = ["status", "rule", "confidence", "compound_code", "building_code",
                  "reason_zh", "reason_en", "candidates"]  # fmt: skip
ALIAS_SEPARATORS = re.compile(r"[;；,，、/|]")
_PLAIN_NUMBER = r"^(?P<prefix>.*?)(?P<number>\d+)(?:号楼|栋|幢|座)$"
_ADMIN_PREFIX = re.compile(
    r"(?:.{1,12}?(?:省|市|区|县|旗|街道办事处|街道办|街道|镇|乡|社区居委会|社区|村委会|村|路|街|巷|大道|号))+"
)


def compound_names(
    compounds: pd.DataFrame, communities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every name a compound answers to: ``key, compound_code, label, rule`` (exact | alias) and
    the key of the compound's community name (``""`` when unknown).

    Aliases come from an ``aliases`` column (``;``-separated) or, as stored, from
    ``properties["aliases"]``; codes answer too (rule ``exact``).
    """
    rows = []
    aliases = _aliases(compounds)
    for code, name, alias_text in zip(compounds["code"], compounds["name"], aliases, strict=True):
        rows.append((name_key(code), code, code, "exact"))
        if isinstance(name, str) and name_key(name):
            rows.append((name_key(name), code, name, "exact"))
        for alias in ALIAS_SEPARATORS.split(alias_text or ""):
            if name_key(alias):
                rows.append((name_key(alias), code, alias.strip(), "alias"))
    table = pd.DataFrame(rows, columns=["key", "compound_code", "label", "rule"])
    # a name that is also another compound's alias stays the name's
    table["order"] = (table["rule"] != "exact").astype(int)
    table = table.sort_values(["key", "order"]).drop_duplicates(["key", "compound_code"])
    community = _community_keys(compounds, communities)
    table["community"] = [community.get(c, "") for c in table["compound_code"]]
    return table.drop(columns="order").reset_index(drop=True)


def _community_keys(compounds: pd.DataFrame, communities: pd.DataFrame | None) -> dict:
    if communities is None or "community_code" not in compounds:
        return {}
    names = dict(zip(communities["code"], communities["name"].map(_community_key), strict=True))
    return {
        code: names.get(community, "")
        for code, community in zip(compounds["code"], compounds["community_code"], strict=True)
    }


def _aliases(compounds: pd.DataFrame) -> list[str | None]:
    if "aliases" in compounds:
        return [v if isinstance(v, str) else None for v in compounds["aliases"]]
    if "properties" in compounds:
        return [p.get("aliases") if isinstance(p, dict) else None for p in compounds["properties"]]
    return [None] * len(compounds)


def building_numbers(buildings: pd.DataFrame, compounds: pd.DataFrame) -> pd.DataFrame:
    """Each building's number inside its compound: ``compound_code, number, building_code``.

    The number comes from the building's name ("紫阳花园3栋", "3号楼", "B座", "3") and, when the
    name carries none, from the code ("XQ001-03" → 3).
    """
    names = dict(zip(compounds["code"], compounds["name"].map(normalise), strict=True))
    raw_names = dict(zip(compounds["code"], compounds["name"], strict=True))
    # the usual case in one vectorised pass: the compound's own name, a number, 栋/号楼/幢/座
    plain = buildings["name"].astype(object).str.extract(_PLAIN_NUMBER)
    prefix_ok = plain["prefix"].to_numpy() == buildings["compound_code"].map(raw_names).to_numpy()
    numbers = np.where(prefix_ok, plain["number"].str.lstrip("0").to_numpy(dtype=object), None)
    for i in np.flatnonzero(~prefix_ok | (numbers == "")):
        name, code = buildings["name"].iloc[i], buildings["code"].iloc[i]
        compound = buildings["compound_code"].iloc[i]
        numbers[i] = _building_number(name, code, names.get(compound), compound)
    return pd.DataFrame(
        {
            "compound_code": buildings["compound_code"].to_numpy(),
            "number": numbers,
            "building_code": buildings["code"].to_numpy(),
        }
    ).dropna(subset=["compound_code", "number"])


def _building_number(name, code, compound_name: str | None, compound_code) -> str | None:
    text = normalise(name)
    if compound_name and text.startswith(compound_name):
        text = text[len(compound_name) :]
    number = building_key(text) or (parse_address(text).building if text else None)
    if number is not None:
        return number
    code_text = normalise(code)
    if isinstance(compound_code, str) and code_text.startswith(normalise(compound_code)):
        return building_key(code_text[len(normalise(compound_code)) :].lstrip("-_"))
    tail = re.search(r"[-_](\d+|[A-Z])$", code_text)
    return building_key(tail.group(1)) if tail else None


def _suffix_match(place: str, known: set[str]) -> str | None:
    """The longest known name that ends ``place`` after prefixes the parser did not cut.

    What comes before the name must read as places (…区, …街道, …社区, …路12号): "秀锦绣花园"
    is a typo of some other compound, not 锦绣花园 with a prefix.
    """
    for start in range(1, len(place) - 1):
        if place[start:] in known and _ADMIN_PREFIX.fullmatch(place[:start]):
            return place[start:]
    return None


def _queries(parsed: pd.DataFrame) -> pd.DataFrame:
    """The texts that name a compound: its name, the whole place, the community (社区) prefix."""
    community = parsed["community"] if "community" in parsed else pd.Series(None, parsed.index)
    return pd.DataFrame(
        {"query": _keys(parsed["compound"]), "place": _keys(parsed["place"]),
         "community": _keys(community.map(_community_key, na_action="ignore"))},
        index=parsed.index,
    )  # fmt: skip


def _community_key(name: object) -> str:
    """锦绣社区, 锦绣社区居委会 and 锦绣 meet."""
    return re.sub(r"(社区居民委员会|社区居委会|居委会|社区|村委会|村)$", "", name_key(name))


def _resolve_compounds(parsed: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct (compound, place, community) text: the compound, or why not."""
    queries = _queries(parsed).drop_duplicates()
    known = set(names["key"])
    groups: dict[str, list[tuple]] = {}
    columns = ["key", "compound_code", "rule", "label", "community"]
    for row in names[columns].itertuples(index=False):
        groups.setdefault(row[0], []).append(row[1:])
    found = []
    for query, place in zip(queries["query"], queries["place"], strict=True):
        key = query if query in known else place if place in known else None
        key = key or (_suffix_match(place, known) if place else None)
        found.append(key)
    resolved = [
        _from_key(groups[k], community) if k is not None else None
        for k, community in zip(found, queries["community"], strict=True)
    ]
    pending = [i for i, r in enumerate(resolved) if r is None]
    fuzzy = _fuzzy(queries["query"].iloc[pending].tolist(), names)
    for i, result in zip(pending, fuzzy, strict=True):
        resolved[i] = result
    table = pd.DataFrame(resolved, columns=["compound_code", "rule", "reason", "candidates"])
    return pd.concat([queries.reset_index(drop=True), table], axis=1)


def _from_key(group: list[tuple], community: str) -> tuple:
    """One compound of this name, or the one in the community the address names, or ambiguity."""
    if len(group) > 1 and community:
        group = [g for g in group if g[3] == community] or group
    if len(group) == 1:
        return group[0][0], group[0][1], None, None
    return None, None, "same_name", _candidates([g[2] for g in group], [g[0] for g in group])


def _keys(values: pd.Series) -> pd.Series:
    """``name_key`` of each value, computed once per distinct value."""
    keys = {v: name_key(v) for v in values.dropna().unique()}
    return pd.Series([keys.get(v, "") for v in values], index=values.index, dtype=object)


def _candidates(labels, codes, scores=None) -> str:
    parts = []
    for i, (label, code) in enumerate(zip(labels, codes, strict=True)):
        score = f", {scores[i]:.0f}" if scores is not None else ""
        parts.append(f"{label} ({code}{score})" if label != code else f"{code}{score}")
    return "; ".join(parts)


def _fuzzy(queries: list[str], names: pd.DataFrame, top: int = 3) -> list[tuple]:
    """Close spellings, scored with rapidfuzz over the distinct names in chunks."""
    spelled = names[names["key"] != names["compound_code"].map(name_key)].reset_index(drop=True)
    choices = spelled["key"].tolist()
    codes = spelled["compound_code"].to_numpy()
    out: list[tuple] = []
    if not queries:
        return out
    if not choices:
        return [(None, None, "no_compound", None)] * len(queries)
    for start in range(0, len(queries), FUZZY_CHUNK):
        chunk = queries[start : start + FUZZY_CHUNK]
        scores = process.cdist(chunk, choices, scorer=fuzz.ratio, dtype=np.float32)
        k = min(len(choices), 12)
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, query in enumerate(chunk):
            order = best[row][np.argsort(-scores[row, best[row]], kind="stable")]
            out.append(_judge(query, order, scores[row], spelled, codes, top))
    return out


def _judge(query: str, order, scores, spelled: pd.DataFrame, codes, top: int) -> tuple:
    seen: dict[str, int] = {}
    for j in order:
        seen.setdefault(codes[j], j)
    picks = list(seen.values())
    labels = spelled["label"].to_numpy()[picks[:top]]
    candidates = _candidates(labels, codes[picks[:top]], scores[picks[:top]])
    if not query:
        return None, None, "no_compound_name", None
    first = scores[picks[0]]
    second = scores[picks[1]] if len(picks) > 1 else 0.0
    if first >= FUZZY_MIN_SCORE and first - second >= FUZZY_MIN_MARGIN:
        return codes[picks[0]], "fuzzy", None, candidates
    reason = "close_names" if first >= FUZZY_MIN_SCORE else "no_compound"
    return None, None, reason, candidates if first >= 40 else None


REASONS = {
    "no_address": ("住址为空", "the address is empty"),
    "no_compound_name": ("住址中没有小区名称", "the address names no compound"),
    "same_name": ("多个小区同名，无法确定是哪一个", "several compounds share this name"),
    "close_names": ("小区名称与多个小区相近，无法确定", "the name is close to several compounds"),
    "no_compound": ("没有名称相符的小区 (请核对小区名称，或在小区图层的“别名”列中补充)",
                    "no compound has this name (check it, or add it to the compound's 别名 column)"),
    "no_building_number": ("住址中没有楼栋号", "the address gives no building number"),
    "no_buildings": ("该小区还没有楼栋数据 (请先导入楼栋)", "the compound has no buildings yet"),
    "no_building": ("该小区没有这个楼栋号", "the compound has no building with this number"),
    "same_number": ("该小区有多栋楼用同一楼栋号", "several buildings of the compound carry this number"),
}  # fmt: skip
AMBIGUOUS = {"same_name", "close_names", "same_number"}


def match_addresses(
    parsed: pd.DataFrame,
    compounds: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    given_building_codes: pd.Series | None = None,
    communities: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Match parsed addresses (:func:`gridmap.io.address.parse_many`) to buildings.

    Two compounds of one name are told apart by the community the address names (锦绣社区…),
    when ``communities`` (``code``, ``name``) and the compounds' ``community_code`` are given.

    Returns one row per row of ``parsed`` (same index): ``status`` (matched | ambiguous |
    unmatched), ``rule``, ``confidence`` (high | medium | low), ``compound_code``,
    ``building_code``, ``reason_zh``/``reason_en`` and ``candidates`` where not matched, and the
    matched building's representative point as geometry (``None`` where not placed).
    """
    names = compound_names(compounds, communities)
    resolved = _resolve_compounds(parsed, names)
    rows = _queries(parsed).assign(number=parsed["building"].map(building_key))
    on = ["query", "place", "community"]
    rows = rows.reset_index(names="_index").merge(resolved, on=on, how="left")
    rows = _place_buildings(rows, building_numbers(buildings, compounds))
    rows.loc[rows["query"].eq("") & rows["place"].eq("") & rows["number"].isna(), "reason"] = (
        "no_address"
    )
    if given_building_codes is not None:
        _by_code(rows, given_building_codes.reindex(parsed.index).to_numpy(), buildings)
    return _finish(rows.set_index("_index"), buildings, parsed.index)


def _place_buildings(rows: pd.DataFrame, numbers: pd.DataFrame) -> pd.DataFrame:
    counts = numbers.groupby(["compound_code", "number"])["building_code"].agg(["first", "size"])
    key = pd.MultiIndex.from_arrays([rows["compound_code"], rows["number"]])
    hit = counts.reindex(key)
    has_compound = rows["compound_code"].notna().to_numpy()
    size = hit["size"].fillna(0).to_numpy()
    rows["building_code"] = np.where(has_compound & (size == 1), hit["first"].to_numpy(), None)
    failed = rows.loc[has_compound & (size != 1), "compound_code"].unique()
    listed = numbers[numbers["compound_code"].isin(failed)].groupby("compound_code")["number"]
    listed = listed.agg(_number_list) if len(failed) else pd.Series(dtype=object)
    known = rows["compound_code"].isin(numbers["compound_code"]).to_numpy()
    reason = rows["reason"].to_numpy(dtype=object).copy()
    no_number = has_compound & rows["number"].isna().to_numpy()
    reason[has_compound & ~no_number & (size == 0)] = "no_building"
    reason[has_compound & ~known] = "no_buildings"
    reason[no_number] = "no_building_number"
    reason[has_compound & (size > 1)] = "same_number"
    rows["reason"] = reason
    building_fail = has_compound & (size != 1)
    rows.loc[building_fail, "candidates"] = (
        rows.loc[building_fail, "compound_code"]
        .map(listed)
        .map(lambda v: f"该小区的楼栋号 numbers: {v}" if isinstance(v, str) else None)
    )
    rows.loc[building_fail, "rule"] = None
    return rows


def _number_list(numbers: pd.Series, limit: int = 20) -> str:
    ordered = sorted(set(numbers), key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n))
    more = " …" if len(ordered) > limit else ""
    return ", ".join(ordered[:limit]) + more


def _by_code(rows: pd.DataFrame, codes: np.ndarray, buildings: gpd.GeoDataFrame) -> None:
    """Rows that name an existing building code are placed there, whatever their address."""
    compound_of = dict(zip(buildings["code"], buildings["compound_code"], strict=True))
    hit = np.array([isinstance(c, str) and c in compound_of for c in codes], dtype=bool)
    rows.loc[hit, "building_code"] = codes[hit]
    rows.loc[hit, "compound_code"] = [compound_of[c] for c in codes[hit]]
    rows.loc[hit, ["rule", "reason", "candidates"]] = ["code", None, None]


def _finish(rows: pd.DataFrame, buildings: gpd.GeoDataFrame, index: pd.Index) -> gpd.GeoDataFrame:
    rows = rows.reindex(index)
    matched = rows["building_code"].notna().to_numpy()
    status = np.where(matched, "matched", "unmatched").astype(object)
    status[rows["reason"].isin(AMBIGUOUS).to_numpy() & ~matched] = "ambiguous"
    reasons = [
        r if isinstance(r, str) and not m else None
        for r, m in zip(rows["reason"], matched, strict=True)
    ]
    out = pd.DataFrame(
        {
            "status": status,
            "rule": _objects(rows["rule"], matched),
            "confidence": [
                CONFIDENCE[r] if m else "low" for r, m in zip(rows["rule"], matched, strict=True)
            ],
            "compound_code": _objects(rows["compound_code"], matched),
            "building_code": _objects(rows["building_code"], matched),
            "reason_zh": [REASONS[r][0] if r else None for r in reasons],
            "reason_en": [REASONS[r][1] if r else None for r in reasons],
            "candidates": _objects(rows["candidates"], ~matched),
        },
        index=index,
        dtype=object,
    )
    points = pd.Series(
        shapely.point_on_surface(buildings.geometry.to_crs(STORAGE_CRS).values),
        index=buildings["code"].to_numpy(),
    )
    points = points[~points.index.duplicated()]
    geometry = points.reindex(out["building_code"]).to_numpy()
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, index=index, crs=STORAGE_CRS))


def _objects(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    """Object values with ``None`` (never NaN) where missing or not kept."""
    array = values.to_numpy(dtype=object)
    return np.where(keep & pd.notna(array), array, None)


def placed(matches: pd.DataFrame) -> np.ndarray:
    """Rows whose match may place them: matched with high or medium confidence."""
    return (
        matches["status"].eq("matched") & matches["confidence"].isin(["high", "medium"])
    ).to_numpy()


def distances_m(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Metres between two aligned point series (NaN where either is missing)."""
    both = (a.notna() & b.notna() & ~a.is_empty & ~b.is_empty).to_numpy()
    out = np.full(len(a), np.nan)
    if both.any():
        crs = metric_crs_for(gpd.GeoDataFrame(geometry=a[both]))
        out[both] = a[both].to_crs(crs).distance(b[both].to_crs(crs), align=False).to_numpy()
    return out
