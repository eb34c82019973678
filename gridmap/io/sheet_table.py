"""A sheet's cells → a table: the header found, merged cells filled, skipped rows reported.

A 党员花名册 rarely starts at A1: a title merged across the top (锦绣街道党员花名册), a blank row,
a header that may have two levels (住址 over 小区 / 楼栋 / 单元), members, a 合计 row at the bottom.
The header is the row that best matches the layer's known headers, else the first mostly-filled
row of text; two-level columns are named ``住址_小区`` (or the sub-header alone where that is a
known header); a merged cell's value fills its span; blank, totals, section-label and footnote
rows are skipped and reported by row. Every cell is handed over as text: phones typed as numbers stay
``'10012345678'`` (not ``1.0012345678E10``), dates become ``'2021-03-01'``, ``2021.3`` and
``2021年3月`` stay as typed. Row numbers are Excel's.

Examples
--------
>>> rows = [["锦绣街道党员花名册", "锦绣街道党员花名册"], ["", ""], ["姓名", "手机号码"],
...         ["测试甲", 10012345678.0], ["合计", ""]]
>>> frame, numbers, warnings = table_from_rows(rows, [], {"姓名", "手机号码"})
>>> frame.values.tolist(), numbers.tolist(), warnings
([['测试甲', '10012345678']], [4], ['跳过合计行 / skipped totals rows: 第 5 行'])
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable

import numpy as np
import pandas as pd

from gridmap.errors import InputFileError
from gridmap.io.columns import normalise_header
from gridmap.layers import LAT_ALIASES, LON_ALIASES, WKT_ALIASES, LayerSpec

HEADER_SEARCH_ROWS = 30  # a header lower than this is not a header any office makes
TITLE_SHARE = 0.8  # a merge over this share of the columns is a title, not a group header
TOTALS = re.compile(r"^(合计|总计|小计|共计|累计|总数)(?![\u4e00-\u9fff])")
NOTES = ("注:", "注：", "备注:", "备注：", "说明", "制表", "填表", "审核", "填报")
SKIPPED_EN = {"空行": "blank", "合计行": "totals", "说明行": "note", "分组行": "section"}
DATE_HEADER = re.compile(r"日期|时间|生日|出生|年月")
SERIAL_RANGE = (10_000, 80_000)  # 1927-05-18 … 2119-01-10: no year or count falls in it
EXCEL_EPOCH = dt.datetime(1899, 12, 30)

Merge = tuple[tuple[int, int], tuple[int, int]]  # (first row, first col), (last row, last col)


def known_headers(spec: LayerSpec, extra: Iterable[str] = ()) -> frozenset[str]:
    """The normalised headers a file of ``spec``'s layer may carry (fields, coordinates, WKT)."""
    names = [n for f in spec.fields for n in (f.name, f.label_zh, *f.aliases)]
    names += [*LON_ALIASES, *LAT_ALIASES, *WKT_ALIASES, *extra]
    return frozenset(normalise_header(n) for n in names)


# --- cells -----------------------------------------------------------------------------------


def cell_text(value) -> str | None:
    """A cell as the text an office typed: whole numbers without ``.0``, dates as ISO dates.

    >>> cell_text(dt.datetime(2021, 3, 1)), cell_text(dt.datetime(2021, 3, 1, 8, 30)), cell_text("")
    ('2021-03-01', '2021-03-01 08:30:00', None)
    """
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g")  # Excel keeps 15 significant digits
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return None if value is None else str(value)


