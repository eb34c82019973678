"""HTML pages (Chinese first); without a login they send the browser to ``/login``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection

from gridmap.api.cache import kept_soon
from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes import report_page
from gridmap.api.routes.layers import layer_listing
from gridmap.api.routes.params import CHECKED, MAX_ID
from gridmap.api.routes.plans.compare import page_router as compare_page
from gridmap.api.routes.session import user_context
from gridmap.api.security import PagePrincipalDep, current_area, require
from gridmap.maps.assets import WEB
from gridmap.permissions import Area, hidden_gap_layers
from gridmap.store.places import first_subdistrict
from gridmap.store.results import changes_since_analysis

router = APIRouter(include_in_schema=False, dependencies=CHECKED)
VIEW = [require("view", page=True)]
templates = Jinja2Templates(directory=str(WEB / "templates"))


@router.get("/", response_class=HTMLResponse, dependencies=VIEW)
def index(request: Request, conn: ConnDep, principal: PagePrincipalDep) -> HTMLResponse:
    context = {**user_context(request, principal, conn), "layers": layer_listing(conn)}
    return templates.TemplateResponse(request, "index.html", context)


@router.get("/map", response_class=HTMLResponse, dependencies=VIEW)
def map_page(request: Request, conn: ConnDep, settings: SettingsDep, principal: PagePrincipalDep) -> HTMLResponse:  # fmt: skip
    from gridmap.layers import LAYERS
    from gridmap.maps.layers import MEMBER_GAP_KINDS, basemap, exports, gap_legend, map_layers
    from gridmap.permissions import in_area
    from gridmap.store.features import grid_layers, layer_extent
    from gridmap.store.results import gap_index, latest_run, run_summary

    run = latest_run(conn, "analyze")
    summary = (run_summary(conn, run) or {}) if run else {}
    counts, bounds = summary.get("gaps", {}), layer_extent(conn)
    area = current_area(principal, conn)
    # an account with an area: the legend counts what its gap list holds (kept for the area
    # until the data change), the map opens on it
    if area is not None:

        def area_counts(own: Connection) -> dict[str, int]:
            box = area.bbox()
            gaps = gap_index(own, run, None, bbox=box, with_geometry=True) if run and box else None
            return gaps[in_area(gaps, area)]["kind"].value_counts().to_dict() if gaps is not None else {}  # fmt: skip

        counts = kept_soon(request, conn, ("legend counts",), area_counts, area, wait=True)
        bounds = list(area.bbox()) if area.geometry is not None else bounds
    layers = map_layers(grid_layers(conn))
    user = user_context(request, principal, conn)
    context = {
        **user,
        "title": "党建引领网格化治理",
        "stale": changes_since_analysis(conn) if run else None,
        "config": {
            "bounds": bounds,
            "subdistrict": first_subdistrict(conn, area),
            "area": _area_config(area, user["user"]["area_name"], basemap(settings)),
            "layers": layers,
            "exports": exports(layers),
            "layer_names": {name: spec.label_zh for name, spec in LAYERS.items()},
            "gaps": gap_legend(counts, MEMBER_GAP_KINDS if hidden_gap_layers(principal) else ()),
            "analysed": run is not None,
            "basemap": basemap(settings),
            "station_radius_m": settings.station_radius_m,
        },
    }
    return templates.TemplateResponse(request, "map.html", context)


def _area_config(area: Area | None, name: str | None, base: dict | None) -> dict | None:
    """What map.js needs of an account's area (``name``: its name): where the panel opens, and
    its outline."""
    import shapely

    from gridmap.api.display import display_geometry

    if area is None or area.level == "none":
        return None
    outline = None
    if area.geometry is not None:
        shown = display_geometry([area.geometry], 17, base["display"] if base else "wgs84")[0]
        outline = shapely.geometry.mapping(shown)
    community = next(iter(area.communities), None) if area.level == "grid" else None
    return {"level": area.level, "code": area.code, "name": name,
            "community": community, "outline": outline}  # fmt: skip


@router.get("/editor", response_class=HTMLResponse, dependencies=[require("edit_plan", page=True)])  # fmt: skip
def editor_page(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    principal: PagePrincipalDep,
    plan: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    from gridmap.api.routes.plans.frames import with_layer_name
    from gridmap.store.features import grid_layers, layer_extent
    from gridmap.store.plans import list_plans, plan_meta

    if plan is not None:
        plan_meta(conn, plan)  # 404 for a plan that does not exist
    layers = grid_layers(conn)
    config = {
        "bounds": layer_extent(conn),
        "plan_id": plan,
        "grid_layer": "party" if "party" in layers else (layers[0] if layers else "party"),
        "band": [settings.grid_households_min, settings.grid_households_max],
        "may_approve": principal.may("approve_plan"),
    }
    plans = [with_layer_name(p) for p in list_plans(conn)]  # 党建网格, not "party"
    context = {**user_context(request, principal, conn), "plans": plans, "plan_id": plan, "config": config}  # fmt: skip
    return templates.TemplateResponse(request, "editor.html", context)


router.include_router(report_page.router)
router.include_router(compare_page)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)
