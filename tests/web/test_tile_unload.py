"""Vector tiles unloaded before their answer came: panned away from while their requests were
held, they leave no paths behind among the map's click targets, only the tiles on the map do.

The requests are held with ``page.route`` until the map has moved far away, then released; the
test waits on a count of unanswered tile requests kept in the page, never on time.
"""

from __future__ import annotations

import shapely
from servers import headers, http

# counts the building tiles asked, unanswered and unloaded; an answered tile is counted once
# VectorGrid has drawn it: it draws it in its own reaction to the same promise, queued after
# this one's, and this one counts only in a timer after both
COUNT_TILES = """(() => {
  const layer = gridmap.groups.building, ask = layer._getVectorTilePromise;
  window.buildingTiles = { asked: 0, unanswered: 0, unloaded: 0 };
  const answered = () => setTimeout(() => { buildingTiles.unanswered -= 1; });
  layer._getVectorTilePromise = function (coords, bounds) {
    const answer = ask.call(this, coords, bounds);
    buildingTiles.asked += 1;
    buildingTiles.unanswered += 1;
    answer.then(answered, answered);
    return answer;
  };
  layer.on("tileunload", () => { buildingTiles.unloaded += 1; });
})()"""

# the building paths among the map's click targets, those of them in the page, and the building
# paths drawn
TARGETS = """(() => {
  const id = L.stamp(gridmap.groups.building);
  const targets = Object.values(gridmap.map._targets)
    .filter((t) => t._path && t._eventParents && id in t._eventParents);
  return { targets: targets.length, connected: targets.filter((t) => t._path.isConnected).length,
           drawn: document.querySelectorAll('.leaflet-buildings-pane path').length };
})()"""


def two_buildings_far_apart(base: str) -> tuple[shapely.Point, shapely.Point]:
    """A point inside the westmost and one inside the eastmost of the demo's buildings."""
    page = http.get(base + "/ogc/collections/building/items", params={"limit": 10_000}, headers=headers(base)).json()  # fmt: skip
    points = [shapely.geometry.shape(f["geometry"]).point_on_surface() for f in page["features"]]
    return min(points, key=lambda p: p.x), max(points, key=lambda p: p.x)


def test_tiles_unloaded_before_their_answer_leave_no_click_targets(desktop, demo_server):
    page = desktop.open()
    desktop.wait_view()
    west, east = two_buildings_far_apart(demo_server)
    page.evaluate(COUNT_TILES)
    held, holding, routed = [], [True], []

    def hold(route):
        routed.append(route.request.url)
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/tiles/building/**", hold)
    page.evaluate(f"gridmap.map.setView([{west.y}, {west.x}], 17, {{ animate: false }})")
    page.wait_for_function("buildingTiles.asked > 0")
    first = page.evaluate("buildingTiles.asked")
    # far away: farther than the map is wide, so every tile of the first view is unloaded
    apart = f"gridmap.map.project([{east.y}, {east.x}]).x - gridmap.map.project([{west.y}, {west.x}]).x"  # fmt: skip
    assert page.evaluate(f"{apart} > 2 * gridmap.map.getSize().x")
    page.evaluate(f"gridmap.map.setView([{east.y}, {east.x}], 17, {{ animate: false }})")
    page.wait_for_function(f"buildingTiles.unloaded >= {first}")
    holding[0] = False
    for route in held:
        route.continue_()
    page.wait_for_function("buildingTiles.unanswered === 0")
    # every tile asked, of both views, came through the hold
    assert len(routed) == page.evaluate("buildingTiles.asked") > first
    seen = page.evaluate(TARGETS)
    # the far view's tiles are drawn, and only their paths are targets
    assert seen["drawn"] > 0
    assert seen["connected"] == seen["targets"] == seen["drawn"], seen