def column_text(values: list) -> list[str | None]:
    """:func:`cell_text` of a whole column, quick for the usual columns of text or numbers."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return [v.strip() or None for v in values]
    if kinds <= {str, float}:
        return [
            (v.strip() or None)
            if type(v) is str
            else (str(int(v)) if v.is_integer() and abs(v) < 1e16 else format(v, ".15g"))
            for v in values
        ]
    return [cell_text(v) for v in values]


def _fill_merges(rows: list[list], merges: list[Merge]) -> None:
    """Every cell of a merged range takes the value of its top-left cell (in place)."""
    for (r0, c0), (r1, c1) in merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value


# --- the header ------------------------------------------------------------------------------


def _texts(row: list) -> list[str | None]:
    return [cell_text(v) if isinstance(v, str) else None for v in row]


def _is_title(merge: Merge, width: int) -> bool:
    (_, c0), (_, c1) = merge
    return c1 - c0 + 1 >= max(2, TITLE_SHARE * width)


def _fallback_header(grid: list[list]) -> int | None:
    """The first row of text (two values or more) about as full as the fullest such row."""
    counts = []
    for row in grid[:HEADER_SEARCH_ROWS]:
        texts = [t for t in _texts(row) if t]
        all_text = len(texts) == sum(v not in ("", None) for v in row)
        counts.append(len(texts) if all_text and len(set(texts)) > 1 else 0)
    fullest = max(counts, default=0)
    return next((r for r, n in enumerate(counts) if n and n >= 0.6 * fullest), None)


def guess_merges(grid: list[list], header: int) -> list[Merge]:
    """Merges of a header where the file does not say (ODS): ``住址`` with empty cells to its
    right over text sub-headers is a group; a header cell with nothing below it spans down.

    >>> guess_merges([["姓名", "住址", "", ""], ["", "小区", "楼栋", ""], ["测试甲", "A", 1, ""]], 0)
    [((0, 1), (0, 2)), ((0, 0), (1, 0))]
    """
    if header + 1 >= len(grid):
        return []
    top, below = grid[header], grid[header + 1]
    filled = [c for c, v in enumerate(below) if v not in ("", None)]
    if not filled or not all(isinstance(below[c], str) for c in filled):
        return []
    merges: list[Merge] = []
    covered: set[int] = set()
    for c, v in enumerate(top):
        if v in ("", None) or c + 1 >= len(top) or top[c + 1] not in ("", None):
            continue
        last = c
        while last + 1 < len(top) and top[last + 1] in ("", None) and below[last + 1] not in ("", None):  # fmt: skip
            last += 1
        if last > c and below[c] not in ("", None):
            merges.append(((header, c), (header, last)))
            covered.update(range(c, last + 1))
    if not merges or set(filled) - covered:
        return []  # the row below is data, not sub-headers
    spans_down = [c for c, v in enumerate(top) if v not in ("", None) and c not in covered and below[c] in ("", None)]  # fmt: skip
    return merges + [((header, c), (header + 1, c)) for c in spans_down]


def _joins_header(row: list, group_columns: set[int]) -> bool:
    """A row next to the header is a header level when its cells are text under group headers."""
    filled = [c for c, v in enumerate(row) if v not in ("", None)]
    return bool(filled) and all(isinstance(row[c], str) and c in group_columns for c in filled)


def find_header(grid: list[list], merges: list[Merge], known: Collection[str]) -> tuple[int, int]:
    """The first and last row (0-based) of the header: one row, or two for merged groups.

    The header is the row with most cells among ``known`` (normalised headers), else the first
    mostly-filled row of text; vertical merges and group headers (a merge over some columns,
    with the sub-headers below it) widen it to two or more rows.
    """
    scores = [
        len({t for t in (normalise_header(x) for x in _texts(row) if x) if t in known})
        for row in grid[:HEADER_SEARCH_ROWS]
    ]
    best = int(np.argmax(scores)) if scores and max(scores) > 0 else _fallback_header(grid)
    if best is None:
        raise InputFileError(
            "找不到表头行：前 30 行中没有一行像列名。请确认工作表，或把列名放在第一行。",
            "No header row found in the first 30 rows: check the sheet, or put the column names "
            "in the first row.",
        )
    ncols = max((len(r) for r in grid), default=0)
    width = sum(v not in ("", None) for v in grid[best])  # a title spans the header, about
    inner = [m for m in merges if not _is_title(m, width)]
    start = end = best
    while True:
        before = (start, end)
        for (r0, _), (r1, _) in (m for m in inner if m[0][0] != m[1][0]):
            if r0 <= end and r1 >= start:
                start, end = min(start, r0), max(end, r1)
        groups = {
            r0: {c for (rr, c0), (_, c1) in inner if rr == r0 for c in range(c0, c1 + 1)}
            for (r0, _), _ in inner
        }
        if start > 0 and _joins_header(grid[start - 1], groups.get(start - 1, set())):
            start -= 1
        if end + 1 < len(grid) and _joins_header(grid[end + 1], groups.get(end, set())):
            end += 1
        if (start, end) == before or end - start >= 3 or ncols == 0:
            return start, end


def column_names(block: list[list], known: Collection[str]) -> list[str]:
    """One name per column from the header rows: ``住址_小区`` for a group over a sub-header,
    the sub-header alone where it is a known header by itself; ``F列`` where a column has none.

    >>> column_names([["姓名", "住址", "住址"], ["姓名", "小区", "手机号码"]], {"手机号码"})
    ['姓名', '住址_小区', '手机号码']
    """
    parts_by_column = []
    for c in range(max((len(r) for r in block), default=0)):
        parts: list[str] = []
        for row in block:
            text = cell_text(row[c]) if c < len(row) else None
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        parts_by_column.append(parts)
    leaves = [p[-1] for p in parts_by_column if p]
    names, seen = [], set()
    for c, parts in enumerate(parts_by_column):
        if not parts:
            name = f"{_column_letter(c)}列"
        elif len(parts) > 1 and normalise_header(parts[-1]) in known and leaves.count(parts[-1]) == 1:  # fmt: skip
            name = parts[-1]
        else:
            name = "_".join(parts)
        unique, n = name, 1
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        names.append(unique)
    return names


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- the rows below the header ---------------------------------------------------------------


def skip_reasons(texts: pd.DataFrame) -> pd.Series:
    """Why each body row is no row of the table: 空行 (blank), 合计行 (a totals row, by its first
    cell), 说明行 (a footnote such as 注：… or 填表人：…), 分组行 (a section label such as
    一、锦绣社区 merged across the row); None for the rows to keep.

    >>> t = pd.DataFrame([["1", "测试甲", "A"], [None, None, None], ["合  计", "3", None],
    ...                   ["注：仅供测试", None, None], ["一、锦绣社区", "一、锦绣社区", "一、锦绣社区"]])
    >>> skip_reasons(t).tolist()
    [None, '空行', '合计行', '说明行', '分组行']
    """
    filled = texts.notna().sum(axis=1)
    first = texts.bfill(axis=1).iloc[:, 0] if texts.shape[1] else pd.Series(index=texts.index)
    first = first.where(first.notna(), "").astype(str).str.replace(r"[\s\u3000]+", "", regex=True)
    totals = first.str.match(TOTALS)
    notes = first.str.startswith(NOTES)
    if notes.any():  # a footnote holds one or two values, often merged across the row
        notes[notes] = texts[notes].nunique(axis=1) <= 2
    # one value over two cells or more: a merged label (only such rows are counted exactly)
    last = texts.ffill(axis=1).iloc[:, -1] if texts.shape[1] else first
    section = (filled >= 2) & (texts.bfill(axis=1).iloc[:, 0] == last).fillna(False)
    if section.any():
        section[section] = texts[section].nunique(axis=1) == 1
    reasons = pd.Series(np.full(len(texts), None, dtype=object), index=texts.index)
    reasons[section] = "分组行"
    reasons[notes] = "说明行"
    reasons[totals] = "合计行"
    reasons[filled == 0] = "空行"
    return reasons


def _ranges(rows: list[int]) -> str:
    """``[5, 6, 7, 9]`` → ``'5–7, 9'``."""
    parts, start = [], None
    for i, r in enumerate(rows):
        start = r if start is None else start
        if i + 1 == len(rows) or rows[i + 1] != r + 1:
            parts.append(str(r) if r == start else f"{start}–{r}")
            start = None
    return ", ".join(parts)


def _serial_dates(values: list, header: str) -> tuple[list, int]:
    """Excel date serials (numbers in a column named like a date) as dates; how many."""
    if not DATE_HEADER.search(header):
        return values, 0
    low, high = SERIAL_RANGE
    out, n = [], 0
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high:
            v, n = EXCEL_EPOCH + dt.timedelta(days=float(v)), n + 1
        out.append(v)
    return out, n


def table_from_rows(
    rows: list[list], merges: list[Merge] | None, known: Collection[str]
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """A sheet's cells (0-based, from A1) → the frame of text, Excel row numbers, warnings.

    ``merges`` is ``None`` where the format does not tell them (ODS): the header's are guessed.
    """
    if merges is None:
        merges = guess_merges(rows, find_header(rows, [], known)[1])
    _fill_merges(rows, merges)
    start, end = find_header(rows, merges, known)
    names = column_names(rows[start : end + 1], known)
    width = len(names)
    body = pd.DataFrame(rows[end + 1 :], dtype=object).reindex(columns=range(width))
    warnings, texts = [], {}
    for c, name in enumerate(names):
        values, n = _serial_dates(body[c].tolist(), name)
        texts[c] = column_text(values)
        if n:
            warnings.append(
                f"列 {name}: {n} 个数字按 Excel 日期序号读作日期 / {n} number(s) read as Excel "
                "date serials"
            )
    table = pd.DataFrame(texts, index=np.arange(len(body)) + end + 2, dtype=object)
    reasons = skip_reasons(table)
    kept = reasons.isna()
    last_kept = table.index[kept.to_numpy()].max() if kept.any() else 0
    for zh, en in SKIPPED_EN.items():
        numbers = [r for r in table.index[(reasons == zh).to_numpy()] if zh != "空行" or r < last_kept]  # fmt: skip
        if numbers:  # blank rows after the last row of data are no news
            warnings.append(f"跳过{zh} / skipped {en} rows: 第 {_ranges(numbers)} 行")
    table = table[kept.to_numpy()]
    block = rows[start : end + 1]
    named = [any(cell_text(r[c]) for r in block if c < len(r)) for c in range(width)]
    used = [c for c in range(width) if named[c] or table[c].notna().any()]
    frame = table[used].set_axis([names[c] for c in used], axis=1).reset_index(drop=True)
    return frame, table.index.to_numpy(dtype=int), warnings
