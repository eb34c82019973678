"""Headers → canonical fields, and cell values → typed values, with a problem list per row.

Chinese headers (名称, 编号, 户数, 党员类别 …) are recognised through the aliases of
:mod:`gridmap.layers`; anything else is mapped with ``--field 源列=target``. Columns nobody maps
are kept, as given, in each feature's ``properties`` — and those that resemble a field (by
characters and by meaning: 物业有党组织 ~ 物业党组织, 楼号 ~ 楼栋编号) are reported as near misses
with the ``--field`` to use, as are the fields a check of the analysis needs and no column gave.

Examples
--------
>>> from gridmap.layers import LAYERS
>>> match_columns(["楼栋编号", "户数", "备注"], LAYERS["building"], {})
{'code': '楼栋编号', 'households': '户数'}
>>> [m.option for m in near_misses(["小区编码", "物业有党组织"], LAYERS["compound"], {"code": "小区编码"})]
['--field 物业有党组织=property_has_org']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from gridmap.errors import RowProblem, SchemaError
from gridmap.io.dates import parse_dates
from gridmap.layers import (
    CHECK_NEEDS,
    HEADER_SYNONYMS,
    LAT_ALIASES,
    LON_ALIASES,
    WKT_ALIASES,
    FieldSpec,
    LayerSpec,
)

MAX_NUMBER = 2**31 - 1  # households, floors, counts: PostgreSQL's integer


def normalise_header(header: str) -> str:
    """Fold width, case, spaces and brackets so that ``'户数 (户)'`` and ``'户数'`` meet."""
    text = unicodedata.normalize("NFKC", str(header)).strip().lower()
    text = re.sub(r"[(\[（【].*?[)\]）】]", "", text)
    return re.sub(r"[\s_\-:：]+", "", text)


def parse_field_options(options: Iterable[str]) -> dict[str, str]:
    """``["源列=target", …]`` → ``{"target": "源列"}``; malformed items are a :class:`SchemaError`."""
    mapping: dict[str, str] = {}
    for item in options:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise SchemaError(
                f"--field 的格式应为 源列=目标字段，收到 “{item}”。",
                f"--field must look like SOURCE=target; got '{item}'.",
            )
        mapping[target.strip()] = source.strip()
    return mapping


def _find(headers: list[str], aliases: Iterable[str], taken: set[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalise_header(h), h)
    for alias in aliases:
        h = by_norm.get(normalise_header(alias))
        if h is not None and h not in taken:
            return h
    return None


def match_columns(headers: list[str], spec: LayerSpec, explicit: dict[str, str]) -> dict[str, str]:
    """Map each canonical field of ``spec`` to a header; ``explicit`` (target → source) first.

    Raises :class:`SchemaError` naming the missing required fields and the file's columns.
    """
    unknown_targets = [t for t in explicit if t not in spec.field_names]
    if unknown_targets:
        raise SchemaError(
            f"--field 中的目标字段 {', '.join(unknown_targets)} 不属于图层 {spec.name}。"
            f"可用字段: {', '.join(spec.field_names)}。",
            f"Target field(s) {', '.join(unknown_targets)} are not fields of layer {spec.name}; "
            f"use one of: {', '.join(spec.field_names)}.",
        )
    missing_sources = [s for s in explicit.values() if s not in headers]
    if missing_sources:
        raise SchemaError(
            f"--field 指定的列 {', '.join(missing_sources)} 不在文件中。文件中的列: {', '.join(headers)}。",
            f"Column(s) {', '.join(missing_sources)} given in --field are not in the file. "
            f"The file's columns: {', '.join(headers)}.",
        )
    mapping = dict(explicit)
    taken = set(explicit.values())
    for f in spec.fields:
        if f.name in mapping:
            continue
        found = _find(headers, (f.name, f.label_zh, *f.aliases), taken)
        if found is not None:
            mapping[f.name] = found
            taken.add(found)
    missing = [f for f in spec.fields if f.required and f.name not in mapping]
    if missing:
        names_zh = "、".join(f"{f.label_zh} ({f.name})" for f in missing)
        wanted = {f.name for f in missing}
        hints = [m for m in near_misses(headers, spec, mapping) if m.field in wanted]
        hint_zh = "".join(f"列「{m.column}」与「{m.label_zh}」相近：{m.option}。" for m in hints)
        hint_en = "".join(f" Column {m.column} resembles {m.field}: {m.option}." for m in hints)
        raise SchemaError(
            f"缺少必需的列: {names_zh}。文件中的列: {', '.join(headers)}。{hint_zh}"
            f"如列名不同，请用 --field 源列={missing[0].name} 指定。",
            f"Missing required column(s): {', '.join(f.name for f in missing)}. The file's "
            f"columns: {', '.join(headers)}.{hint_en} Map another column with --field SOURCE="
            f"{missing[0].name}.",
        )
    return {f.name: mapping[f.name] for f in spec.fields if f.name in mapping}


def find_coordinate_columns(headers: list[str]) -> tuple[str | None, str | None, str | None]:
    """The longitude, latitude and WKT columns of a CSV table (any may be ``None``)."""
    lon = _find(headers, LON_ALIASES, set())
    lat = _find(headers, LAT_ALIASES, set())
    wkt = _find(headers, WKT_ALIASES, set())
    return lon, lat, wkt


# Near misses: how alike two headers must be (0–1) to be reported, and the shortest headers
# compared by characters at all (two characters that share one — 序号 ~ 编号, 姓名 ~ 名称 — are
# not alike; short headers count only when they mean the same by HEADER_SYNONYMS).
NEAR_MISS_SIMILARITY = 0.8
NEAR_MISS_MIN_CHARS = 3
_CANONICAL = {part: group[0] for group in HEADER_SYNONYMS for part in group}
_SYNONYM_PARTS = re.compile(
    "|".join(re.escape(part) for part in sorted(_CANONICAL, key=len, reverse=True))
)


def _canonical(normalised: str) -> str:
    """A normalised header with every synonym part in its canonical spelling (one pass)."""
    return _SYNONYM_PARTS.sub(lambda m: _CANONICAL[m.group(0)], normalised)


def header_similarity(a: str, b: str) -> float:
    """How alike two headers are (0–1), by characters and by meaning.

    1.0 when they are equal once normalised or once their synonym parts are made equal;
    otherwise the best Indel similarity of the headers, as given or with canonical parts,
    counted only where both are at least ``NEAR_MISS_MIN_CHARS`` long.

    >>> header_similarity("联系电话", "手机号码"), header_similarity("所在小区", "所属小区")
    (1.0, 1.0)
    >>> round(header_similarity("物业有党组织", "物业党组织"), 2), header_similarity("序号", "编号")
    (0.91, 0.0)
    """
    a, b = normalise_header(a), normalise_header(b)
    if not a or not b:
        return 0.0
    forms_a, forms_b = {a, _canonical(a)}, {b, _canonical(b)}
    if forms_a & forms_b:
        return 1.0
    scores = [
        fuzz.ratio(x, y) / 100
        for x in forms_a
        for y in forms_b
        if min(len(x), len(y)) >= NEAR_MISS_MIN_CHARS
    ]
    return max(scores, default=0.0)


def field_option(column: str, field: str) -> str:
    """The ``--field`` option that maps ``column`` onto ``field``, quoted where a shell needs it."""
    item = f"{column}={field}"
    if re.search(r"[\s\"'$`\\!*?;&|<>(){}\[\]#~]", item):
        item = '"' + re.sub(r'(["$`\\])', r"\\\1", item) + '"'
    return f"--field {item}"


@dataclass(frozen=True)
class NearMiss:
    """A column nobody mapped that resembles a field of the layer (近似列名)."""

    column: str
    field: str
    label_zh: str
    similarity: float

    @property
    def option(self) -> str:
        return field_option(self.column, self.field)

    def warning(self) -> str:
        return (
            f"列「{self.column}」未被使用，但与「{self.label_zh}」({self.field}) 相近；"
            f"如果是同一项，请加 {self.option} / column {self.column} was not used but resembles "
            f"{self.field} ({self.label_zh}); if it is that field, add {self.option}"
        )


def near_misses(headers: list[str], spec: LayerSpec, mapping: dict[str, str]) -> list[NearMiss]:
    """The unmapped columns that resemble an unmapped field of ``spec``, in the file's order.

    ``mapping`` is what :func:`match_columns` found (field → column). Coordinate and WKT
    columns are not fields and are left out. Each column names its most alike field (the first
    in the layer's order on a tie), when at least ``NEAR_MISS_SIMILARITY`` alike.
    """
    used = set(mapping.values()) | set(filter(None, find_coordinate_columns(headers)))
    open_fields = [f for f in spec.fields if f.name not in mapping]
    found = []
    for header in headers:
        if header in used:
            continue
        best, best_field = 0.0, None
        for f in open_fields:
            score = max(header_similarity(header, n) for n in (f.name, f.label_zh, *f.aliases))
            if score > best:
                best, best_field = score, f
        if best_field is not None and best >= NEAR_MISS_SIMILARITY:
            found.append(NearMiss(header, best_field.name, best_field.label_zh, round(best, 3)))
    return found


def unfed_checks(spec: LayerSpec, given: set[str]) -> dict[str, list[str]]:
    """Fields of ``spec`` that a check of the analysis needs and ``given`` lacks → those checks.

    ``given`` holds the fields a file filled with at least one value.

    >>> from gridmap.layers import LAYERS
    >>> unfed_checks(LAYERS["compound"], {"code", "name", "property_company"})
    {'property_has_org': ['property_without_org']}
    """
    out: dict[str, list[str]] = {}
    for kind, check in CHECK_NEEDS.items():
        for layer, name in check.needs:
            if layer == spec.name and name is not None and name not in given:
                out.setdefault(name, []).append(kind)
    return {f.name: out[f.name] for f in spec.fields if f.name in out}


def unfed_check_warnings(spec: LayerSpec, mapping: dict[str, str], given: set[str]) -> list[str]:
    """One load-report line per needed field the file did not give, naming the checks it stops."""
    lines = []
    for name, kinds in unfed_checks(spec, given).items():
        label = spec.field(name).label_zh
        by_check: dict[str, list[str]] = {}
        for kind in kinds:
            by_check.setdefault(CHECK_NEEDS[kind].label_zh, []).append(kind)
        checks_zh = "、".join(f"{c} ({', '.join(k)})" for c, k in by_check.items())
        if name in mapping:
            zh = f"本文件的「{mapping[name]}」列 ({label}) 全为空"
            en = f"column {mapping[name]} ({name}) of this file is empty"
        else:
            zh, en = f"本文件没有「{label}」列", f"this file has no {name} ({label}) column"
        lines.append(f"{zh}：{checks_zh} 将无法进行 / {en}: {', '.join(kinds)} cannot be checked")
    return lines


def _blank(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


def _as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (None when blank); whole floats (1.0 from a DBF) lose ``.0``.

    One pass of plain Python over the column's values: pandas' string methods cost several
    times as much per cell.
    """
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole % 1 == 0).all():
            values = values.astype("Int64")
    cells = values.to_numpy(dtype=object, na_value=None)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        text = [None if v is None else str(v) for v in cells]
    elif pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        text = [None if v is None else (v.strip() or None) for v in cells]
    else:
        text = [
            (v.strip() or None) if isinstance(v, str) else (_other_text(v) or None) for v in cells
        ]
    return pd.Series(text, index=values.index, dtype=object)


