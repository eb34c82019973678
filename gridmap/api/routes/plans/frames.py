"""Frames in the plans routes: projected to metres for the rules, and written for the answer —
rows as records, cells as GeoJSON, problems that name their places (名称在前, 编号在后), and a
plan's fields with the Chinese name of its grid layer."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd

from gridmap.core.gap_names import name_text_en, name_text_zh, names_of, place_names
from gridmap.crs import metric_crs_for
from gridmap.io.geojson_text import frame_collection
from gridmap.layers import GRID_LAYER_EXAMPLES, STORAGE_CRS


def features_of(frame: gpd.GeoDataFrame) -> dict:
    """A frame as a GeoJSON FeatureCollection (lon/lat) to put in an answer, written by the one
    GeoJSON writer (:mod:`gridmap.io.geojson_text`)."""
    return json.loads(frame_collection(frame.to_crs(STORAGE_CRS)))


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts."""
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def metric(frame: gpd.GeoDataFrame, *others: gpd.GeoDataFrame):
    """``frame`` and ``others`` in the metric CRS of ``frame``."""
    crs = metric_crs_for(frame)
    return [f.to_crs(crs) for f in (frame, *others)]


def named_problems(problems: pd.DataFrame, **layers: pd.DataFrame) -> pd.DataFrame:
    """``problems`` whose messages name the cells, communities and compounds they mention as
    ``玉林一网格（DJ503）`` instead of bare codes, and ``place``: the name and code of the
    place each problem is about. ``layers``: frames with ``code`` and ``name`` by layer
    (``grid=cells, community=…, compound=…``).

    >>> problems = pd.DataFrame({"code": ["DJ503"], "message_zh": ["DJ503 越出社区 S1 边界 9 平方米"],
    ...                          "message_en": ["DJ503 crosses the boundary of community S1"]})
    >>> cells = pd.DataFrame({"code": ["DJ503"], "name": ["玉林一网格"]})
    >>> named = named_problems(problems, grid=cells, community=pd.DataFrame({"code": ["S1"], "name": ["玉林社区"]}))
    >>> named["message_zh"][0], named["place"][0]
    ('玉林一网格（DJ503）越出玉林社区（S1）边界 9 平方米', '玉林一网格（DJ503）')
    """
    names = place_names(names_of(layers))
    out = problems.copy()
    out["message_zh"] = [name_text_zh(str(t), names) for t in out["message_zh"].fillna("")]
    out["message_en"] = [name_text_en(str(t), names) for t in out["message_en"].fillna("")]
    if "code" in out:
        out["place"] = [f"{names[c]}（{c}）" if c in names else c for c in out["code"]]
    return out


def with_layer_name(meta: dict) -> dict:
    """A plan's fields plus ``grid_layer_zh``, the Chinese name of its grid layer (党建网格 …),
    ``None`` for a layer without one."""
    return {**meta, "grid_layer_zh": GRID_LAYER_EXAMPLES.get(meta["grid_layer"])}
