"""report.html and the exported offline map, opened from disk in headless Chromium.

Every request is recorded: the pages may load themselves and ``data:`` URLs, nothing else —
no CDN, no server, no tiles. The maps must draw (SVG paths), carry a legend, a scale bar and a
north arrow, speak Chinese, and print: the PDF Chromium makes has a page per community, and
the overview map is visible on its printed page.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from servers import demo_database

from gridmap.config import Settings
from gridmap.core.gaps import GAP_KINDS
from gridmap.maps.offline import export_map
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine

pytestmark = pytest.mark.browser
# screenshots and the printed PDF, kept for a person to look at (as tests/web/conftest.py keeps its)
ARTEFACTS = Path(os.environ.get("GRIDMAP_ARTEFACTS", Path(__file__).parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """report.html of the demo, and the offline maps of one community and one grid cell."""
    out = tmp_path_factory.mktemp("report")
    settings = Settings(database_url=demo_database(f"sqlite:///{out / 'demo.db'}", analyse=False))
    engine = make_engine(settings)
    result = run_analyze(engine, settings, out_dir=out / "报告")
    communities = result.places["community"]
    code = communities["code"].iloc[0]
    cell = result.integration.unified.sort_values("code").iloc[0]
    community_map, _ = export_map(engine, out / "社区.html", settings, community=code)
    grid_map, _ = export_map(engine, out / "网格.html", settings, grid=cell["code"])
    engine.dispose()
    return {"report": out / "报告" / "report.html", "community": community_map,
            "grid": grid_map, "communities": communities, "cell": cell}  # fmt: skip


class Opened:
    def __init__(self, page, requests: list[str], errors: list[str]):
        self.page, self.requests, self.errors = page, requests, errors


@pytest.fixture
def open_file(browser):
    """Open a file from disk, A4-wide, recording every request and every console error."""
    contexts = []

    def opener(path: Path, **options) -> Opened:
        options = {"viewport": {"width": 1100, "height": 900}, **options}
        context = browser.new_context(locale="zh-CN", **options)
        contexts.append(context)
        requests, errors = [], []

        def route(r):
            requests.append(r.request.url)
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("request", lambda r: r.url.startswith("data:") or requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        return Opened(page, requests, errors)

    yield opener
    for context in contexts:
        context.close()


def _only_itself(opened: Opened, path: Path) -> None:
    assert set(opened.requests) == {path.as_uri()}, opened.requests
    assert opened.errors == []


def _paths_per_map(page) -> list[int]:
    return page.eval_on_selector_all(
        ".folium-map",
        "maps => maps.map(m => m.querySelectorAll('.leaflet-overlay-pane path').length)",
    )


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_report_draws_an_overview_and_a_map_per_community_offline(open_file, files):
    opened = open_file(files["report"])
    page = opened.page
    _only_itself(opened, files["report"])
    n = len(files["communities"])
    paths = _paths_per_map(page)
    assert len(paths) == n + 1 and min(paths) > 10, paths
    for selector in (".gm-north", ".leaflet-control-scale", ".report-legend"):
        assert page.locator(selector).count() == n + 1, selector
    text = page.inner_text("body")
    for words in ("两个覆盖", "组织覆盖率", "单独组建率", "党员覆盖率", "街道总图", "图例", "北 N"):
        assert words in text
    for name, code in files["communities"][["name", "code"]].itertuples(index=False):
        assert page.locator(f"#community-{code} h2").inner_text().startswith(name)
    assert "unified_cells" not in text and "members_full" not in text
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "report-screen.png"))


def test_report_prints_a_page_per_community_with_the_maps_visible(open_file, files):
    opened = open_file(files["report"])
    pdf = opened.page.pdf(prefer_css_page_size=True, print_background=True)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "report.pdf").write_bytes(pdf)
    # the figures and rates, the overview map, then a page (at least) per community
    assert _pdf_pages(pdf) >= 2 + len(files["communities"])
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (Debian poppler-utils) is needed to look at the printed maps")
    coloured = _coloured_share(ARTEFACTS / "report.pdf", page=_page_with(pdf, "街道总图"))
    assert coloured > 0.05, f"the overview map printed almost blank ({coloured:.1%} coloured)"


def _page_with(pdf: bytes, words: str) -> int:
    """The first PDF page whose text holds ``words`` (pdftotext, 1-based)."""
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode("utf-8")  # fmt: skip
    for i, page in enumerate(text.split("\f"), start=1):
        if words in page:
            return i
    raise AssertionError(f"{words} is on no printed page")


def _coloured_share(pdf: Path, page: int) -> float:
    """Share of a printed page's pixels that are clearly coloured (not white, grey or black)."""
    raw = subprocess.run(["pdftoppm", "-r", "30", "-f", str(page), "-l", str(page), str(pdf)],
                         capture_output=True, check=True).stdout  # fmt: skip
    # binary PPM: "P6\n<width> <height>\n255\n" then RGB bytes
    header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", raw)
    pixels = raw[header.end() :]
    n = int(header.group(1)) * int(header.group(2))
    coloured = sum(
        1 for i in range(0, 3 * n, 3) if max(pixels[i : i + 3]) - min(pixels[i : i + 3]) > 40
    )
    return coloured / n


