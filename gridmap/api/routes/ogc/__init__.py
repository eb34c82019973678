"""OGC API – Features, Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), so QGIS and GDAL connect directly.

Collections are the layers with geometry except members (personal data, served only in aggregate);
each grid layer is its own collection ``grid_<name>``. Every resource is served as JSON and HTML,
links to itself in both (``self``, ``alternate``), and every failure is the standard's exception
document (``code``, ``description``) with gridmap's Chinese and English messages beside it.

One router, built in ``routing`` (exception documents, responses documented with the standard's
building blocks); ``collection_index`` says which layer each collection is, ``html`` serves every
resource as HTML too and links it to itself in both. The modules below add their routes to it
when imported, in this order, which is the order requests are matched and the API definition lists
them:

- ``catalog``: landing page, conformance, collections, one collection
- ``items``: the features of a collection and one feature (GeoJSON text from :mod:`gridmap.io.geojson_text`)
- ``openapi``: the API definition, which describes the routes added before it
"""

from __future__ import annotations

# imported for the routes they add, in the order above
from gridmap.api.routes.ogc import catalog, items, openapi  # noqa: F401
from gridmap.api.routes.ogc.routing import router

__all__ = ["router"]
