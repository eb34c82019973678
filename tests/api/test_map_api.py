"""The JSON the map lives on, from a real server on an analysed demo, on both databases:
figures per unit, proposals, search, per-viewport features by zoom, GCJ-02 display, gzip."""

from __future__ import annotations

import gzip
import json

import httpx
import numpy as np
import pytest
import shapely
from servers import demo_server, headers, http


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "mapapi")


def get(server: str, path: str, **params) -> httpx.Response:
    return http.get(server + path, params=params, timeout=30)


def test_summary_names_the_run_and_its_rates(server):
    body = get(server, "/api/summary").json()
    assert body["run"] >= 1
    assert 0 < body["rates"]["org_coverage"] <= 1


def test_figures_add_up_from_communities_to_the_subdistrict(server):
    subdistrict = get(server, "/api/figures", level="subdistrict").json()
    communities = get(server, "/api/figures", level="community").json()
    grids = get(server, "/api/figures", level="grid").json()
    assert len(subdistrict) == 1 and len(communities) == 6
    total = subdistrict[0]
    assert total["households"] == 16730 and total["buildings"] == 1666
    assert total["members"] == 3069 == total["members_full"] + total["members_probationary"]
    # the planted compound outside every community (XQ169) is counted in the subdistrict only
    outside = get(server, "/api/figures/compound/XQ169").json()
    assert outside["community_code"] is None and outside["households"] > 0
    assert sum(c["households"] for c in communities) == total["households"] - outside["households"]
    # and members living in no building (planted: DY-FAR) only in the subdistrict's total
    unassigned = get(server, "/api/gaps", kind="member_unassigned").json()["features"]
    assert [f["properties"]["code"] for f in unassigned] == ["DY-FAR"]
    in_communities = total["members"] - outside["members"] - len(unassigned)
    assert sum(c["members"] for c in communities) == in_communities
    # every unified grid cell belongs to one community, and their households add up per community
    for community in communities:
        mine = [g for g in grids if g["community_code"] == community["code"]]
        assert mine and sum(g["households"] for g in mine) == community["households"]
    assert all(0 <= c["org_coverage"] <= 1 for c in communities)
    assert {c["name"] for c in communities} >= {"锦绣社区", "玉林社区"}


def test_one_compound_has_figures_proposal_and_why_it_is_a_gap(server):
    unit = get(server, "/api/figures/compound/XQ017").json()
    assert unit["level"] == "compound" and unit["code"] == "XQ017"
    assert unit["proposal"]
    kinds = {g["kind"] for g in unit["gaps"]}
    assert "property_without_org" in kinds  # planted: a property company without a Party org
    assert all(g["message_zh"] and g["message_en"] for g in unit["gaps"])


def test_unknown_unit_is_a_bilingual_404(server):
    r = get(server, "/api/figures/grid/NO-SUCH-GRID")
    assert r.status_code == 404
    assert "NO-SUCH-GRID" in r.text
    assert get(server, "/api/figures/planet/X").status_code == 422


def test_proposals_are_geojson_and_filter_by_community(server):
    every = get(server, "/api/proposals").json()
    assert every["type"] == "FeatureCollection" and len(every["features"]) > 10
    community = every["features"][0]["properties"]["community_code"]
    mine = get(server, "/api/proposals", community=community).json()["features"]
    assert 0 < len(mine) < len(every["features"])
    assert {f["properties"]["community_code"] for f in mine} == {community}


def test_search_by_code_prefix_and_by_chinese_name(server):
    hits = get(server, "/api/search", q="XQ13").json()
    assert hits and all(h["code"].startswith("XQ13") for h in hits)
    assert {"compound"} <= {h["layer"] for h in hits}
    west, south, east, north = hits[0]["bbox"]
    assert 103 < west <= east < 105 and 30 < south <= north < 31
    named = get(server, "/api/search", q="锦绣").json()
    assert named and all("锦绣" in (h["name"] or "") for h in named)
    assert get(server, "/api/search", q="").status_code == 422
    assert get(server, "/api/search", q="没有这个地方").json() == []
    # quotes and SQL in the search text are text, nothing more
    assert get(server, "/api/search", q="'; DROP TABLE compound; --").json() == []
    assert get(server, "/api/search", q="XQ132").json()[0]["code"] == "XQ132"


def test_features_by_viewport_are_limited_to_the_box(server):
    every = get(server, "/api/layers/building/features").json()["features"]
    x = [shapely.geometry.shape(f["geometry"]).centroid.x for f in every]
    y = [shapely.geometry.shape(f["geometry"]).centroid.y for f in every]
    box = (np.percentile(x, 40), np.percentile(y, 40), np.percentile(x, 60), np.percentile(y, 60))
    some = get(server, "/api/layers/building/features", bbox=",".join(map(str, box)), zoom=17)
    some = some.json()["features"]
    assert 0 < len(some) < len(every) / 4
    window = shapely.box(*box)
    assert all(shapely.geometry.shape(f["geometry"]).intersects(window) for f in some)


