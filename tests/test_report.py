"""report.html as an office reads it, and the offline map file as a secretary receives it."""

from __future__ import annotations

import json
import re
import sys
from html import unescape

import folium
import geopandas as gpd
import pandas as pd
import pytest
from servers import demo_database
from shapely import box
from test_cli import gridmap

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.core.gaps import GAP_KINDS, NEXT_STEPS
from gridmap.errors import GridmapError, NotFoundError
from gridmap.maps.draw import add_units
from gridmap.maps.offline import export_map
from gridmap.report import _named_rates
from gridmap.report_html import report_html
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine
from gridmap.store.features import read_features
from gridmap.store.results import read_figures, read_gaps

RATES = {"org_coverage": 1.0, "own_branch_rate": 0.5, "member_coverage": 0.75}


def _gap(kind, code, name, zh, community):
    return {"kind": kind, "layer": "compound", "code": code, "name": name, "measure": 1,
            "unit": "count", "message_zh": zh, "message_en": f"en {code}", "codes": code,
            "community_code": community}  # fmt: skip


def small_doc(unchecked=None) -> dict:
    """Two communities, one grid cell each, three gaps (one in no community)."""
    summary = {
        "version": "1.0", "base": "party",
        "counts": {"communities": 2, "unified_cells": 2, "members_full": 9},
        "gaps": {"compound_without_org": 2, "sliver": 1}, "proposals": {"joint_branch": 1},
        "rates": RATES,
    }  # fmt: skip
    if unchecked is not None:
        summary["unchecked"] = unchecked
    rates = [
        {"level": "subdistrict", "code": "", "name": None, "community_code": None,
         "compounds": 4, **RATES},
        {"level": "community", "code": "S1", "name": "锦绣社区", "community_code": None,
         "compounds": 2, **RATES},
        {"level": "community", "code": "S2", "name": "芙蓉社区", "community_code": None,
         "compounds": 2, **RATES},
        {"level": "grid", "code": "S1-G1", "name": "锦绣一网格", "community_code": "S1",
         "compounds": 2, **RATES},
        {"level": "grid", "code": "S2-G1", "name": "芙蓉一网格", "community_code": "S2",
         "compounds": 2, **RATES},
    ]  # fmt: skip
    gaps = [
        _gap("compound_without_org", "XQ01", "紫阳花园", "小区 XQ01 无党组织覆盖", "S1"),
        _gap("compound_without_org", "XQ07", "", "小区 XQ07 无党组织覆盖", "S2"),
        _gap("sliver", "XQ99", "", "碎片 XQ99 不在任何社区", ""),
    ]
    proposals = [{"proposal_id": "J-S2-1", "kind": "joint_branch", "community_code": "S2",
                  "compounds": "XQ07;XQ08", "explanation_zh": "建议: 2 个小区联合组建党支部",
                  "explanation_en": "Proposed: a joint branch"}]  # fmt: skip
    return {"version": "1.0", "generated_at": "2026-12-01T08:00:00+00:00", "summary": summary,
            "rates": rates, "gaps": gaps, "proposals": proposals}  # fmt: skip


def test_communities_and_grids_are_named_beside_their_codes():
    page = report_html(small_doc())
    assert "锦绣社区 <code>S1</code>" in page and "芙蓉社区 <code>S2</code>" in page
    assert "锦绣一网格 <code>S1-G1</code>" in page and "芙蓉一网格 <code>S2-G1</code>" in page
    # each grid cell is listed in its own community's section, after that community's heading
    s2 = page.index('id="community-S2"')
    assert page.index("锦绣一网格") < s2 < page.index("芙蓉一网格")


def test_figures_and_rates_are_labelled_in_chinese_not_by_identifier():
    page = report_html(small_doc())
    body = page[page.index("<body>") :]
    for identifier in ("unified_cells", "members_full", "org_coverage", "own_branch_rate"):
        assert f">{identifier}<" not in body and f"{identifier} " not in body
    for label in ("全科网格", "正式党员", "组织覆盖率", "单独组建率", "党员覆盖率", "两个覆盖"):
        assert label in body
    assert "50.0%" in body and "75.0%" in body  # own-branch and member coverage, per unit


def test_a_proposal_names_its_compounds_beside_their_codes():
    page = report_html(small_doc(), compounds={"XQ07": "桂花苑", "XQ08": "银杏里"})
    assert "桂花苑 <code>XQ07</code>、银杏里 <code>XQ08</code>" in page


