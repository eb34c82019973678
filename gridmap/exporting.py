"""``gridmap export``: a layer, or the gaps or proposals of the latest analysis → a file.

The files are for QGIS, ArcGIS or Excel: GeoJSON (RFC 7946), GeoPackage, CSV or XLSX (see
:mod:`gridmap.io.write`; CSV and XLSX cells that a spreadsheet would run as formulas are made
inert). Personal fields (members' names, phones, addresses) are left out unless
asked for — and with them, for members, the columns nobody mapped on import, which may be just as
personal, and their homes: without personal fields a member is placed by the code of their
compound only, never by a point or a building. An export that includes them is recorded in the
change log.

Examples
--------
>>> export_names("grid", "party", "gpkg")
('grid_party.gpkg', '党建网格.gpkg')
>>> export_names("gaps", None, "csv")
('gaps.csv', '留白与问题.csv')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, Engine

from gridmap.errors import NotFoundError
from gridmap.io.write import FORMATS, export_format, write_frame
from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS
from gridmap.permissions import Area, in_area
from gridmap.store import features, results
from gridmap.store.db import connect, transaction

# What an analysis leaves besides layers, with the Chinese name its files get.
RESULTS = {"gaps": "留白与问题", "proposals": "组织建议"}
EXPORTABLE = (*LAYERS, *RESULTS)


def export_names(layer: str, grid_layer: str | None, fmt: str) -> tuple[str, str]:
    """An ASCII file name and a Chinese one for an export (HTTP downloads offer both)."""
    grid_layer = grid_layer if layer == "grid" else None
    ascii_name = f"{layer}_{grid_layer}" if grid_layer else layer
    ascii_name = re.sub(r"[^A-Za-z0-9_.-]", "_", ascii_name)
    if layer in RESULTS:
        chinese = RESULTS[layer]
    elif grid_layer:
        chinese = GRID_LAYER_EXAMPLES.get(grid_layer, f"网格_{grid_layer}")
    else:
        chinese = LAYERS[layer].label_zh
    return ascii_name + FORMATS[fmt], chinese + FORMATS[fmt]


def _unknown_layer(layer: str) -> NotFoundError:
    return NotFoundError(
        f"没有图层 {layer}。可导出: {', '.join(EXPORTABLE)}。",
        f"No layer {layer}; exportable: {', '.join(EXPORTABLE)}.",
    )


def _read_result(conn: Connection, what: str) -> pd.DataFrame:
    run = results.latest_run(conn, "analyze")
    if run is None:
        raise NotFoundError(
            "还没有分析结果，请先运行 gridmap analyze。", "No analysis yet; run gridmap analyze."
        )
    if what == "gaps":
        return results.read_gaps(conn, run)
    return results.read_branch_proposals(conn, run)


def _read_layer(
    conn: Connection, layer: str, grid_layer: str | None, include_personal: bool
) -> pd.DataFrame:
    if layer == "grid" and grid_layer not in features.grid_layers(conn):
        known = ", ".join(features.grid_layers(conn)) or "无 / none"
        raise NotFoundError(
            f"没有网格图层 {grid_layer or '(未指定)'}。已有: {known}。"
            "用 --grid-layer (接口参数 grid_layer) 指定。",
            f"No grid layer {grid_layer or '(none given)'}; existing: {known}. "
            "Choose one with --grid-layer (API parameter grid_layer).",
        )
    frame = features.read_features(
        conn, layer, grid_layer=grid_layer, include_personal=include_personal
    )
    frame = frame.drop(columns=["id"])
    if LAYERS[layer].personal_fields and not include_personal:
        # Columns nobody mapped on import (ID numbers, birthdays …) may be personal as well.
        frame = frame.drop(columns=["properties"], errors="ignore")
    return frame


def _compound_instead_of_home(conn: Connection, members: gpd.GeoDataFrame) -> pd.DataFrame:
    """Members with the code of the compound they live in (``None``: in none) instead of their
    home point and building: a home is personal data as much as an address is."""
    compounds = features.read_features(conn, "compound", columns=())
    placed = gpd.sjoin(members[["geometry"]], compounds[["code", "geometry"]], predicate="within", how="left")  # fmt: skip
    compound = placed["code"].groupby(level=0).first().reindex(members.index)
    table = pd.DataFrame(members.drop(columns=[members.geometry.name, "building_code"]))
    return table.assign(compound_code=compound.astype(object).where(compound.notna(), None))


def export_layer(
    engine: Engine,
    layer: str,
    path: str | Path,
    fmt: str | None = None,
    *,
    grid_layer: str | None = None,
    include_personal: bool = False,
    actor: str = "cli",
    area: Area | None = None,
    hidden_gap_layers: Sequence[str] = (),
) -> tuple[Path, int]:
    """Write ``layer`` (a layer, ``gaps`` or ``proposals``) to ``path``; returns the path and
    the number of features written.

    ``fmt`` is geojson, gpkg, csv or xlsx; ``None`` takes it from the suffix of ``path``. Gaps and
    proposals are those of the latest ``gridmap analyze`` run; they hold no personal data.
    ``area`` keeps only the features lying in it (an account's area; ``None``: everything);
    ``hidden_gap_layers`` leaves out the gaps about features of those layers (members' gaps for
    roles that may not see personal data).

    Examples
    --------
    After ``gridmap demo``'s analysis, ``export_layer(engine, "gaps", "留白.gpkg")`` writes its
    gaps and returns ``(PosixPath('留白.gpkg'), 757)``.
    """
    fmt = export_format(fmt, path)
    if layer not in EXPORTABLE:
        raise _unknown_layer(layer)
    with connect(engine) as conn:
        if layer in RESULTS:
            frame = _read_result(conn, layer)
        else:
            frame = _read_layer(conn, layer, grid_layer, include_personal)
    if area is not None:
        frame = frame[in_area(frame, area)]
    if layer == "gaps" and hidden_gap_layers:
        frame = frame[~frame["layer"].isin(list(hidden_gap_layers))]
    if layer == "member" and not include_personal:
        with connect(engine) as conn:
            frame = _compound_instead_of_home(conn, frame)
    out = write_frame(frame, path, fmt, Path(export_names(layer, grid_layer, fmt)[0]).stem)
    if include_personal and layer in LAYERS and LAYERS[layer].personal_fields:
        with transaction(engine) as conn:
            summary = {"file": out.name, "features": len(frame), "format": fmt,
                       "area": area.code if area is not None else None}  # fmt: skip
            features.log_change(conn, actor, "export_personal", layer, summary)
    return out, len(frame)
