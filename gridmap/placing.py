"""Members placed by their address while they are loaded (按住址落位), and the match report.

``gridmap load member`` hands the rows of a roster here after reading and before writing: rows
without coordinates get the representative point of the building their address names (matched
against the compounds and buildings already in the database by :mod:`gridmap.core.geocode`);
rows with both are checked for disagreement. Rows that cannot be placed come back as row
problems (reason and closest candidates, never the address itself), so the load stays all or
nothing. The match report written with ``--match-report`` holds the roster's own columns, so
its unmatched rows can be fixed in place and the file loaded again.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gridmap.core.geocode import distances_m, match_addresses, placed
from gridmap.errors import RowProblem
from gridmap.io.address import building_key, parse_many
from gridmap.layers import LayerSpec
from gridmap.store import features

PART_FIELDS = ("compound_name", "building_no", "unit", "room")  # an address in columns
ADDRESS_INFO = ("address", "compound_name", "building_no", "room")  # enough to try a match
# the columns the match report adds; a report loaded again leaves them out of properties
REPORT_COLUMNS = {
    "status": "匹配状态 status",
    "rule": "匹配规则 rule",
    "confidence": "置信度 confidence",
    "compound_code": "落位小区 compound",
    "building_code": "落位楼栋 building",
    "reason": "原因 reason",
    "candidates": "候选 candidates",
    "row": "原行号 row",
}
RULE_COUNTS = ("code", "exact", "alias", "fuzzy", "ambiguous", "unmatched")


@dataclass
class MatchReport:
    """How the addresses of one load matched: counts by rule and one row per roster row."""

    counts: dict[str, int] = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)  # REPORT_COLUMNS' keys
    disagreements: list[tuple[int, float]] = field(default_factory=list)  # (row, metres)

    def summary(self) -> dict:
        """Counts only (no addresses): for the change log and the API."""
        return {**self.counts, "disagree": len(self.disagreements)}


def has_addresses(frame: pd.DataFrame) -> bool:
    """Whether any row names a place by address or by separate compound/building columns."""
    return any(f in frame and frame[f].notna().any() for f in ADDRESS_INFO)


def _column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    return frame.get(name)


def place_members(
    conn: Connection, frame: gpd.GeoDataFrame, rows: np.ndarray, disagree_m: float
) -> tuple[gpd.GeoDataFrame, MatchReport, list[RowProblem]]:
    """Place rows without geometry by address; report rows whose address and point disagree.

    Returns the frame (geometry and ``building_code`` filled where placed), the match report
    and the rows that could not be placed.
    """
    compounds = features.read_features(
        conn, "compound", columns=["name", "properties", "community_code"]
    )
    buildings = features.read_features(conn, "building", columns=["name", "compound_code"])
    communities = features.read_features(conn, "community", columns=["name"])
    parsed = parse_many(
        _column(frame, "address"),
        _column(frame, "compound_name"),
        _column(frame, "building_no"),
        _column(frame, "room"),
        _column(frame, "unit"),
    )
    matches = match_addresses(
        parsed, compounds, buildings, _column(frame, "building_code"), communities
    )
    frame = frame.copy()
    without = (frame.geometry.isna() | frame.geometry.is_empty).to_numpy()
    ok = placed(matches)
    fill = without & ok
    frame.loc[fill, "geometry"] = matches.geometry[fill].to_numpy()
    codes = frame["building_code"] if "building_code" in frame else pd.Series(None, frame.index)
    frame["building_code"] = codes.astype(object).where(~fill, matches["building_code"])
    failed = without & ~ok
    problems = [
        _problem(int(r), m)
        for r, m in zip(rows[failed], matches[failed].to_dict("records"), strict=True)
    ]
    given = _has_info(frame)
    report = MatchReport(counts=_counts(matches, given, fill, without), table=_table(matches, rows))
    both = ~without & ok
    far = distances_m(matches.geometry[both], frame.geometry[both])
    report.disagreements = [
        (int(r), float(d)) for r, d in zip(rows[both], far, strict=True) if d > disagree_m
    ]
    return frame, report, problems


def _has_info(frame: pd.DataFrame) -> np.ndarray:
    present = [frame[f].notna().to_numpy() for f in ADDRESS_INFO if f in frame]
    return np.logical_or.reduce(present) if present else np.zeros(len(frame), dtype=bool)


def _problem(row: int, match: dict) -> RowProblem:
    zh, en = match["reason_zh"] or "无法落位", match["reason_en"] or "cannot be placed"
    if match["candidates"]:
        zh, en = f"{zh}；候选: {match['candidates']}", f"{en}; candidates: {match['candidates']}"
    return RowProblem(row, "address", f"无法按住址落位: {zh}", f"cannot be placed by address: {en}")


def _counts(matches: pd.DataFrame, given: np.ndarray, fill: np.ndarray, without) -> dict:
    rule = matches["rule"].where(matches["status"].eq("matched"), matches["status"])[given]
    counts = {name: int((rule == name).sum()) for name in RULE_COUNTS}
    counts["placed_by_address"] = int(fill.sum())
    counts["by_coordinates"] = int((~without).sum())
    return counts


def _table(matches: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    reason = [
        f"{zh} / {en}" if isinstance(zh, str) else None
        for zh, en in zip(matches["reason_zh"], matches["reason_en"], strict=True)
    ]
    table = pd.DataFrame(
        {"row": rows, **{k: matches[k].to_numpy() for k in RULE_TABLE}, "reason": reason},
        dtype=object,
    )
    return table[[k for k in REPORT_COLUMNS]]


RULE_TABLE = ("status", "rule", "confidence", "compound_code", "building_code", "candidates")


def forget_report_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A match report loaded again: its own columns are not the member's properties."""
    if "properties" not in frame:
        return frame
    drop = set(REPORT_COLUMNS.values())
    frame = frame.copy()
    frame["properties"] = [
        {k: v for k, v in p.items() if k not in drop} if isinstance(p, dict) else p
        for p in frame["properties"]
    ]
    return frame


