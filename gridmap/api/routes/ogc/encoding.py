"""GeoJSON text of OGC items, written directly: coordinates to 7 decimals, times as RFC 3339 UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import shapely

_encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode


def _value(v):
    """JSON-ready property: times as RFC 3339 UTC (SQLite hands back naive UTC)."""
    if isinstance(v, datetime):
        v = v if v.tzinfo else v.replace(tzinfo=UTC)
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return v


def rows_json(page, with_links: list[dict], extra: dict) -> str:
    """A FeatureCollection straight from driver rows: no DataFrame on the items path."""
    geoms = (
        shapely.transform(page.geoms, lambda c: np.round(c, 7)) if len(page.geoms) else page.geoms
    )
    names = page.names[1:]  # without the row id
    code = names.index("code")
    parts = [
        f'{{"type":"Feature","id":{_encode(str(row[1 + code]))},"geometry":{g or "null"},'
        f'"properties":{_encode({n: _value(v) for n, v in zip(names, row[1:], strict=True)})}}}'
        for row, g in zip(page.rows, shapely.to_geojson(geoms) if len(geoms) else [], strict=True)
    ]
    head = json.dumps(
        {"type": "FeatureCollection", **extra, "links": with_links}, ensure_ascii=False
    )
    return head[:-1] + ',"features":[' + ",".join(parts) + "]}"


def features_json(frame, with_links: list[dict] | None = None, extra: dict | None = None) -> str:
    """A FeatureCollection of the rows of a GeoDataFrame, its ``code`` as each feature's id."""
    geoms = shapely.transform(frame.geometry.values, lambda c: np.round(c, 7))
    geo_texts = shapely.to_geojson(geoms)
    props = frame.drop(columns=["id", "geometry"])
    for column in props.columns:
        if pd.api.types.is_datetime64_any_dtype(props[column]):
            utc = (
                props[column].dt.tz_localize("UTC")
                if props[column].dt.tz is None
                else props[column]
            )
            props[column] = utc.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    props = props.astype(object)
    props = props.where(props.notna(), None)
    parts = [
        f'{{"type":"Feature","id":{json.dumps(str(r["code"]), ensure_ascii=False)},'
        f'"geometry":{g},"properties":{json.dumps(r, ensure_ascii=False, default=str)}}}'
        for r, g in zip(props.to_dict("records"), geo_texts, strict=True)
    ]
    head = {"type": "FeatureCollection", **(extra or {}), "links": with_links or []}
    text = json.dumps(head, ensure_ascii=False)
    return text[:-1] + ',"features":[' + ",".join(parts) + "]}"