def test_every_gap_is_listed_once_with_its_chinese_message_and_kind():
    page = report_html(small_doc())
    for message in ("小区 XQ01 无党组织覆盖", "小区 XQ07 无党组织覆盖", "碎片 XQ99 不在任何社区"):
        assert page.count(message) == 1
    assert "小区无党组织覆盖" in page and "碎片多边形" in page
    assert "不在任何社区内的问题" in page  # the gap outside both communities has its own list
    assert "联合党支部" in page and "建议: 2 个小区联合组建党支部" in page


def test_every_finding_of_every_gap_kind_reads_its_next_step():
    """A gap kind added without a next step (下一步) fails here: its row's step would be empty."""
    doc = small_doc()
    doc["gaps"] = [_gap(kind, f"X{i}", "", f"问题 {i}", "S1") for i, kind in enumerate(GAP_KINDS)]
    page = report_html(doc)
    for kind in GAP_KINDS:
        row = re.search(rf'<tr data-kind="{kind}">.*?</tr>', page, re.S)
        assert row, kind
        step = re.search(r'<td class="next">(.*?)<br><small>(.*?)</small></td>', row.group(0), re.S)
        zh, en = (unescape(part).strip() for part in step.groups())
        assert zh and en, f"{kind} has no next step in the report"
        assert (zh, en) == NEXT_STEPS.get(kind)


def test_checks_that_could_not_run_are_shown_only_when_there_are_some():
    assert "未能检查的项目" not in report_html(small_doc())
    assert "未能检查的项目" not in report_html(small_doc(unchecked=[]))
    unchecked = [{"kind": "property_without_org", "reason_zh": "没有一列说明物业公司是否建立党组织",
                  "reason_en": "no column says whether a property company has a Party organisation"}]  # fmt: skip
    page = report_html(small_doc(unchecked=unchecked))
    section = page[page.index("未能检查的项目") :]
    assert "Checks that could not run" in section
    assert (
        "物业未建党组织 (红色物业)" in section and "没有一列说明物业公司是否建立党组织" in section
    )


def test_each_community_starts_a_printed_a4_page():
    page = report_html(small_doc())
    assert page.count('<section class="community"') == 2
    assert "@page { size: A4 portrait" in page
    assert re.search(r"section\.community[^{]*\{\s*break-before:\s*page", page)
    assert "<script src" not in page and '<link rel="stylesheet"' not in page


def test_rates_rows_take_names_and_a_grid_cells_community_from_the_figures():
    rates = pd.DataFrame([
        {"level": "subdistrict", "code": "", "compounds": 3, **RATES},
        {"level": "community", "code": "S1", "compounds": 3, **RATES},
        {"level": "grid", "code": "S1-G1", "compounds": 3, **RATES},
    ])  # fmt: skip
    figures = pd.DataFrame({
        "level": ["subdistrict", "community", "grid", "compound"],
        "code": ["", "S1", "S1-G1", "XQ01"], "name": [None, "锦绣社区", "锦绣一网格", "紫阳花园"],
        "community_code": [None, "S1", "S1", "S1"],
    })  # fmt: skip
    rows = _named_rates(rates, figures)
    assert [(r["level"], r["code"], r["name"], r["community_code"]) for r in rows] == [
        ("subdistrict", "", None, None),
        ("community", "S1", "锦绣社区", None),
        ("grid", "S1-G1", "锦绣一网格", "S1"),
    ]
    assert list(rows[0])[:5] == ["level", "code", "name", "community_code", "compounds"]


def test_a_name_that_looks_like_a_template_or_markup_is_shown_as_written():
    m = folium.Map(tiles=None)
    units = gpd.GeoDataFrame(
        {"code": ["XQ01"], "name": ['{{ "xy" ~ "zw" }}<img src=x>']},
        geometry=[box(0, 0, 1, 1)],
        crs=4326,
    )
    add_units(m, units, "compound", label=True)
    page = m.get_root().render()
    assert "xyzw" not in page and "<img" not in page
    assert _in("&#123;&#123; &quot;xy&quot; ~ &quot;zw&quot; &#125;&#125;&lt;img src=x&gt;", page)


# --- the offline map file, on the demo subdistrict ---


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("offline") / "demo.db"
    settings = Settings(database_url=demo_database(f"sqlite:///{db}"))
    engine = make_engine(settings)
    yield engine, settings, db
    engine.dispose()


def _in(text: str, page: str) -> bool:
    """Whether ``text`` is in the page as written or as a script's JSON string holds it (with
    or without non-ASCII escaped; ``<``, ``>``, ``&`` and ``'`` escaped or not)."""
    forms = {text}
    for ascii_only in (True, False):
        form = json.dumps(text, ensure_ascii=ascii_only)[1:-1]
        forms.add(form)
        for char in "&<>'":
            form = form.replace(char, f"\\u{ord(char):04x}")
        forms.add(form)
    return any(form in page for form in forms)