def _other_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _none_for_missing(values: pd.Series) -> pd.Series:
    """Object values with None (not NaN) where missing: pandas' map turns all-None into NaN."""
    values = values.astype(object)
    return values.where(values.notna(), None)


def parse_values(
    values: pd.Series, spec: FieldSpec, source: str, rows: np.ndarray
) -> tuple[pd.Series, list[RowProblem]]:
    """Typed values of one column and the rows whose cells cannot be used."""
    text = _as_text(values)
    blank = _blank(text)
    problems: list[RowProblem] = []
    if spec.required:
        for row in rows[blank]:
            problems.append(
                RowProblem(int(row), source, f"{spec.label_zh}为空", f"{spec.name} is empty")
            )
    if spec.kind == "str":
        return text, problems
    if spec.kind == "codes":
        parts = text.map(
            lambda v: (
                None
                if v is None
                else ";".join(p.strip() for p in re.split(r"[;；,，、]", v) if p.strip())
            )
        )
        return _none_for_missing(parts), problems
    if spec.kind in ("int", "float"):
        source_values = values if pd.api.types.is_numeric_dtype(values.dtype) else text
        numbers = pd.to_numeric(source_values, errors="coerce")
        bad = ~blank & (numbers.isna().to_numpy() | (numbers < 0).to_numpy())
        if spec.kind == "int":
            bad |= ~blank & ~numbers.isna().to_numpy() & (numbers % 1 != 0).to_numpy()
        # the databases' columns hold 32-bit integers and finite numbers
        too_big = ~blank & ~bad & (numbers.abs() > MAX_NUMBER).fillna(False).to_numpy(dtype=bool)
        for row, value in zip(rows[too_big], text[too_big], strict=True):
            zh, en = (
                f"“{value}”太大 (最大 {MAX_NUMBER})",
                f"'{value}' is too large (at most {MAX_NUMBER})",
            )
            problems.append(RowProblem(int(row), source, zh, en))
        bad |= too_big
        for row, value in zip(rows[bad & ~too_big], text[bad & ~too_big], strict=True):
            problems.append(
                RowProblem(
                    int(row),
                    source,
                    f"“{value}”不是有效的{'整数' if spec.kind == 'int' else '数值'} (应为非负数)",
                    f"'{value}' is not a valid non-negative {'integer' if spec.kind == 'int' else 'number'}",
                )
            )
        numbers = numbers.where(~bad)
        return (numbers.astype("Int64") if spec.kind == "int" else numbers), problems
    if spec.kind == "date":
        return parse_dates(values, text, source, rows)
    # bool and category: look the cell up among the accepted spellings
    choices = {k.lower(): v for k, v in spec.choices.items()}
    mapped = text.map(lambda v: None if v is None else choices.get(v.lower()))
    bad = ~blank & mapped.isna().to_numpy()
    allowed = " / ".join(dict.fromkeys(k for k in spec.choices if not k.isascii())) or ", ".join(
        spec.choices
    )
    for row, value in zip(rows[bad], text[bad], strict=True):
        problems.append(
            RowProblem(
                int(row),
                source,
                f"无法识别的取值“{value}”，应为 {allowed}",
                f"unknown value '{value}'; expected one of {allowed}",
            )
        )
    if spec.kind == "bool":
        return mapped.map({"true": True, "false": False}).astype("boolean"), problems
    return _none_for_missing(mapped), problems