def test_exported_community_map_requests_nothing_but_itself(open_file, files):
    opened = open_file(files["community"])
    page = opened.page
    _only_itself(opened, files["community"])
    (paths,) = _paths_per_map(page)
    assert paths > 100  # buildings, compounds, grid cells, gaps
    for selector in (".gm-legend", ".gm-north", ".leaflet-control-scale", ".gm-panel"):
        assert page.locator(selector).count() == 1, selector
    panel = page.inner_text(".gm-panel")
    assert "户数" in panel and "组织覆盖率" in panel and "党员仅计数" in panel
    assert "图例" in page.inner_text(".gm-legend")
    assert page.title().startswith(files["communities"]["name"].iloc[0])
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "offline-community-map.png"))


def test_a_gap_opens_a_chinese_popup(open_file, files):
    page = open_file(files["community"]).page
    # a click on each drawn feature until a popup names a gap kind
    popup = page.evaluate(
        """(kinds) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        let found = null;
        map.eachLayer(l => {
          if (found || !l.feature) return;
          const at = l.getBounds ? l.getBounds().getCenter() : l.getLatLng();
          l.fire("click", {latlng: at}, true);
          const open = map._popup && map._popup.getElement();
          const box = open && open.querySelector(".gm-pop");
          const kind = box && box.querySelector("b").textContent;
          if (kinds.includes(kind)) found = [kind, box.innerText.split("\\n")];
        });
        return found;
    }""",
        list(GAP_KINDS.values()),
    )
    assert popup is not None
    kind, lines = popup
    cjk = re.compile(r"[\u4e00-\u9fff]")
    # its kind in Chinese (English beside), the unit, the Chinese message, the English one
    assert lines[0].startswith(kind) and len(lines) == 4
    assert cjk.search(lines[2]) and re.search(r"[A-Za-z]+ [a-z]+ ", lines[3])


def test_exported_grid_map_draws_the_cell_and_prints(open_file, files):
    opened = open_file(files["grid"])
    _only_itself(opened, files["grid"])
    (paths,) = _paths_per_map(opened.page)
    assert paths > 10
    assert opened.page.title().startswith(files["cell"]["name"])
    # laid out again for the paper (Chromium sends "beforeprint"): the whole cell is shown
    opened.page.set_viewport_size({"width": 1400, "height": 400})
    west, south, east, north = files["cell"].geometry.bounds
    shown = opened.page.evaluate(
        """([s, w, n, e]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        // Leaflet takes the new window size on a later frame: take it now, not by chance
        map.invalidateSize({animate: false, pan: false});
        const cell = L.latLngBounds([s, w], [n, e]);
        const before = map.getBounds().contains(cell);
        window.dispatchEvent(new Event("beforeprint"));
        return [before, map.getBounds().contains(cell)];
    }""",
        [south, west, north, east],
    )
    assert shown == [False, True]
    assert _pdf_pages(opened.page.pdf(format="A4")) >= 1


def test_the_report_prints_on_a3_when_chosen(open_file, files):
    page = open_file(files["report"]).page
    sizes = {}
    for paper in ("A4", "A3"):
        page.select_option("#paper-size", paper)
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        sizes[paper] = (round(float(box.group(1))), round(float(box.group(2))))
    # in points: A4 is 210 × 297 mm, A3 297 × 420 mm (portrait)
    assert sizes == {"A4": (595, 842), "A3": (842, 1191)}


def test_on_a_phone_the_panels_start_folded_and_the_map_shows(open_file, files):
    phone = {"width": 390, "height": 844}
    opened = open_file(files["community"], viewport=phone, is_mobile=True, has_touch=True)
    _only_itself(opened, files["community"])
    page = opened.page
    folded = page.eval_on_selector_all(".gm-box details", "ds => ds.map(d => d.open)")
    assert folded == [False, False]  # the figures panel and the legend
    assert _paths_per_map(page)[0] > 100
    assert (
        page.locator(".gm-panel summary")
        .inner_text()
        .startswith(files["communities"]["name"].iloc[0])
    )
