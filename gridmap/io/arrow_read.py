"""A vector file's fields and WKB read through GDAL's Arrow stream, as ``pyogrio.raw.read`` gives them.

``pyogrio.raw.read`` walks the features one by one and makes each value in Python: 0.6
CPU-seconds for 200,000 footprints with three text fields. GDAL's columnar Arrow stream
(``pyogrio.raw.open_arrow``) reads the same file in C in 0.07 s; nanoarrow (Apache Arrow's
small C library, no pandas-wide change as pyarrow would bring: pandas stores its strings in
pyarrow whenever it is installed) turns the columns into the arrays ``raw.read`` returns.
Written here because neither library gives ``raw.read``'s arrays from a stream: a column is
handed back only where its conversion is exactly ``raw.read``'s (text, integers, reals, their
nulls as ``raw.read`` has them); a file with any other field (dates, booleans, lists, binary)
returns ``None`` and is read by ``raw.read``, so every file reads as it did.

>>> import tempfile, pathlib, geopandas as gpd
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.gpkg"
>>> gpd.GeoDataFrame({"名称": ["甲", None], "户数": [3, 4]},
...                  geometry=gpd.points_from_xy([104.0, 104.1], [30.6, 30.7]), crs=4326).to_file(p)
>>> meta, wkb, fields = read_columns(str(p), None, {})
>>> list(meta["fields"]), fields[0].tolist(), fields[1].tolist(), len(wkb)
(['名称', '户数'], ['甲', None], [3, 4], 2)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyogrio

# the Arrow types of the fields read here (nanoarrow's names), and the numpy type of each number
_TEXT = {"STRING", "LARGE_STRING"}
_NUMBERS = {"INT16": np.int16, "INT32": np.int32, "INT64": np.int64, "FLOAT": np.float32, "DOUBLE": np.float64}  # fmt: skip


# the formats whose Arrow stream was checked against raw.read (tests/io/test_arrow_read.py);
# FlatGeobuf's is not read: after a feature without a shape, GDAL 3.12's stream hands back WKB
# offsets that start again from zero, so every shape after it comes out wrong
SUFFIXES = {".gpkg", ".shp", ".geojson", ".json"}


def read_columns(path: str, layer: str | None, kwargs: dict):
    """``(meta, wkb, fields)`` of the layer as ``pyogrio.raw.read`` returns them (without the
    feature ids), or ``None`` when the file is left to ``raw.read``: another format, a field of
    another type, or anything at all unexpected in the stream (``raw.read`` then reads the file,
    and says what is wrong with it, as it always has)."""
    if Path(path).suffix.lower() not in SUFFIXES:
        return None
    try:
        return _read(path, layer, kwargs)
    except Exception:
        return None


def _read(path: str, layer: str | None, kwargs: dict):
    import nanoarrow as na

    with pyogrio.raw.open_arrow(path, layer=layer, use_pyarrow=False, **kwargs) as (meta, stream):
        stream = na.ArrayStream(stream)
        names = [field.name for field in stream.schema.fields]
        types = [field.type.name for field in stream.schema.fields]
        geometry = meta["geometry_name"] or ("wkb_geometry" if meta.get("geometry_type") else None)  # fmt: skip
        fields = list(meta["fields"])
        if names != fields + ([geometry] if geometry in names else []):
            return None  # columns the meta does not describe (a FID column, a renamed geometry)
        if any(t not in _TEXT and t not in _NUMBERS for t in types[: len(fields)]):
            return None
        table = stream.read_all()
    children = [table.child(i) for i in range(len(names))]
    if not all(_offsets_sound(child) for child, t in zip(children, types, strict=True) if t not in _NUMBERS):  # fmt: skip
        return None
    columns = [_column(children[i], types[i]) for i in range(len(fields))]
    wkb = None
    if geometry in names:
        with warnings.catch_warnings():  # geoarrow.wkb is read as its storage, binary
            warnings.simplefilter("ignore")
            wkb = _objects(children[-1].to_pylist())
    return meta, wkb, columns


def _offsets_sound(array) -> bool:
    """Whether every chunk of a text or binary column has offsets that only grow and stay
    inside its data (what a reader of the stream takes on trust)."""
    for view in array.iter_chunk_views():
        width = np.int64 if view.storage_type.startswith("large") else np.int32
        offsets = np.frombuffer(view.buffer(1), dtype=width)[view.offset : view.offset + view.length + 1]  # fmt: skip
        if len(offsets) and (np.any(np.diff(offsets) < 0) or offsets[0] < 0 or offsets[-1] > len(view.buffer(2))):  # fmt: skip
            return False
    return True


def _column(array, arrow_type: str) -> np.ndarray:
    """One field as ``raw.read`` has it: text as objects (None where empty); whole numbers
    as integers, or as reals with NaN where any is empty; reals with NaN where empty."""
    if arrow_type in _TEXT:
        return _objects(array.to_pylist())
    nulls = sum(chunk.null_count for chunk in array.iter_chunk_views())
    if nulls:
        return np.array([np.nan if v is None else v for v in array.to_pylist()], dtype=np.float64)
    kind = _NUMBERS[arrow_type]
    parts = [
        np.frombuffer(view.buffer(1), dtype=kind)[view.offset : view.offset + view.length]
        for view in array.iter_chunk_views()
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype=kind)


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