def fold_address_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """Separate compound/building/room columns become the stored address where it is empty."""
    if not any(f in frame for f in PART_FIELDS):
        return frame
    parts = [frame[f] if f in frame else pd.Series(None, frame.index) for f in PART_FIELDS]
    composed = [
        _compose(*values) for values in zip(*(p.astype(object) for p in parts), strict=True)
    ]
    address = frame["address"] if "address" in frame else pd.Series(None, frame.index)
    out = frame.drop(columns=[f for f in PART_FIELDS if f in frame])
    out["address"] = address.astype(object).where(address.notna(), pd.Series(composed, frame.index))
    return out


def _compose(compound, building, unit, room) -> str | None:
    """紫阳花园 · 3 · 2 · 501 → 紫阳花园3栋2单元501 (words added only to bare numbers)."""

    def text(value, word: str = "") -> str:
        value = str(value).strip() if isinstance(value, str | int) else ""
        return value + word if word and value and building_key(value) == value.upper() else value

    return "".join((text(compound), text(building, "栋"), text(unit, "单元"), text(room))) or None


def roster_columns(frame: pd.DataFrame, spec: LayerSpec, mapping: dict[str, str]) -> pd.DataFrame:
    """The roster's columns under its own headers (values in the spelling the reader takes)."""
    out = {mapping.get("code", "编号"): frame["code"].to_numpy(dtype=object)}
    for name, header in mapping.items():
        if name == "code" or name not in frame:
            continue
        spelled = {}
        for spelling, value in spec.field(name).choices.items():
            if not spelling.isascii():
                spelled.setdefault(value, spelling)
        values = frame[name].astype(object)
        if spec.field(name).kind == "bool":
            values = values.map({True: "是", False: "否"})
        elif spelled:
            values = values.map(lambda v, s=spelled: s.get(v, v))
        out[header] = values.to_numpy(dtype=object)
    extra = (
        pd.DataFrame(list(frame["properties"]), index=frame.index)
        if "properties" in frame
        else None
    )
    for column in [] if extra is None else extra.columns:
        if column not in out and column not in REPORT_COLUMNS.values():
            out[column] = extra[column].to_numpy(dtype=object)
    return pd.DataFrame(out, dtype=object)


def write_match_report(path: str | Path, roster: pd.DataFrame, report: MatchReport) -> Path:
    """The roster's own columns, then how each row matched: UTF-8 with BOM for Excel.

    Cells a spreadsheet would run as a formula get a leading ``'``.
    """
    path = Path(path)
    table = report.table.rename(columns=REPORT_COLUMNS)
    table = table.reset_index(drop=True)
    row = table.pop(REPORT_COLUMNS["row"])
    out = pd.concat([row, roster.reset_index(drop=True), table], axis=1)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([str(c) for c in out.columns])
        for values in out.itertuples(index=False, name=None):
            writer.writerow([_cell(v) for v in values])
    return path


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    text = str(value)
    formula = text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _number(text))
    return "'" + text if formula else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