def _stored(engine, layer, **kw):
    with engine.connect() as conn:
        return read_features(conn, layer, **kw)


def _member_gap_community(engine) -> tuple[str, list[str]]:
    """A community holding a gap about one member, and the codes of those members."""
    with engine.connect() as conn:
        gaps = read_gaps(conn, kind="member_not_reported")
    community = gaps.loc[gaps["community_code"] != "", "community_code"].iloc[0]
    return community, gaps.loc[gaps["community_code"] == community, "code"].tolist()


def test_exported_community_map_holds_everything_and_no_personal_data(demo, tmp_path):
    engine, settings, _db = demo
    community, members = _member_gap_community(engine)
    name = _stored(engine, "community").set_index("code").loc[community, "name"]
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    path, unit = export_map(engine, tmp_path / f"{name}.html", settings, community=community)
    page = path.read_text(encoding="utf-8")
    assert (list(folium.Map.default_js), list(folium.Map.default_css)) == before
    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link[^>]+href=\"(?!data:)", page)
    assert "L.map(" in page and "Leaflet" in page  # Leaflet inlined
    assert f"<title>{name} 地图" in page and 'lang="zh-CN"' in page
    grids = _stored(engine, "grid", grid_layer="unified")
    assert sorted(unit.grids["code"]) == sorted(
        grids.loc[grids["community_code"] == community, "code"]
    )
    # every grid cell drawn, and compounds, say their households and members in their popups
    assert set(unit.grids["code"]) <= set(unit.parts)
    assert set(unit.parts) <= set(unit.grids["code"]) | set(unit.compounds["code"])
    assert _in("党员 <small>members</small>", page) and _in("组织覆盖率 <small>", page)
    shape = unit.area.geometry.iloc[0]
    for frame in (unit.compounds, unit.buildings):
        assert len(frame) > 0 and frame.representative_point().within(shape).all()
    # members only as counts: no names or phones, and the members who have not reported
    # (gaps at their homes) are counted, never drawn
    assert members and not any(_in(code, page) for code in members)
    assert not _in("演示", page) and not _in("10000000", page)
    assert _in("党员仅计数", page) and _in("member not reported, count only", page)


def test_exported_grid_map_holds_the_gaps_inside_the_cell_only(demo, tmp_path):
    engine, settings, _db = demo
    cell = _stored(engine, "grid", grid_layer="unified").iloc[0]
    path, unit = export_map(engine, tmp_path / "网格.html", settings, grid=cell["code"])
    assert unit.name == cell["name"] and unit.level == "grid" and len(unit.grids) == 0
    assert len(unit.compounds) > 0 and len(unit.buildings) > 0
    inner = unit.area.geometry.iloc[0].buffer(-1e-6)
    assert len(unit.gaps) > 0 and unit.gaps.geometry.intersects(inner).all()
    assert f"<title>{cell['name']} 地图" in path.read_text(encoding="utf-8")


def test_export_map_needs_exactly_one_known_unit(demo, tmp_path):
    engine, settings, _db = demo
    with pytest.raises(GridmapError, match="--community"):
        export_map(engine, tmp_path / "x.html", settings)
    with pytest.raises(NotFoundError, match="没有编码为 NOPE 的社区"):
        export_map(engine, tmp_path / "x.html", settings, community="NOPE")


@pytest.mark.skipif(sys.platform == "win32", reason="runs the command as a process")
def test_export_map_command_writes_the_file(demo, tmp_path):
    _engine, _settings, db = demo
    out = tmp_path / "芙蓉社区.html"
    code = _stored(_engine, "community")["code"].iloc[1]
    done = gridmap("export", "map", "--community", code, "-o", out, db=db)
    assert done.returncode == 0, done.stderr
    assert "离线地图" in done.stdout and out.stat().st_size > 100_000


def test_export_map_reads_the_same_unit_from_either_database(engine, db_settings, tmp_path):
    load_demo(engine, DEMO_DATA)
    run_analyze(engine, db_settings)
    code = _stored(engine, "community")["code"].iloc[0]
    _path, unit = export_map(engine, tmp_path / "社区.html", db_settings, community=code)
    with engine.connect() as conn:
        figures = read_figures(conn, level="community", code=code).iloc[0]
        gaps = read_gaps(conn, community=code)
    assert unit.figures["households"] == figures["households"] > 0
    assert sorted(unit.gaps["code"]) == sorted(gaps["code"]) and len(unit.gaps) > 0
    assert len(unit.grids) > 0 and len(unit.compounds) > 0 and len(unit.stations) > 0
