"""GeoJSON text of OGC items: the database writes each feature
(:func:`gridmap.store.query.query_geojson`); here the collection is put around them."""

from __future__ import annotations

import json


def feature_collection(features: str, links: list[dict], extra: dict) -> str:
    """A FeatureCollection of ``features`` (Feature texts joined by commas), with ``extra``
    members (``numberMatched`` …) and ``links`` before them."""
    head = json.dumps({"type": "FeatureCollection", **extra, "links": links}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + features + "]}"
