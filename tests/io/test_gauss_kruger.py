"""Gauss–Krüger eastings with or without the zone number in front (38 512 345 m or 512 345 m),
as surveying offices and CAD drawings write them: the import names the CRS to give instead of
refusing every row as "outside China".

Before: a file in zone 38 with eastings carrying the zone number, read with ``--crs 4547``
(the same zone by its central meridian, without the number), had every row refused, each as
outside China with "check --crs"; without ``--crs`` the message suggested 4544 whatever the
coordinates said.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pyproj
import pytest
import shapely

from gridmap.crs import gauss_kruger_hint
from gridmap.errors import CRSError
from gridmap.loading import LoadOptions, load_file
from gridmap.store.features import read_features

# an irregular compound near Wuhan (114.3°E, 30.6°N), CGCS2000 3-degree zone 38, CM 114°E
OUTLINE = [(28_800, 0), (29_050, 40), (29_120, 210), (28_960, 330), (28_780, 190)]
NORTHING = 3_386_000


def _write(path, *, prefixed: bool):
    """A CSV of one compound, its outline in WKT at eastings with or without the zone."""
    east = 38_500_000 if prefixed else 500_000
    ring = [(east + x, NORTHING + y) for x, y in OUTLINE]
    wkt = shapely.Polygon(ring).wkt
    path.write_text(f'小区编码,小区名称,WKT\nXQ01,示例甲小区,"{wkt}"\n', encoding="utf-8")
    return path


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


@pytest.mark.parametrize(
    "prefixed, crs, said",
    [
        (True, None, ["带有带号 38", "中央经线 114°E", "--crs 4526"]),
        (True, "4547", ["CM 114E", "500,000", "带有带号 38", "--crs 4526"]),
        (False, "4526", ["38,500,000", "不含带号", "114°E 为 4547"]),
        (False, None, ["不含带号", "114°E 为 4547"]),
    ],
)
def test_eastings_that_do_not_fit_the_crs_name_the_crs_to_give(tmp_path, engine, prefixed, crs, said):  # fmt: skip
    path = _write(tmp_path / "小区.csv", prefixed=prefixed)
    with pytest.raises(CRSError) as caught:
        load_file(engine, "compound", path, LoadOptions(crs=crs))
    for words in said:
        assert words in caught.value.message_zh + caught.value.message_en, (words, caught.value)
    with engine.connect() as conn:
        assert read_features(conn, "compound").empty  # nothing loaded


@pytest.mark.parametrize("prefixed, crs", [(True, "4526"), (False, "4547")])
def test_eastings_read_in_their_zone_load_with_the_drawn_area(tmp_path, engine, prefixed, crs):
    load_file(engine, "compound", _write(tmp_path / "小区.csv", prefixed=prefixed), LoadOptions(crs=crs))  # fmt: skip
    with engine.connect() as conn:
        compound = read_features(conn, "compound")
    assert compound["name"].tolist() == ["示例甲小区"]
    assert compound.to_crs(int(crs)).area.iloc[0] == pytest.approx(shapely.Polygon(OUTLINE).area, rel=1e-6)  # fmt: skip
    lon, lat = compound.geometry.iloc[0].centroid.coords[0]
    assert 114.2 < lon < 114.4 and 30.5 < lat < 30.7


def test_six_degree_zones_and_nothing_to_say():
    zh, en = gauss_kruger_hint(20_480_000)  # 6-degree zone 20, CM 117°E
    assert "6 度带" in zh and "中央经线 117°E" in zh and "--crs 4498" in zh and "6-degree" in en
    assert pyproj.CRS.from_epsg(4498).name == "CGCS2000 / Gauss-Kruger zone 20"
    assert gauss_kruger_hint(float("nan")) == ("", "")
    assert gauss_kruger_hint(60_000_000) == ("", "")


def test_cli_says_which_zone_without_a_traceback(tmp_path, sqlite_settings):
    path = _write(tmp_path / "小区.csv", prefixed=True)
    env = {**os.environ, "GRIDMAP_DATABASE_URL": sqlite_settings.database_url, "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "compound", str(path), "--crs", "4547"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "--crs4526" in "".join(run.stderr.split())  # the console may wrap the message