def vertices(doc: dict) -> int:
    return sum(shapely.get_num_coordinates(shapely.geometry.shape(f["geometry"])) for f in doc["features"])  # fmt: skip


def test_low_zoom_is_simplified_and_rounded(server):
    # unified grid cells: reshaped around compounds, so with many vertices
    fine = get(server, "/api/layers/grid:unified/features", zoom=18).json()
    coarse = get(server, "/api/layers/grid:unified/features", zoom=11).json()
    assert len(fine["features"]) == len(coarse["features"]) > 30
    assert vertices(coarse) < vertices(fine)
    for feature in fine["features"]:
        coords = shapely.get_coordinates(shapely.geometry.shape(feature["geometry"]))
        assert np.allclose(coords, np.round(coords, 6))
    # simplified shapes stay valid and close to the original: within a pixel of it at zoom 11
    # (≈ 70 m ≈ 0.0007°); on real, irregular cells the area may change by more than 5 %
    for a, b in zip(fine["features"], coarse["features"], strict=True):
        ga, gb = shapely.geometry.shape(a["geometry"]), shapely.geometry.shape(b["geometry"])
        assert gb.is_valid and gb.hausdorff_distance(ga) < 0.0007


def shapes(doc: dict) -> dict[tuple[str, str, str], shapely.Geometry]:
    """(kind, layer, code) → geometry of every gap of a GeoJSON answer."""
    return {
        (f["properties"]["kind"], f["properties"]["layer"], f["properties"]["code"]): shapely.geometry.shape(f["geometry"])
        for f in doc["features"]
    }  # fmt: skip


def test_gaps_of_a_box_are_those_meeting_it(server):
    every = shapes(get(server, "/api/gaps").json())
    dj503 = every[("uncovered_area", "grid:party", "DJ503")]
    west, south, east, north = dj503.bounds
    box = (west - 0.001, south - 0.001, east + 0.001, north + 0.001)
    some = shapes(get(server, "/api/gaps", bbox=",".join(map(str, box)), zoom=17).json())
    assert ("uncovered_area", "grid:party", "DJ503") in some
    window = shapely.box(*box)
    assert set(some) == {key for key, geom in every.items() if geom.intersects(window)}
    far = [key for key, geom in every.items() if geom.distance(window) > 0.005]
    assert far and not set(far) & set(some)
    # several kinds at once, and a box with nothing in it
    kinds = get(server, "/api/gaps", kind="uncovered_area,grid_overlap").json()["features"]
    assert {f["properties"]["kind"] for f in kinds} == {"uncovered_area", "grid_overlap"}
    assert get(server, "/api/gaps", bbox="100,20,100.1,20.1").json()["features"] == []
    assert get(server, "/api/gaps", bbox="1,2,3").status_code == 400


@pytest.mark.parametrize("zoom", [11, 14, 15])
def test_gaps_of_a_box_below_street_level_are_those_meeting_it(server, zoom):
    """Below zoom 16 views are cut from the area's gaps drawn once at the zoom and kept: the
    same gaps as the database finds for the box, in the same order, drawn the same."""
    every = get(server, "/api/gaps", zoom=zoom).json()["features"]
    assert len(every) > 20
    box = bounds_in_middle(every)
    window = shapely.box(*box)
    some = get(server, "/api/gaps", bbox=",".join(map(str, box)), zoom=zoom).json()["features"]
    meeting = [f for f in every if shapely.geometry.shape(f["geometry"]).intersects(window)]
    assert 0 < len(some) < len(every) and some == meeting
    # the same box again (kept or not), and another: each its own answer
    assert get(server, "/api/gaps", bbox=",".join(map(str, box)), zoom=zoom).json()["features"] == some  # fmt: skip
    assert get(server, "/api/gaps", bbox="100,20,100.1,20.1", zoom=zoom).json()["features"] == []


def test_compounds_of_a_box_are_those_meeting_it_at_every_zoom_they_are_drawn(server):
    """Cut from the whole layer drawn at the zoom and kept (below street level and at it)."""
    every = get(server, "/api/layers/compound/features", zoom=14).json()["features"]
    box = bounds_in_middle(every)
    window = shapely.box(*box)
    for zoom in (14, 15, 16, 17, 19):
        whole = get(server, "/api/layers/compound/features", zoom=zoom).json()["features"]
        some = get(server, "/api/layers/compound/features", bbox=",".join(map(str, box)), zoom=zoom).json()["features"]  # fmt: skip
        meeting = [f for f in whole if shapely.geometry.shape(f["geometry"]).intersects(window)]
        assert 0 < len(some) < len(whole) and some == meeting


