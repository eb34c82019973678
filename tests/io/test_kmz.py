"""KMZ files as 奥维互动地图 and Google Earth export them: a zipped doc.kml, folders as layers."""

from __future__ import annotations

import zipfile

import pytest
import shapely
from factories import LAT0, LON0

from gridmap.errors import InputFileError
from gridmap.loading import LoadOptions, load_file
from gridmap.store.features import read_features

# irregular outlines, degrees from (LON0, LAT0)
OUTLINES = {
    "第一网格": [(0, 0), (0.003, 0.0004), (0.0028, 0.0037), (0.0012, 0.0041), (-0.0003, 0.003)],
    "第二网格": [(0.003, 0.0004), (0.0064, -0.0001), (0.0066, 0.0035), (0.0028, 0.0037)],
}


def ring(points) -> list[tuple[float, float]]:
    return [(LON0 + x, LAT0 + y) for x, y in points]


def placemark(name: str, points) -> str:
    coords = " ".join(f"{x:.7f},{y:.7f},0" for x, y in [*ring(points), ring(points)[0]])
    return (
        f"<Placemark><name>{name}</name><description>示例描述</description><Polygon>"
        f"<outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>"
        "</outerBoundaryIs></Polygon></Placemark>"
    )


def kmz(path, folders: dict[str, dict[str, list]], *, kml_name: str = "doc.kml"):
    """A KMZ with one KML folder per entry, and the icon image such exports carry."""
    body = "".join(
        f"<Folder><name>{folder}</name>{''.join(placemark(n, p) for n, p in marks.items())}</Folder>"
        for folder, marks in folders.items()
    )
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        f"<Document><name>示例街道网格</name>{body}</Document></kml>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(kml_name, kml.encode("utf-8"))
        zf.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    return path


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


def test_kmz_loads_like_its_kml_with_placemark_names(tmp_path, engine):
    path = kmz(tmp_path / "网格.kmz", {"党建网格": OUTLINES})
    report = load_file(engine, "grid", path, LoadOptions(grid_layer="party"))
    assert report.loaded == 2 and report.read.source == "网格.kmz"
    with engine.connect() as conn:
        grids = read_features(conn, "grid", grid_layer="party")
    assert sorted(grids["name"]) == ["第一网格", "第二网格"]
    by_name = dict(zip(grids["name"], grids.geometry, strict=True))
    for name, points in OUTLINES.items():
        drawn = shapely.Polygon(ring(points))
        assert by_name[name].symmetric_difference(drawn).area < 1e-6 * drawn.area


def test_kmz_folders_are_layers_chosen_with_source_layer(tmp_path, engine):
    folders = {"党建网格": OUTLINES, "综治网格": {"综治一格": OUTLINES["第一网格"]}}
    path = kmz(tmp_path / "奥维导出.kmz", folders)
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", path, LoadOptions(grid_layer="party"))
    assert "党建网格" in str(caught.value) and "综治网格" in str(caught.value)
    assert "--source-layer" in str(caught.value)
    options = LoadOptions(grid_layer="zongzhi", source_layer="综治网格")
    assert load_file(engine, "grid", path, options).loaded == 1


def test_kmz_whose_kml_is_not_called_doc_kml_still_loads(tmp_path, engine):
    path = kmz(tmp_path / "网格.kmz", {"网格": OUTLINES}, kml_name="网格导出.kml")
    assert load_file(engine, "grid", path, LoadOptions(grid_layer="party")).loaded == 2


def test_kmz_without_a_kml_says_so(tmp_path, engine):
    path = tmp_path / "坏.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n")
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", path, LoadOptions(grid_layer="party"))
    assert "没有 KML" in caught.value.message_zh and "no KML" in caught.value.message_en


def test_a_kml_renamed_kmz_is_refused_as_not_a_zip(tmp_path, engine):
    path = kmz(tmp_path / "网格.kmz", {"网格": OUTLINES})
    with zipfile.ZipFile(path) as zf:
        (tmp_path / "假.kmz").write_bytes(zf.read("doc.kml"))
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", tmp_path / "假.kmz", LoadOptions(grid_layer="party"))
    assert "XML" in caught.value.message_zh and "ZIP" in caught.value.message_zh
