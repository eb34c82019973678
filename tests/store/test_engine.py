"""The SpatiaLite engine and GDAL live in one process without crashing it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from gridmap.config import Settings
from gridmap.store.db import make_engine
from gridmap.store.schema import upgrade
engine = make_engine(Settings(database_url="sqlite:///" + sys.argv[1] + "/g.db"))
upgrade(engine)  # mod_spatialite is loaded here
import geopandas as gpd
from shapely import box
gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(sys.argv[1] + "/x.gpkg")
import pyogrio
print(pyogrio.list_layers(sys.argv[1] + "/x.gpkg")[0][0])
"""


def test_geopackage_after_a_spatialite_connection(tmp_path):
    # a fresh interpreter: the crash depended on which library was loaded first
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "x"
