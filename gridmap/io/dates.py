"""Dates as offices type them (日期): 2021.3, 2021年3月, 2021-03-01, 2021/3/1, 20210301, or an
Excel serial such as 44256; each read as an ISO date (a month alone as its first day).

A cell that could be read two ways is refused rather than guessed: 2021.1 may have been typed
2021.10 (Excel keeps such a cell as the number 2021.1, in the workbook and in the CSV it saves),
a year alone says no month. Dates after today are refused too (nobody took a post tomorrow).

Examples
--------
>>> from datetime import date
>>> [parse_date(t, date(2026, 12, 6))[0] for t in ("2021.3", "2021年3月", "2021-03-01", "44256")]
['2021-03-01', '2021-03-01', '2021-03-01', '2021-03-01']
>>> parse_date("2021.1", date(2026, 12, 6))[1][1]
'2021.1 may be January or October (Excel drops the 0 of 2021.10); write 2021-01 or 2021-10'
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from gridmap.errors import RowProblem

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
FIRST_SERIAL = 7306  # 1920-01-01: smaller whole numbers are not dates anyone here would mean
_PARTS = re.compile(
    r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*(?:月)?\s*(?:[.\-/]?\s*(\d{1,2})\s*日?)?"
    r"(?:\s+00:00(?::00)?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

Problem = tuple[str, str]


def _checked(day: date, today: date, text: str) -> tuple[str | None, Problem | None]:
    if day > today:
        return None, (f"日期 {text} 晚于今天", f"the date {text} lies in the future")
    return day.isoformat(), None


def _from_parts(y: str, m: str, d: str | None, text: str, today: date):
    try:
        day = date(int(y), int(m), int(d) if d else 1)
    except ValueError:
        return None, (f"“{text}”不是有效日期", f"'{text}' is not a valid date")
    return _checked(day, today, text)


def parse_date(text: str, today: date) -> tuple[str | None, Problem | None]:
    """``text`` as an ISO date, or ``None`` and why not (Chinese, English)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}\.1", text):
        year = text[:4]
        return None, (
            f"{text} 无法确定是 1 月还是 10 月 (Excel 会去掉 {year}.10 末尾的 0)，请写作 {year}-01 或 {year}-10",
            f"{text} may be January or October (Excel drops the 0 of {year}.10); "
            f"write {year}-01 or {year}-10",
        )
    match = _PARTS.match(text) or _COMPACT.match(text)
    if match:
        return _from_parts(*match.groups(), text, today)
    if re.fullmatch(r"\d{4}", text):
        return None, (
            f"“{text}”只有年份，请写明月份，如 {text}.3",
            f"'{text}' gives a year only; add the month, e.g. {text}.3",
        )
    if re.fullmatch(r"\d{4,6}(?:\.0+)?", text) and int(float(text)) >= FIRST_SERIAL:
        return _checked(EXCEL_EPOCH + timedelta(days=int(float(text))), today, text)
    return None, (
        f"无法识别的日期“{text}”，应为 2021.3、2021年3月、2021-03-01 或 Excel 日期",
        f"unknown date '{text}'; expected 2021.3, 2021年3月, 2021-03-01 or an Excel date",
    )


def parse_dates(
    values: pd.Series, text: pd.Series, source: str, rows: np.ndarray, today: date | None = None
) -> tuple[pd.Series, list[RowProblem]]:
    """A column of dates: ISO text (``None`` where blank or refused) and the refused rows."""
    today = today or date.today()
    out: list[str | None] = []
    problems: list[RowProblem] = []
    for row, raw, cell in zip(rows, values.astype(object), text, strict=True):
        if cell is None:
            out.append(None)
            continue
        if isinstance(raw, datetime | date | pd.Timestamp):
            day = raw.date() if isinstance(raw, datetime) else raw
            iso, problem = _checked(day, today, str(day))
        else:
            iso, problem = parse_date(str(cell), today)
        out.append(iso)
        if problem is not None:
            problems.append(RowProblem(int(row), source, *problem))
    return pd.Series(out, index=values.index, dtype=object), problems
