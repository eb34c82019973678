"""What the exports and the report write is valid at the precision it is written.

GeoJSON (RFC 7946), CSV and XLSX write 7 decimals. Rounded plainly, a cell whose ring nearly
touches itself crosses itself; snap-rounded alone, it may take the border it shares with its
neighbour through other grid points than the neighbour's, and the two overlap. And a corner of a
cell lying on its neighbour's border, where the neighbour has no vertex, is rounded into the
neighbour. Hand-made cells of each kind go through the real writer in every format: one with an
inlet 30 m long and 2e-8 degrees wide at its mouth, which opens on the border with its
neighbour; one with a corner on its neighbour's slanted border; one with a spike. The report's
maps write coordinates as stored (nothing rounded, so nothing broken); GeoPackage stores doubles.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box

from gridmap.io.write import write_frame
from gridmap.maps.draw import add_units

STEP = 1e-7  # the grid of 7 decimals
INTERIORS = "T********"  # the interiors of two shapes meet: they overlap
INLET = shapely.from_wkt(
    "POLYGON ((104 30, 104.0010004469 30, 104.00100008716497 30.000602066996304, "
    "104.00070008715204 30.000602088630664, 104.00100007256118 30.000602110265024, "
    "104.0009998494 30.001, 104 30.001, 104 30))"
)
NEIGHBOUR = shapely.from_wkt(
    "POLYGON ((104.0010004469 30, 104.002 30, 104.002 30.001, 104.0009998494 30.001, "
    "104.0010004469 30))"
)
CORNER = shapely.Polygon(
    [(104, 30.004), (104.00100004, 30.004), (104.00100008, 30.0045), (104.00100014, 30.005), (104, 30.005)]
)  # fmt: skip
BESIDE = shapely.Polygon(
    [(104.00100004, 30.004), (104.002, 30.004), (104.002, 30.005), (104.00100014, 30.005)]
)  # its border passes 1e-8 east of CORNER's corner: the two only touch
SPIKE = shapely.Polygon(
    [(104, 30.002), (104.001, 30.002), (104.001, 30.003), (104.0005, 30.003),
     (104.0005, 30.00200004), (104.00049999, 30.003), (104, 30.003)]
)  # fmt: skip


def _cells() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["inlet", "neighbour", "corner", "beside", "spike"]},
        geometry=[INLET, NEIGHBOUR, CORNER, BESIDE, SPIKE],
        crs=4326,
    )


def read_back(path, fmt: str) -> np.ndarray:
    """The geometries of a written file as a GIS reads them, in the order written."""
    if fmt == "geojson":
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        return np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in features])
    if fmt == "csv":
        return shapely.from_wkt(pd.read_csv(path, encoding="utf-8-sig")["wkt"].to_numpy())
    if fmt == "xlsx":
        rows = list(openpyxl.load_workbook(path).active.values)
        at = rows[0].index("wkt")
        return shapely.from_wkt(np.array([r[at] for r in rows[1:]]))
    return pyogrio.read_dataframe(path).geometry.to_numpy()


def test_the_hand_made_cells_are_what_plain_or_lone_rounding_breaks():
    cells = _cells().geometry.to_numpy()
    plain = shapely.transform(cells, lambda xy: xy.round(7))
    assert shapely.is_valid(cells).all()
    assert shapely.is_valid(plain).tolist() == [False, True, True, True, False]
    alone = shapely.set_precision(cells, STEP)
    assert not shapely.relate_pattern(cells[:4:2], cells[1:4:2], INTERIORS).any()
    over = 1e-12  # degrees², about 0.01 m²
    assert shapely.area(shapely.intersection(alone[0], plain[1])) > over
    assert shapely.relate_pattern(alone[2], alone[3], INTERIORS)
    assert shapely.area(shapely.intersection(plain[2], plain[3])) > over


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx"])
def test_cells_written_at_7_decimals_are_valid_and_only_touch(fmt, tmp_path):
    path = write_frame(_cells(), tmp_path / f"cells.{fmt}", fmt, "cells")
    written = read_back(path, fmt)
    assert shapely.is_valid(written).all()
    for one, other in [(0, 1), (2, 3)]:
        assert not shapely.relate_pattern(written[one], written[other], INTERIORS)
        assert shapely.touches(written[one], written[other])
    coordinates = shapely.get_coordinates(written)
    assert (np.abs(coordinates * 1e7 - np.round(coordinates * 1e7)) < 1e-6).all()  # on the grid
    for was, now in zip(_cells().geometry.to_numpy(), written, strict=True):
        # the stored shape but for what is narrower than a grid step
        assert shapely.area(shapely.symmetric_difference(was, now)) <= shapely.length(was) * STEP


def test_a_geopackage_keeps_the_cells_as_stored(tmp_path):
    path = write_frame(_cells(), tmp_path / "cells.gpkg", "gpkg", "cells")
    assert shapely.equals_exact(read_back(path, "gpkg"), _cells().geometry.to_numpy(), 0).all()


def test_a_polygon_nothing_of_which_is_a_grid_step_wide_is_written_empty_not_collapsed(tmp_path):
    hair = gpd.GeoDataFrame({"code": ["hair"]}, geometry=[box(104, 30, 104.00000004, 30.001)], crs=4326)  # fmt: skip
    for fmt in ("geojson", "csv", "xlsx"):
        (written,) = read_back(write_frame(hair, tmp_path / f"hair.{fmt}", fmt, "hair"), fmt)
        assert written.is_empty and written.is_valid, fmt


def test_the_report_maps_draw_the_stored_coordinates_unrounded():
    """Leaflet draws the report's maps from GeoJSON in the page: written with every digit, a
    cell that 7 decimals would break reaches the browser as valid as it is stored."""
    import folium

    m = folium.Map(tiles=None)
    add_units(m, _cells(), "grid", label=True)
    page = m.get_root().render()
    data = re.search(r"L\.geoJson\((\{.*?\}), \{", page, re.S).group(1)
    drawn = [shapely.from_geojson(json.dumps(f["geometry"])) for f in json.loads(data)["features"]]
    assert shapely.equals_exact(drawn, _cells().geometry.to_numpy(), 0).all()
