"""Whether a free edit of a plan's cells keeps them a tiling (网格无重叠、无留白), and the welding
that keeps a border shared by two cells one line.

The editor draws cells freely where units cannot express a border; every edit — a vertex
dragged, inserted or removed, a cell drawn, cut or merged — is checked here before it is kept:

- :func:`check_edit` — the cells before and after an edit: refused when it opens an overlap, leaves
  ground of the plan to no cell (留白), reaches beyond the plan's ground, changes a locked cell or
  leaves a cell invalid; each problem with its place;
- :func:`carve` — a newly drawn cell takes its ground from the cells it covers instead of
  overlapping them;
- :func:`weld` — a vertex of one cell lying on the border of its neighbour (within a hair) becomes
  a vertex of the neighbour too, as QGIS's topological editing does, so that dragging it later
  moves both.

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


def _snap(geom, points, tolerance: float):
    """``geom`` snapped to ``points``, of its own type: GEOS gives a one-part MultiPolygon (as
    plans store cells) back as a Polygon, which would count as a change."""
    welded = shapely.snap(geom, points, tolerance)
    if geom.geom_type == "MultiPolygon" and welded.geom_type == "Polygon":
        welded = shapely.MultiPolygon([welded])
    return welded


def weld(
    cells: gpd.GeoDataFrame, codes: Iterable[str], tolerance: float, *, fixed: Iterable[str] = ()
) -> dict[str, object]:
    """The cells around ``codes`` with their neighbours' vertices that lie on their borders.

    A vertex of a cell within ``tolerance`` (in the CRS's units) of a neighbour's border is made
    a vertex of the neighbour, and a neighbour's vertex that near one of the cell's vertices
    becomes that vertex: a border shared by two cells then has the same vertices on both sides,
    so dragging one moves both (a cut, a merge or a drawn cell leaves new corners on the
    neighbours' borders). Returns code → geometry for the cells whose outline gained or moved a
    vertex; the others, and the cells in ``fixed`` (locked ones, which only lend their
    vertices), are unchanged.

    >>> from shapely import box, Polygon
    >>> cells = gpd.GeoDataFrame({"code": ["A1", "A2", "B"]}, geometry=[
    ...     box(0, 0, 4, 1.5), box(0, 1.5, 4, 3), Polygon([(4, 0), (9, 1), (8, 4), (4, 3)])])
    >>> weld(cells, ["A1", "A2"], 1e-9)["B"].wkt
    'POLYGON ((4 0, 9 1, 8 4, 4 3, 4 1.5, 4 0))'
    """
    geoms = _by_code(cells)
    touched = {str(c) for c in codes if str(c) in geoms}
    if not touched:
        return {}
    around = _union(shapely.buffer(geoms[c], tolerance) for c in touched)
    near = [c for c, g in geoms.items() if g is not None and not g.is_empty and shapely.intersects(g, around)]  # fmt: skip
    # the edited cells take their neighbours' vertices first, then the neighbours theirs: each
    # cell is snapped to the others as already welded, so two near vertices become one, not swap
    order = sorted(near, key=lambda c: c not in touched)
    out = {}
    for code in [c for c in order if c not in {str(f) for f in fixed}]:
        others = np.array([geoms[c] for c in order if c != code], dtype=object)
        if not len(others):
            continue
        welded = _snap(geoms[code], shapely.multipoints(shapely.get_coordinates(others)), tolerance)  # fmt: skip
        if not shapely.equals_exact(welded, geoms[code], 0.0) and shapely.is_valid(welded):
            out[code] = geoms[code] = welded
    return out


def weld_all(
    cells: gpd.GeoDataFrame, tolerance: float, *, fixed: Iterable[str] = ()
) -> dict[str, object]:
    """Every cell given the corners of its neighbours that lie on its border: the whole plan
    once, when the editor opens it. Cells painted from units meet in T-junctions (one cell's
    corner on a neighbour's edge without being its vertex), and such a corner could not be
    dragged without opening 留白; welded, it is a vertex of both (to within ``tolerance``, as
    the editor matches vertices). Unlike :func:`weld` no vertex moves: a corner is put on the
    edge at its foot, so each cell keeps its ground exactly (GEOS's snapping would move near
    vertices together and can fold an outline; its coverage cleaning resolves hair-thin
    overlaps, changing areas by parts per million). Neighbours come from a spatial index.
    Returns code → geometry for the cells that gained a vertex; cells in ``fixed`` only lend
    theirs.

    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"code": ["A1", "A2", "B"]},
    ...                          geometry=[box(0, 0, 4, 1.5), box(0, 1.5, 4, 3), box(4, 0, 8, 3)])
    >>> weld_all(cells, 1e-9)["B"].wkt
    'POLYGON ((8 0, 8 3, 4 3, 4 1.5, 4 0, 8 0))'
    >>> weld_all(cells, 1e-9, fixed=["B"])
    {}
    """
    geoms = {c: g for c, g in _by_code(cells).items() if g is not None and not g.is_empty}
    codes = list(geoms)
    if len(codes) < 2:
        return {}
    tree = shapely.STRtree(np.array([geoms[c] for c in codes], dtype=object))
    fixed = {str(f) for f in fixed}
    out = {}
    for code in codes:
        if code in fixed:
            continue
        near = [codes[i] for i in tree.query(geoms[code], predicate="dwithin", distance=tolerance)]
        others = np.array([geoms[c] for c in near if c != code], dtype=object)
        if not len(others):
            continue
        corners = np.unique(shapely.get_coordinates(others), axis=0)
        on = shapely.dwithin(shapely.points(corners), geoms[code].boundary, tolerance)
        welded = _with_corners(geoms[code], corners[on], tolerance)
        if welded is not None and shapely.is_valid(welded):
            out[code] = welded
    return out


def _with_corners(geom, corners: np.ndarray, tolerance: float):
    """``geom`` with each of ``corners`` within ``tolerance`` of an edge (and not of a vertex)
    put on that edge at its foot; ``None`` when none is."""
    if not len(corners):
        return None
    gained = False

    def ring(coords: np.ndarray) -> np.ndarray:
        nonlocal gained
        a, b = coords[:-1], coords[1:]
        ab = b - a
        length2 = np.maximum((ab**2).sum(axis=1), 1e-300)
        t = np.clip(((corners[:, None, :] - a[None]) * ab[None]).sum(axis=2) / length2, 0, 1)
        foot = a[None] + t[..., None] * ab[None]
        gap = np.hypot(*(corners[:, None, :] - foot).transpose(2, 0, 1))
        seg = gap.argmin(axis=1)
        rows = np.arange(len(corners))
        vertex = np.hypot(*(corners[:, None, :] - coords[None, :-1]).transpose(2, 0, 1)).min(axis=1)  # fmt: skip
        take = (gap[rows, seg] <= tolerance) & (vertex > tolerance)
        if not take.any():
            return coords
        gained = True
        at, where, points = seg[take], t[rows, seg][take], foot[rows, seg][take]
        order = np.lexsort((where, at))
        return np.insert(coords, at[order] + 1, points[order], axis=0)

    def polygon(p):
        return shapely.Polygon(ring(shapely.get_coordinates(p.exterior)),
                               [ring(shapely.get_coordinates(h)) for h in p.interiors])  # fmt: skip

    parts = [polygon(p) for p in shapely.get_parts(geom)]
    if not gained:
        return None
    return shapely.MultiPolygon(parts) if geom.geom_type == "MultiPolygon" else parts[0]