def bounds_in_middle(features: list[dict]) -> tuple[float, float, float, float]:
    """A box around the middle fifth of the features' centres."""
    centres = np.array([shapely.geometry.shape(f["geometry"]).centroid.coords[0] for f in features])
    (x0, y0), (x1, y1) = np.percentile(centres, 40, axis=0), np.percentile(centres, 60, axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def test_gaps_at_a_low_zoom_are_simplified_valid_and_leave_out_compounds(server):
    fine = get(server, "/api/gaps", kind="grid_out_of_band", zoom=18).json()
    coarse = get(server, "/api/gaps", kind="grid_out_of_band", zoom=12).json()
    assert len(fine["features"]) == len(coarse["features"]) > 10
    assert vertices(coarse) < vertices(fine)
    for geom in shapes(coarse).values():
        assert geom.is_valid and not geom.is_empty
        coords = shapely.get_coordinates(geom)
        assert np.allclose(coords, np.round(coords, 6))
    # compounds are drawn from zoom 14: so are the gaps about them, the gap ground always
    at = {z: {f["properties"]["layer"] for f in get(server, "/api/gaps", zoom=z).json()["features"]} for z in (13, 14)}  # fmt: skip
    assert "compound" in at[14] and "compound" not in at[13] and "grid:party" in at[13]


def test_gap_list_gives_every_shown_gap_its_box_without_geometry(server):
    kinds = ["uncovered_area", "grid_overlap", "grid_out_of_band"]
    listed = get(server, "/api/gaps/list", kind=",".join(kinds)).json()
    every = shapes(get(server, "/api/gaps", kind=",".join(kinds)).json())
    assert listed["total"] == len(listed["gaps"]) == len(every)
    assert [g["kind"] for g in listed["gaps"]] == sorted((g["kind"] for g in listed["gaps"]), key=kinds.index)  # fmt: skip
    for g in listed["gaps"]:
        assert "geometry" not in g and "message_zh" not in g
        geom = every[(g["kind"], g["layer"], g["code"])]
        assert np.allclose(g["bbox"], geom.bounds, atol=1e-6)
    short = get(server, "/api/gaps/list", kind=",".join(kinds), limit=2).json()
    assert short["total"] == listed["total"] and short["gaps"] == listed["gaps"][:2]
    # drilled into DJ503's community: its gaps and those placed in no community
    shown = "uncovered_area,beyond_station_reach,grid_out_of_band"
    community = get(server, "/api/gaps/list", kind=shown, community="510199001005").json()
    assert "DJ503" in {g["code"] for g in community["gaps"]}
    assert {g["community_code"] for g in community["gaps"]} <= {"510199001005", "", None}
    assert community["total"] == len(community["gaps"])
    placed = get(server, "/api/gaps/list", community="510199001005", limit=1).json()["total"]
    assert community["total"] < placed < get(server, "/api/gaps/list", limit=1).json()["total"]


def test_an_account_with_an_area_gets_its_gaps_by_box_and_in_its_list(server):
    as_coordinator = headers(server, "社区协调员")  # 锦绣社区
    mine = http.get(server + "/api/gaps", headers=as_coordinator).json()["features"]
    every = get(server, "/api/gaps").json()["features"]
    assert 0 < len(mine) < len(every)
    whole = ",".join(map(str, shapely.MultiPoint([p for f in every for p in shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))]).bounds))  # fmt: skip
    boxed = http.get(server + "/api/gaps", params={"bbox": whole}, headers=as_coordinator).json()
    assert len(boxed["features"]) == len(mine)
    listed = http.get(server + "/api/gaps/list", headers=as_coordinator).json()
    assert listed["total"] == len(mine)
    assert {(g["kind"], g["code"]) for g in listed["gaps"]} == {
        (f["properties"]["kind"], f["properties"]["code"]) for f in mine
    }


@pytest.mark.parametrize("level, code", [("community", "510199001005"), ("compound", "XQ017"),
                                         ("compound", "XQ132"), ("grid", "510199001005001")])  # fmt: skip
def test_a_unit_has_the_gaps_of_the_whole_run_that_name_it(server, level, code):
    run = get(server, "/api/export/gaps", format="geojson").json()["features"]
    columns = ["kind", "layer", "code", "measure", "unit", "message_zh", "message_en"]
    expected = [
        {c: f["properties"][c] for c in columns}
        for f in run
        if f["properties"]["code"] == code or code in (f["properties"]["codes"] or "").split(";")
    ]
    unit = get(server, f"/api/figures/{level}/{code}").json()
    assert unit["gaps"] == expected
    assert expected or level == "grid"


