"""Whether a free edit of a plan's cells keeps them a tiling (网格无重叠、无留白).

The editor draws cells freely where units cannot express a border; every edit — a vertex
dragged, inserted or removed, a cell drawn, cut or merged — is checked here before it is kept:

- :func:`check_edit` — the cells before and after an edit: refused when it opens an overlap, leaves
  ground of the plan to no cell (留白), reaches beyond the plan's ground, changes a locked cell or
  leaves a cell invalid; each problem with its place;
- :func:`carve` — a newly drawn cell takes its ground from the cells it covers instead of
  overlapping them;
- :func:`weld` and :func:`weld_all` (from :mod:`gridmap.core.weld`) — a vertex of one cell lying
  on the border of its neighbour (within a hair) becomes a vertex of the neighbour too, as QGIS's
  topological editing does, so that dragging it later moves both.

Pure functions on GeoDataFrames with ``code`` and polygon geometries; :func:`check_edit` and
:func:`carve` want a metric CRS (areas in m²), :func:`weld` works in any CRS with a tolerance in
its units. Only the cells that differ are examined, so a plan whose old cells overlap (as
imported) can still be edited elsewhere: an edit is refused for what *it* breaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# re-exported: the routes checking edits weld through this module
from gridmap.core.weld import weld as weld
from gridmap.core.weld import weld_all as weld_all
from gridmap.io.polygons import polygons_of

# digitising rounding (GeoJSON at 8 decimals, about a millimetre) leaves slivers far below this;
# a quarter of validation's default 1 m², so slivers kept by several edits stay below it too
EDIT_TOLERANCE_M2 = 0.25
COLUMNS = ["kind", "code", "codes", "measure", "message_zh", "message_en", "geometry"]


@dataclass(frozen=True)
class EditCheck:
    """The answer of :func:`check_edit`: ``problems`` (one row each, with its geometry) and
    ``changed``, the codes of the cells the edit added, removed or reshaped."""

    problems: gpd.GeoDataFrame
    changed: list[str]

    @property
    def ok(self) -> bool:
        return self.problems.empty


def _metric(*frames: gpd.GeoDataFrame) -> None:
    crs = {str(f.crs) for f in frames}
    if len(crs) != 1 or frames[0].crs is None or frames[0].crs.is_geographic:
        raise ValueError(f"cells must share one metric CRS, got {sorted(crs)}")


def _by_code(frame: gpd.GeoDataFrame) -> dict[str, object]:
    return {str(c): g for c, g in zip(frame["code"], frame.geometry.values, strict=True)}


def _same(a, b) -> bool:
    return a is not None and b is not None and bool(shapely.equals_exact(a, b, 0.0) or shapely.equals(a, b))  # fmt: skip


def changed_codes(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> list[str]:
    """Codes of the cells added, removed or reshaped from ``before`` to ``after``.

    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> new = gpd.GeoDataFrame({"code": ["B", "C"]}, geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1)])
    >>> changed_codes(old, new)
    ['A', 'C']
    """
    old, new = _by_code(before), _by_code(after)
    return sorted(c for c in old.keys() | new.keys() if not _same(old.get(c), new.get(c)))


def _pieces(geom, tolerance_m2: float) -> np.ndarray:
    parts = shapely.get_parts(shapely.get_parts(geom))
    return parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > tolerance_m2)]


def _union(geoms: Iterable) -> object:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    return shapely.union_all(geoms) if geoms else shapely.Polygon()


def _row(kind: str, codes: list[str], m2: float, zh: str, en: str, geom) -> dict:
    return {"kind": kind, "code": codes[0] if codes else None, "codes": ";".join(codes),
            "measure": round(float(m2), 2), "message_zh": zh, "message_en": en, "geometry": geom}  # fmt: skip


def _near(codes: dict[str, object], geom) -> list[str]:
    return sorted(c for c, g in codes.items() if g is not None and shapely.intersects(g, geom))


def check_edit(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] = (),
    tolerance_m2: float = EDIT_TOLERANCE_M2,
) -> EditCheck:
    """Whether the edit from ``before`` to ``after`` keeps the cells a tiling.

    ``before`` and ``after`` hold the same cells around the edit (``code``, polygon geometry, one
    metric CRS); cells equal in both are its context. The edit is refused — ``problems`` not
    empty — when it

    - ``edit_overlap``: makes a cell overlap another where they did not before;
    - ``edit_gap``: leaves ground that a cell held before to no cell (留白);
    - ``edit_outside``: gives a cell ground no cell held before (beyond the plan's ground);
    - ``edit_locked``: changes a cell in ``locked`` (locked, or outside the planner's area);
    - ``edit_invalid``: leaves a changed cell with an invalid outline.

    Pieces of ``tolerance_m2`` or less are digitising noise. Messages in Chinese and English.

    >>> from shapely import Polygon
    >>> a = Polygon([(0, 0), (40, 0), (45, 15), (40, 30), (0, 30)])
    >>> b = Polygon([(40, 0), (90, 10), (80, 40), (40, 30), (45, 15)])  # (45, 15) is shared
    >>> old = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[a, b], crs=32648)
    >>> moved = Polygon([(0, 0), (40, 0), (55, 15), (40, 30), (0, 30)])  # dragged in A alone
    >>> check = check_edit(old, old.assign(geometry=[moved, b]))
    >>> check.ok, list(check.problems["kind"]), check.changed
    (False, ['edit_overlap'], ['A'])
    >>> both = Polygon([(40, 0), (90, 10), (80, 40), (40, 30), (55, 15)])  # moved in both
    >>> check_edit(old, old.assign(geometry=[moved, both])).ok
    True
    """
    _metric(before, after)
    old, new = _by_code(before), _by_code(after)
    changed = changed_codes(before, after)
    repairs = _repairs(new, changed)
    rows = _locked_rows(old, new, changed, locked) + _invalid_rows(new, repairs, tolerance_m2)
    old, new = {**old, **_repairs(old, old)}, {**new, **repairs}  # measured as repaired, below
    rows += _gap_and_outside_rows(old, new, changed, tolerance_m2)
    rows += _new_overlaps(old, new, changed, tolerance_m2)
    problems = gpd.GeoDataFrame(pd.DataFrame(rows, columns=COLUMNS), geometry="geometry", crs=after.crs)  # fmt: skip
    return EditCheck(problems.sort_values(["kind", "code"], kind="stable").reset_index(drop=True), changed)  # fmt: skip


def _repairs(geoms: dict[str, object], codes: Iterable[str]) -> dict[str, object]:
    """The invalid outlines among ``codes`` made valid (their polygons), by code."""
    return {c: polygons_of(shapely.make_valid(geoms[c])) for c in codes if geoms.get(c) is not None and not shapely.is_valid(geoms[c])}  # fmt: skip


def _locked_rows(old: dict, new: dict, changed: list[str], locked: Iterable[str]) -> list[dict]:
    held = {c: new[c] if old.get(c) is None else old[c] for c in sorted(set(changed) & {str(k) for k in locked})}  # fmt: skip
    return [_row("edit_locked", [c], shapely.area(g), f"网格 {c} 已锁定或不在您的范围内，不能修改",
                 f"Cell {c} is locked or outside your area; it cannot be changed", g) for c, g in held.items()]  # fmt: skip


def _invalid_rows(new: dict, repairs: dict, tolerance_m2: float) -> list[dict]:
    rows = []
    for code, repaired in repairs.items():
        geom = new[code]
        # rounding and reprojection make outlines cross themselves by a hair: that is repaired
        # silently; an outline folded over itself (a bow tie) changes the ground it holds
        if abs(shapely.area(repaired) - shapely.area(geom)) > tolerance_m2:
            reason = shapely.is_valid_reason(geom)
            rows.append(_row("edit_invalid", [code], shapely.area(geom), f"网格 {code} 的边界无效（{reason}）",
                             f"The outline of cell {code} is invalid ({reason})", geom))  # fmt: skip
    return rows


def _gap_and_outside_rows(old: dict, new: dict, changed: list[str], tolerance_m2: float) -> list[dict]:  # fmt: skip
    was = _union(old[c] for c in changed if c in old)
    now = _union(new[c] for c in changed if c in new)
    covered_after = shapely.union(now, _union(g for c, g in new.items() if c not in changed))
    covered_before = shapely.union(was, _union(g for c, g in old.items() if c not in changed))
    rows = []
    for piece in _pieces(shapely.difference(was, covered_after), tolerance_m2):
        codes = _near({c: old[c] for c in changed if c in old}, piece)
        m2 = shapely.area(piece)
        rows.append(_row("edit_gap", codes, m2,
                         f"此次修改会在网格 {'、'.join(codes)} 处留下 {m2:,.1f} 平方米不属于任何网格（留白）",
                         f"This edit would leave {m2:,.1f} m² at cell {', '.join(codes)} in no cell (a gap)", piece))  # fmt: skip
    for piece in _pieces(shapely.difference(now, covered_before), tolerance_m2):
        codes = _near({c: new[c] for c in changed if c in new}, piece)
        m2 = shapely.area(piece)
        rows.append(_row("edit_outside", codes, m2,
                         f"此次修改会使网格 {'、'.join(codes)} 越出方案原有范围 {m2:,.1f} 平方米",
                         f"This edit would take cell {', '.join(codes)} {m2:,.1f} m² beyond the plan's ground", piece))  # fmt: skip
    return rows


def _overlaps(geoms: dict[str, object], of: list[str]) -> dict[tuple[str, str], object]:
    """Pairwise overlaps of the cells ``of`` with all cells of ``geoms``, by pair of codes."""
    codes = [c for c, g in geoms.items() if g is not None and not g.is_empty]
    arr = np.array([geoms[c] for c in codes], dtype=object)
    if not len(arr):
        return {}
    tree = shapely.STRtree(arr)
    mine = [i for i, c in enumerate(codes) if c in set(of)]
    a, b = tree.query(arr[mine], predicate="intersects")
    out = {}
    for i, j in zip(np.asarray(mine)[a], b, strict=True):
        if i != j:
            key = tuple(sorted((codes[i], codes[j])))
            if key not in out:
                out[key] = shapely.intersection(arr[i], arr[j])
    return out


def _new_overlaps(old: dict, new: dict, changed: list[str], tolerance_m2: float) -> list[dict]:
    old_overlap = _union(_overlaps(old, [c for c in changed if c in old]).values())
    rows = []
    for (ci, cj), piece in sorted(_overlaps(new, [c for c in changed if c in new]).items()):
        fresh = _pieces(shapely.difference(piece, old_overlap), tolerance_m2)
        if len(fresh):
            m2 = float(shapely.area(fresh).sum())
            rows.append(_row("edit_overlap", [ci, cj], m2, f"此次修改会使网格 {ci} 与 {cj} 重叠 {m2:,.1f} 平方米",
                             f"This edit would make cells {ci} and {cj} overlap by {m2:,.1f} m²",
                             shapely.multipolygons(fresh)))  # fmt: skip
    return rows


def summary(problems: pd.DataFrame, most: int = 3) -> tuple[str, str]:
    """One sentence for a refused edit, Chinese and English, naming its first ``most`` problems.

    >>> summary(pd.DataFrame({"message_zh": ["甲"], "message_en": ["A"]}))
    ('修改未保留：甲。已恢复修改前的网格。', 'Edit undone: A. The cells are back as they were.')
    """
    zh = "；".join(problems["message_zh"].head(most)) + ("……" if len(problems) > most else "")
    en = "; ".join(problems["message_en"].head(most)) + (" …" if len(problems) > most else "")
    return f"修改未保留：{zh}。已恢复修改前的网格。", f"Edit undone: {en}. The cells are back as they were."  # fmt: skip


def carve(cells: gpd.GeoDataFrame, drawn, *, tolerance_m2: float = EDIT_TOLERANCE_M2):
    """A newly drawn cell that takes its ground from the cells it covers.

    Returns ``(cell, reshaped, outside)``: the new cell (``drawn`` within the cells' ground,
    made of the pieces it takes, so that its vertices are theirs), the cells it took ground
    from (code → what is left, an empty polygon where nothing is), and the pieces of ``drawn``
    beyond the cells' ground above ``tolerance_m2`` (a drawing that reaches them is refused by
    the caller). ``cells`` in a metric CRS, ``drawn`` a polygon in it.

    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32648)
    >>> cell, reshaped, outside = carve(cells, box(5, 2, 15, 8))
    >>> cell.area, sorted(reshaped), {c: g.area for c, g in reshaped.items()}, len(outside)
    (60.0, ['A', 'B'], {'A': 70.0, 'B': 70.0}, 0)
    """
    _metric(cells)
    geoms = _by_code(cells)
    ground = _union(geoms.values())
    outside = _pieces(shapely.difference(drawn, ground), tolerance_m2)
    taken = _near(geoms, drawn)
    pieces, reshaped = [], {}
    for code in taken:
        piece = polygons_of(shapely.intersection(geoms[code], drawn))
        if piece.is_empty:
            continue
        pieces.append(piece)
        reshaped[code] = polygons_of(shapely.difference(geoms[code], drawn))
    return polygons_of(_union(pieces)), reshaped, outside


def beyond(code: str, pieces: np.ndarray, crs) -> gpd.GeoDataFrame:
    """The problems of a drawn cell ``code`` reaching beyond the plan's ground by ``pieces``
    (the third answer of :func:`carve`), as :func:`check_edit` gives them."""
    rows = []
    for piece in pieces:
        m2 = shapely.area(piece)
        rows.append(_row("edit_outside", [code], m2, f"画出的网格 {code} 越出方案原有范围 {m2:,.1f} 平方米，未添加",
                         f"The drawn cell {code} reaches {m2:,.1f} m² beyond the plan's ground; it was not added", piece))  # fmt: skip
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=COLUMNS), geometry="geometry", crs=crs)
