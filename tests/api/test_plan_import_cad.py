"""A plan drawn in CAD imported through ``POST /api/plans/import``: the form takes the CRS and the
CAD layers as ``gridmap load`` does (``crs``, ``source_layer``), on SpatiaLite and PostGIS.

Before, the route read every file with no CRS and no layer: a drawing in Gauss–Krüger metres
(as surveying offices and CAD keep them) could not be imported at all.
"""

from __future__ import annotations

import ezdxf
import pytest
import shapely
from fastapi.testclient import TestClient
from servers import ADMIN, add_test_accounts

from gridmap.api.app import create_app
from gridmap.store.db import make_engine
from gridmap.store.plans import read_cells

X0, Y0 = 512_000, 3_386_000  # near Wuhan, CGCS2000 3-degree Gauss–Krüger CM 114°E (EPSG:4547)
CELLS = {
    "DJ01 示例第一网格": [(0, 0), (260, 30), (300, 240), (120, 330), (-20, 200)],
    "DJ02 示例第二网格": [(260, 30), (560, 0), (610, 260), (300, 240)],
}


def _drawing(path):
    """Two grid outlines on 网格边界, labelled on 网格注记, and a compound outline on 小区 with
    its own label, as a CAD drawing holds them."""
    doc = ezdxf.new("R2018")
    for layer in ("网格边界", "网格注记", "小区"):
        doc.layers.add(layer)
    msp = doc.modelspace()
    for label, points in CELLS.items():
        ring = [(X0 + x, Y0 + y) for x, y in points]
        msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": "网格边界"})
        inside = shapely.Polygon(ring).representative_point()
        msp.add_mtext(label, dxfattribs={"layer": "网格注记", "insert": (inside.x, inside.y)})
    yard = [(X0 + 40, Y0 + 60), (X0 + 140, Y0 + 70), (X0 + 120, Y0 + 160)]
    msp.add_lwpolyline(yard, close=True, dxfattribs={"layer": "小区"})
    doc.saveas(path)
    return path


def _import(client, settings, path, **form):
    token = add_test_accounts(settings.database_url)[ADMIN]
    with open(path, "rb") as fh:
        return client.post(
            "/api/plans/import",
            data={"name": "CAD 方案", **form},
            files={"file": (path.name, fh, "application/dxf")},
            headers={"Authorization": f"Bearer {token}"},
        )


def test_a_cad_plan_imports_with_its_crs_and_layers(db_settings, tmp_path):
    path = _drawing(tmp_path / "方案.dxf")
    with TestClient(create_app(db_settings)) as client:
        answer = _import(client, db_settings, path, crs="4547", source_layer="网格边界,网格注记")
    assert answer.status_code == 201, answer.text
    engine = make_engine(db_settings)
    with engine.connect() as conn:
        cells = read_cells(conn, answer.json()["id"]).sort_values("code")
    engine.dispose()
    assert cells["code"].tolist() == ["DJ01", "DJ02"]
    assert cells["name"].tolist() == ["示例第一网格", "示例第二网格"]
    drawn = [shapely.Polygon(points).area for points in CELLS.values()]
    assert cells.to_crs(4547).area.tolist() == pytest.approx(drawn, rel=1e-6)


@pytest.mark.parametrize(
    "form, said",
    [
        ({"source_layer": "网格边界,网格注记"}, "--crs"),  # metres, and no CRS given
        ({"crs": "4547"}, "网格边界"),  # two layers of outlines: which one
        ({"crs": "火星", "source_layer": "网格边界,网格注记"}, "无法识别的坐标系"),
    ],
)
def test_a_cad_plan_without_what_it_needs_says_what_to_give(db_settings, tmp_path, form, said):
    path = _drawing(tmp_path / "方案.dxf")
    with TestClient(create_app(db_settings)) as client:
        answer = _import(client, db_settings, path, **form)
    assert answer.status_code == 400, answer.text
    assert said in answer.text
