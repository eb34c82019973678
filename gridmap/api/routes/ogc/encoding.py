"""GeoJSON text of OGC items: the database writes each feature
(:func:`gridmap.store.query.query_geojson`); the collection is put around them by the one GeoJSON
writer (:func:`gridmap.io.geojson_text.collection`)."""

from __future__ import annotations

from gridmap.io.geojson_text import collection


def feature_collection(features: str, links: list[dict], extra: dict) -> str:
    """A FeatureCollection of ``features`` (Feature texts joined by commas), with ``extra``
    members (``numberMatched`` …) and ``links`` before them."""
    return collection(features, {**extra, "links": links})