def test_gcj02_display_shifts_by_the_datum_offset(server):
    from coord_convert.transform import wgs2gcj

    plain = get(server, "/api/layers/station/features").json()["features"]
    shifted = get(server, "/api/layers/station/features", display="gcj02").json()["features"]
    for a, b in zip(plain, shifted, strict=True):
        lon, lat = a["geometry"]["coordinates"]
        expect = wgs2gcj(lon, lat)
        got = b["geometry"]["coordinates"]
        assert abs(got[0] - expect[0]) < 1e-5 and abs(got[1] - expect[1]) < 1e-5
        assert abs(got[0] - lon) > 1e-3  # a few hundred metres in Chengdu: really shifted
    gaps = get(server, "/api/gaps", kind="uncovered_area", display="gcj02").json()["features"]
    assert gaps[0]["properties"]["code"] == "DJ503"
    # the box of a gap in the list is shifted too, and a box asked in GCJ-02 finds the gap
    plain = get(server, "/api/gaps/list", kind="uncovered_area").json()["gaps"][0]["bbox"]
    box = get(server, "/api/gaps/list", kind="uncovered_area", display="gcj02").json()["gaps"][0]["bbox"]  # fmt: skip
    assert np.allclose(box[:2], wgs2gcj(plain[0], plain[1]), atol=1e-5)
    found = get(server, "/api/gaps", kind="uncovered_area", display="gcj02", bbox=",".join(map(str, box)))  # fmt: skip
    assert [f["properties"]["code"] for f in found.json()["features"]] == ["DJ503"]


def test_gzip_on_large_responses(server):
    r = http.get(server + "/api/layers/building/features", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    raw = http.send(
        httpx.Request("GET", server + "/api/layers/building/features", headers={"Accept-Encoding": "gzip"}),
        stream=True,
    )  # fmt: skip
    compressed = b"".join(raw.iter_raw())
    raw.close()
    assert len(compressed) < len(r.content) / 3
    assert json.loads(gzip.decompress(compressed))["type"] == "FeatureCollection"


def test_answers_carry_an_etag_and_an_unchanged_one_is_a_304(server):
    """A browser keeps what it fetched and asks again with If-None-Match: kept answers (whole
    layers, figures, gaps of the overview) and views alike come back as a bodiless 304."""
    for path, params in [
        ("/api/layers/grid:unified/features", {"zoom": 12}),
        ("/api/figures", {"level": "grid"}),
        ("/api/gaps", {"zoom": 15, "bbox": "103,30,105,31"}),
        ("/api/gaps/list", {}),
        ("/api/layers", {}),
    ]:
        first = get(server, path, **params)
        etag = first.headers["etag"]
        assert first.status_code == 200 and etag.startswith('W/"')
        assert first.headers["cache-control"] == "private, no-cache"
        again = http.get(server + path, params=params, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["etag"] == etag
        stale = http.get(server + path, params=params, headers={"If-None-Match": 'W/"other"'})
        assert stale.status_code == 200 and stale.content == first.content
        plain = http.get(server + path, params=params, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == first.content
        assert plain.headers["etag"] == etag  # weak: one tag for both encodings


def test_the_map_page_carries_its_configuration(server):
    page = get(server, "/map")
    assert page.status_code == 200
    assert "gap-list" in page.text and "theme-select" in page.text
    assert "https://" not in page.text and "http://" not in page.text  # nothing from outside


def test_an_invalid_stored_polygon_is_shown_repaired_not_a_500():
    """A self-intersecting cell that GEOS cannot snap-round (found in a synthetic city)."""
    import numpy as np
    import shapely

    from gridmap.api.display import display_geometry

    bowtie = shapely.Polygon([(104.0, 30.0), (104.001, 30.001), (104.001, 30.0), (104.0, 30.001)])
    # a hole outside its shell: snap-rounding it raises "unable to assign free hole to a shell"
    hole_outside = shapely.Polygon(
        [(104.0, 30.0), (104.001, 30.0), (104.001, 30.001), (104.0, 30.001)],
        [[(104.002, 30.0), (104.003, 30.0), (104.003, 30.001), (104.002, 30.0)]],
    )
    with pytest.raises(shapely.errors.GEOSException):
        shapely.set_precision(hole_outside, 1e-6)
    shown = display_geometry(np.array([bowtie, hole_outside, None], dtype=object), 14, "wgs84")
    assert shapely.is_valid(shown[:2]).all() and shown[2] is None
    assert abs(shapely.area(shown[0]) - shapely.area(shapely.make_valid(bowtie))) < 1e-9
