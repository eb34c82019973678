"""Grids and compounds drawn in CAD (DXF): closed outlines become features named by their labels.

A surveying or planning office draws boundaries as closed polylines (or hatches) on one CAD
layer and writes each area's name as a TEXT/MTEXT label inside it, often on a layer of its own.
GDAL's DXF driver reads the entities; here the outlines of one CAD layer are picked, polylines
left open by a hair are closed (larger gaps are refused, naming the entity), an outline and a
hatch of the same shape count once, and each outline takes the one label lying inside it.
``--source-layer 网格边界`` picks the outline layer, ``--source-layer 网格边界,网格注记`` the
label layer too (AutoCAD layer names cannot hold a comma). A DXF names no CRS: coordinates come
as drawn, most often in a CGCS2000 Gauss–Krüger zone that the user gives with ``--crs``.

Text: R2007 and later DXF are UTF-8; older ones are in the code page ``$DWGCODEPAGE`` names
(ANSI_936 = GBK on a Chinese system), and characters outside it are written as ``\\U+XXXX``.

Examples
--------
>>> decode_cad_text("\\\\U+7B2C\\\\U+4E00网格"), split_label("DJ01 第一网格"), split_label("第二\\n网格")
('第一网格', ('DJ01', '第一网格'), (None, '第二网格'))
>>> split_label("Grid 7 West")
(None, 'Grid 7 West')
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import InputFileError, RowProblem
from gridmap.io.cut_names import bad_file
from gridmap.io.encoding import gdal_encoding

CLOSE_GAP = 0.5  # a polyline whose ends are this close (CRS units: metres) is closed silently…
CLOSE_GAP_DEGREES = 5e-6  # …or, for a drawing in degrees, about half a metre
NEAR_CLOSED_SHARE = 0.1  # a gap under this share of its length: the polyline was meant closed
SAME_SHAPE = 0.99  # an outline and a hatch overlapping this much (of their union) are one area
CODE_PAGES = {"ANSI_936": "gb18030", "ANSI_950": "cp950", "ANSI_1252": "cp1252", "UTF-8": "utf-8"}
_config_lock = threading.Lock()  # GDAL's DXF settings are process-wide: one DXF read at a time


def refuse_dwg(path: Path) -> None:
    """A DWG (also one renamed .dxf) is refused with what to do in CAD."""
    with path.open("rb") as f:
        head = f.read(6)
    if path.suffix.lower() == ".dwg" or head.startswith(b"AC10"):
        raise InputFileError(
            f"{path.name} 是 AutoCAD 的 DWG 文件，无法直接读取。请在 AutoCAD 或中望CAD 中"
            "「另存为」DXF (文件类型选 AutoCAD DXF，R2000 或更新版本) 后导入 .dxf 文件。",
            f"{path.name} is an AutoCAD DWG drawing, which cannot be read directly. In AutoCAD "
            "or ZWCAD use Save As → AutoCAD DXF (R2000 or later) and load the .dxf file.",
        )


def decode_cad_text(text: str) -> str:
    """``\\U+XXXX`` (and GBK's ``\\M+5XXXX``) escapes of CAD text as the characters they are."""
    text = re.sub(r"\\U\+([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return re.sub(
        r"\\M\+5([0-9A-Fa-f]{4})",
        lambda m: bytes.fromhex(m.group(1)).decode("gb18030", errors="replace"),
        text,
    )


def split_label(label: str) -> tuple[str | None, str]:
    """A label's code (an ASCII word with a digit, as ``DJ01``, first or last) and name."""
    parts = label.split()
    ends = parts[:1] + parts[-1:] if len(parts) > 1 else []  # a code leads or ends the label
    codes = [p for p in ends if re.fullmatch(r"[A-Za-z0-9_.\-]*[0-9][A-Za-z0-9_.\-]*", p)]
    code = codes[0] if len(codes) == 1 and len(parts) > 1 else None
    name = " ".join(p for p in parts if p != code)
    return code, re.sub(r"(?<=[\u3000-\u9fff]) (?=[\u3000-\u9fff])", "", name)  # 第二 网格


def _dxf_encoding(path: Path, encoding: str | None) -> str:
    """The file's text encoding: the user's, UTF-8 from R2007 on, else ``$DWGCODEPAGE``'s.

    A code page the bytes do not decode in (a Chinese drawing labelled ANSI_1252) gives way
    to UTF-8 or GB18030, whichever the bytes are.
    """
    if encoding:
        return encoding
    data = path.read_bytes()
    head = data[:20000].decode("latin1")
    version = re.search(r"\$ACADVER\s*\r?\n\s*1\s*\r?\n\s*(AC\d{4})", head)
    page = re.search(r"\$DWGCODEPAGE\s*\r?\n\s*3\s*\r?\n\s*(\S+)", head)
    declared = "utf-8"
    if version and version.group(1) < "AC1021" and page:
        declared = CODE_PAGES.get(page.group(1).upper(), "gb18030")
    if not re.search(rb"[\x80-\xff]", data):
        return declared
    for candidate in (declared, "utf-8", "gb18030"):
        if candidate == "cp1252":
            continue  # any byte is CP1252: never proof that a drawing is Western
        try:
            data.decode(candidate)
            return candidate
        except UnicodeDecodeError:
            continue
    return declared


def _read_entities(path: Path, encoding: str) -> pd.DataFrame:
    """Every entity GDAL gives: CAD layer, handle, kind, text, 2D geometry."""
    options = {"DXF_CLOSED_LINE_AS_POLYGON": "TRUE", "DXF_ENCODING": gdal_encoding(encoding)}
    with _config_lock:
        before = {k: pyogrio.get_gdal_config_option(k) for k in options}
        pyogrio.set_gdal_config_options(options)
        try:
            meta, _fids, wkb, fields = pyogrio.raw.read(str(path))
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
            raise bad_file(path, exc) from exc
        finally:
            pyogrio.set_gdal_config_options(before)
    columns = dict(zip(meta["fields"], fields, strict=True))
    n = len(wkb)

    def text(name: str) -> list[str | None]:
        values = columns.get(name, [None] * n)
        return [decode_cad_text(v) if isinstance(v, str) else None for v in values]

    geometry = shapely.force_2d(shapely.from_wkb(wkb, on_invalid="fix"))
    return pd.DataFrame({
        "layer": text("Layer"), "handle": text("EntityHandle"), "kind": text("SubClasses"),
        "text": text("Text"), "geometry": geometry, "type": shapely.get_type_id(geometry),
    })  # fmt: skip


def _entity_name(kind: str | None) -> str:
    kind = kind or ""
    for sub, name in (("Hatch", "HATCH"), ("Polyline", "POLYLINE"), ("MText", "MTEXT"),
                      ("Text", "TEXT"), ("Circle", "CIRCLE"), ("Line", "LINE")):  # fmt: skip
        if sub in kind:
            return "LWPOLYLINE" if kind.endswith("AcDbPolyline") else name
    return "CAD"


def _where(geometry) -> str:
    x0, y0, x1, y1 = shapely.bounds(geometry)
    return f"x {x0:.1f}–{x1:.1f}, y {y0:.1f}–{y1:.1f}"


def _close_gaps(lines: pd.DataFrame, tolerance: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Open polylines whose ends lie within ``tolerance``, as the polygons they were meant to
    be (the end vertex moved onto the start: no sliver, no spike); and those that come back near their start (``gap`` under a tenth of their length)
    but not near enough, with their ``gap``. Other open lines are lines, not outlines."""
    geoms = lines["geometry"].to_numpy()
    gaps = shapely.distance(shapely.get_point(geoms, 0), shapely.get_point(geoms, -1))
    corners = shapely.get_num_points(geoms) - 1  # the end is (or is moved onto) the start
    gaps = np.where(corners >= 3, gaps, np.inf)
    closing = gaps <= tolerance
    coords, index = shapely.get_coordinates(geoms[closing], return_index=True)
    if len(coords):
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        coords[np.r_[starts[1:] - 1, len(coords) - 1]] = coords[starts]
    rings = shapely.linearrings(coords, indices=index)  # the end snapped onto the start
    closed = lines[closing].assign(geometry=shapely.polygons(rings), type=3)
    near = ~closing & (gaps < NEAR_CLOSED_SHARE * shapely.length(geoms))
    return closed, lines[near].assign(gap=gaps[near])


def _layer_counts(entities: pd.DataFrame, mask) -> str:
    counts = entities[mask].groupby("layer", sort=True).size()
    return ", ".join(f"{layer} ({n})" for layer, n in counts.items()) or "无 none"


def _pick_layers(entities: pd.DataFrame, source_layer: str | None, polygons, texts):
    """The outline layer and the label layer (None: any) the user chose or the file implies."""
    outline, label = None, None
    if source_layer:
        parts = [p.strip() for p in re.split(r"[,，]", source_layer)]
        outline, label = parts[0] or None, (parts[1] or None) if len(parts) > 1 else None
    found = _layer_counts(entities, polygons)
    layers = set(entities.loc[polygons, "layer"])
    if outline is None and len(layers) > 1:
        raise InputFileError(
            f"DXF 中有多个图层含有闭合图形 (图层及面数: {found})，请用 --source-layer 指定边界所在的"
            "CAD 图层，如 --source-layer 网格边界 (标注在另一图层时: --source-layer 网格边界,网格注记)。",
            f"Several CAD layers hold closed shapes (layer and count: {found}); choose the boundary "
            "layer with --source-layer (and the label layer after a comma).",
        )
    if outline is None and layers:
        outline = layers.pop()
    if outline is None or outline not in set(entities.loc[polygons, "layer"]):
        lines = _layer_counts(entities, entities["type"].isin([1, 5]))
        raise InputFileError(
            f"DXF 中{'图层 ' + outline + ' 上' if outline else ''}没有闭合的多段线或填充 (HATCH)。"
            f"含闭合图形的图层: {found}；含线的图层: {lines}。请在 CAD 中把边界画成闭合多段线"
            "(PEDIT → 闭合) 后再导入，或用 --source-layer 选择正确的图层。",
            f"The DXF has no closed polyline or hatch{' on layer ' + outline if outline else ''}. "
            f"Layers with closed shapes: {found}; with lines: {lines}. Close the outlines in CAD "
            "(PEDIT → Close) or choose the right layer with --source-layer.",
        )
    if label is not None and label not in set(entities.loc[texts, "layer"]):
        raise InputFileError(
            f"DXF 中图层 {label} 上没有文字标注 (TEXT/MTEXT)。含文字的图层: {_layer_counts(entities, texts)}；"
            f"请用 --source-layer {outline},标注图层 选择其中之一。",
            f"The CAD layer {label} holds no text (TEXT/MTEXT). Layers with text: "
            f"{_layer_counts(entities, texts)}; choose one with --source-layer {outline},LABEL_LAYER.",
        )
    return outline, label


def _one_per_shape(shapes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """A hatch drawn over its own outline is one area, not two: the later copy is dropped.
    (Compared as repaired: a self-crossing outline is repaired, with a note, after reading.)"""
    geoms = shapely.make_valid(shapes["geometry"].to_numpy())
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    union = shapely.area(shapely.union(geoms[left], geoms[right]))
    same = np.unique(right[shared >= SAME_SHAPE * np.maximum(union, 1e-12)])
    keep = np.ones(len(shapes), dtype=bool)
    keep[same] = False
    return shapes[keep].reset_index(drop=True), len(same)


def read_cad(path: Path, *, encoding: str | None = None, source_layer: str | None = None):
    """The closed outlines of a DXF's boundary layer, each with its label's code and name.

    Returns a :class:`~gridmap.io.sources.RawTable`: the fields (``编号``, ``名称``, the CAD
    layer and handle), the geometries as drawn (no CRS), the outlines' numbers (1, 2 … in
    drawing order: the rows of every message), the outlines refused (no label, several
    labels, a gap too wide to close) as problems, and what was assumed as warnings.
    """
    from gridmap.io.sources import RawTable

    refuse_dwg(path)
    used = _dxf_encoding(path, encoding)
    entities = _read_entities(path, used)
    projected = bool(len(entities)) and np.nanmax(np.abs(shapely.bounds(entities["geometry"].to_numpy()))) > 360  # fmt: skip
    tolerance = CLOSE_GAP if projected else CLOSE_GAP_DEGREES
    polygons = entities["type"].isin([3, 6]).to_numpy()
    texts = (entities["type"] == 0).to_numpy() & entities["text"].fillna("").str.strip().ne("").to_numpy()  # fmt: skip
    lines = entities[entities["type"] == 1]
    closed_lines, gapped = _close_gaps(lines, tolerance)
    if len(closed_lines):  # almost closed outlines count when a layer is chosen
        entities = pd.concat([entities, closed_lines])
        polygons = np.concatenate([polygons, np.ones(len(closed_lines), dtype=bool)])
        texts = np.concatenate([texts, np.zeros(len(closed_lines), dtype=bool)])
    outline, label_layer = _pick_layers(entities, source_layer, polygons, texts)
    on_layer = polygons & (entities["layer"] == outline).to_numpy()
    shapes = entities[on_layer].sort_index(kind="stable").reset_index(drop=True)  # drawing order
    shapes, doubles = _one_per_shape(shapes)
    warnings = _notes(used, outline, len(shapes), doubles, tolerance, lines, closed_lines, gapped)
    rows = np.arange(1, len(shapes) + 1)
    gapped = gapped[gapped["layer"] == outline]
    problems = _gap_problems(gapped, len(shapes), tolerance)
    label_mask = texts & ((entities["layer"] == label_layer).to_numpy() if label_layer else True)
    labels = entities[label_mask].reset_index(drop=True)
    frame, keep, label_problems = _labelled(shapes, labels, rows, None if label_layer else outline)
    problems = label_problems + problems
    return RawTable(
        frame=frame, geometry=shapes["geometry"].to_numpy()[keep], crs=None,
        row_numbers=rows[keep], encoding=used, source_name=path.name,
        problems=problems, warnings=warnings,
    )  # fmt: skip


def _notes(
    used: str,
    outline: str,
    count: int,
    doubles: int,
    tolerance: float,
    lines: pd.DataFrame,
    closed_lines: pd.DataFrame,
    gapped: pd.DataFrame,
) -> list[str]:
    """What the reader assumed: the encoding and layer, polylines closed, hatches and open
    lines of the outline layer left out."""
    notes = [
        f"DXF 文字编码 {used}；边界图层 {outline}，{count} 个闭合图形"
        f" / DXF text read as {used}; outlines on CAD layer {outline}: {count}"
    ]
    mine = closed_lines["layer"] == outline
    if mine.any():
        handles = ", ".join(closed_lines.loc[mine, "handle"].astype(str))
        notes.append(
            f"{int(mine.sum())} 条多段线首尾相距不到 {tolerance:g} (坐标单位)，已自动闭合 (句柄 {handles})"
            f" / {int(mine.sum())} polyline(s) whose ends were under {tolerance:g} apart were closed (handles {handles})"
        )
    if doubles:
        notes.append(
            f"{doubles} 个填充 (HATCH) 与边界线形状相同，只导入一次 / {doubles} hatch(es) repeat an outline and were counted once"
        )
    left_open = int(
        (lines["layer"] == outline).sum() - mine.sum() - (gapped["layer"] == outline).sum()
    )
    if left_open:
        notes.append(
            f"图层 {outline} 上有 {left_open} 条未闭合的线，不是边界，未导入 / {left_open} open line(s) on {outline} are no outline and were left out"
        )
    return notes  # fmt: skip


def _gap_problems(gapped: pd.DataFrame, after: int, tolerance: float) -> list[RowProblem]:
    """Polylines that come back near their start but not near enough: one problem each,
    numbered after the outlines."""
    out = []
    for i, (_, entity) in enumerate(gapped.iterrows(), start=after + 1):
        gap = entity["gap"]
        out.append(RowProblem(
            i, None,
            f"{_entity_name(entity['kind'])} (句柄 {entity['handle']}，{_where(entity['geometry'])}) 未闭合，"
            f"首尾相距 {gap:.2f}，超过自动闭合的 {tolerance:g}：请在 CAD 中闭合 (PEDIT → 闭合) 后重新导出",
            f"{_entity_name(entity['kind'])} (handle {entity['handle']}, {_where(entity['geometry'])}) is not "
            f"closed: its ends are {gap:.2f} apart, more than {tolerance:g}; close it in CAD (PEDIT → Close)",
        ))  # fmt: skip
    return out


def _labelled(shapes: pd.DataFrame, labels: pd.DataFrame, rows: np.ndarray, outline: str | None):
    """Each outline's one label (code and name); outlines with none or several are refused.

    ``outline`` is the outline layer when no label layer was chosen (the hint names it)."""
    geoms = shapely.make_valid(shapes["geometry"].to_numpy())  # only to find the labels
    inside, owner = shapely.STRtree(geoms).query(labels["geometry"].to_numpy(), predicate="within")
    found: dict[int, list[int]] = {}
    for label, shape in zip(inside, owner, strict=True):
        found.setdefault(int(shape), []).append(int(label))
    codes, names, problems = [], [], []
    keep = np.zeros(len(shapes), dtype=bool)
    hint_zh = f"，或用 --source-layer {outline},标注图层 指定标注所在的图层" if outline else ""
    hint_en = f", or name the label layer: --source-layer {outline},LABEL_LAYER" if outline else ""
    for i, shape in shapes.iterrows():
        mine = found.get(i, [])
        what = (
            f"{_entity_name(shape['kind'])} (句柄 {shape['handle']}，{_where(shape['geometry'])})"
        )
        what_en = (
            f"{_entity_name(shape['kind'])} (handle {shape['handle']}, {_where(shape['geometry'])})"
        )
        if len(mine) == 1:
            code, name = split_label(labels.at[mine[0], "text"])
            codes.append(code or name)
            names.append(name)
            keep[i] = True
            continue
        if not mine:
            zh, en = (
                "内没有文字标注 (TEXT/MTEXT)：请在图形内写上名称",
                "holds no text label (TEXT/MTEXT): write its name inside it",
            )
        else:
            given = "、".join(f"「{labels.at[j, 'text']}」({labels.at[j, 'layer']})" for j in mine)
            zh, en = f"内有 {len(mine)} 个文字标注 {given}，无法确定名称：请只保留一个{hint_zh}", f"holds {len(mine)} labels {given}; keep one{hint_en}"  # fmt: skip
        problems.append(RowProblem(int(rows[i]), "名称", f"{what} {zh}", f"{what_en} {en}"))
    frame = pd.DataFrame({
        "编号": codes, "名称": names,
        "cad_layer": shapes.loc[keep, "layer"].to_numpy(), "cad_handle": shapes.loc[keep, "handle"].to_numpy(),
    })  # fmt: skip
    return frame, keep, problems
