"""The one list of findings (问题清单): coverage gaps (留白) and the layers' own defects.

Every check in ``core`` returns its findings as a GeoDataFrame with the columns of
``GAP_COLUMNS`` (EPSG:4326), so that one map and one report show everything. ``make_gaps`` builds
such a frame from plain records; ``concat_gaps`` joins the outputs of several checks;
``with_community_codes`` names the community each finding lies in. ``unchecked_kinds`` lists the
kinds whose inputs were missing, so that a check that could not run says so (未能检查) instead of
reporting no finding.

Examples
--------
>>> from shapely import Point
>>> g = make_gaps([Gap("grid_without_member", "grid", "G01", "一网格", 0, "members",
...                    "网格 G01 无党员居住", "No Party member lives in grid G01", Point(104, 30))])
>>> list(g["kind"])
['grid_without_member']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from operator import attrgetter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.layers import CHECK_NEEDS, LAYERS, STORAGE_CRS

GAP_KINDS: dict[str, str] = {
    # coverage gaps (DOMAIN.md)
    "uncovered_area": "留白 (社区内无网格覆盖)",
    "grid_overlap": "网格重叠",
    "compound_split": "小区被切分",
    "compound_without_org": "小区无党组织覆盖",
    "grid_without_member": "空白网格 (无党员居住)",
    "building_without_member": "楼栋无党员 (无党员中心户)",
    "grid_out_of_band": "网格户数超出范围",
    "member_unassigned": "党员未落位到楼栋",
    "member_not_reported": "在职党员未到社区报到",
    "property_without_org": "物业未建党组织 (红色物业)",
    "beyond_station_reach": "超出党群服务站服务半径",
    "branch_too_small": "党支部正式党员不足",
    "branch_too_large": "党支部党员过多",
    "branch_needs_committee": "党支部应设支委会",
    "joint_branch_too_many_units": "联合党支部覆盖单位过多",
    # the layers' own defects
    "invalid_geometry": "几何无效 (已修复)",
    "duplicate_feature": "重复要素",
    "multipart_feature": "多部件要素",
    "sliver": "碎片多边形",
    "grid_straddles_community": "网格跨社区",
    "compound_straddles_community": "小区跨社区",
    "compound_outside_community": "小区不在任何社区内",
    "building_outside_compound": "楼栋不在任何小区内",
    "ambiguous_parent": "归属不明确 (占比不足或并列)",
}

MEASURE_UNITS = ("m2", "m", "households", "members", "units", "count", "share")

GAP_COLUMNS = [
    "kind",  # one of GAP_KINDS
    "layer",  # the layer of the feature the finding is about (grid layers: "grid:party")
    "code",  # its code (编号); several involved features joined by ";" in ``codes``
    "name",
    "measure",  # a number: area, households, members, distance …
    "unit",  # one of MEASURE_UNITS
    "message_zh",
    "message_en",
    "codes",  # every feature involved, ";"-joined (overlaps, straddles)
    "community_code",  # where it lies, for drill-down ("" where unknown)
    "geometry",
]


@dataclass
class Gap:
    """One finding; ``geometry`` in EPSG:4326 (a polygon, a line or a point)."""

    kind: str
    layer: str
    code: str
    name: str
    measure: float
    unit: str
    message_zh: str
    message_en: str
    geometry: BaseGeometry | None
    codes: str = ""
    community_code: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in GAP_KINDS:
            raise ValueError(f"unknown gap kind {self.kind!r}")
        if self.unit not in MEASURE_UNITS:
            raise ValueError(f"unknown measure unit {self.unit!r}")


_RECORD_FIELDS = [f.name for f in fields(Gap) if f.name != "extra"]


def counted(n: float, noun: str) -> str:
    """``n`` and an English noun, singular for one: ``counted(1, "full member")`` → "1 full member".

    >>> counted(1, "full member"), counted(3, "full member"), counted(0, "household")
    ('1 full member', '3 full members', '0 households')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def empty_gaps() -> gpd.GeoDataFrame:
    """A gap frame with no rows and the right columns."""
    return _EMPTY.copy()


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype="object") for c in GAP_COLUMNS if c != "geometry"},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    ).astype({"measure": "float64"})


_EMPTY = _empty()


def make_gaps(gaps: list[Gap]) -> gpd.GeoDataFrame:
    """A gap frame from records (extra fields are dropped; put what matters into the messages)."""
    if not gaps:
        return empty_gaps()
    # column by column: ``asdict`` would deep-copy every geometry
    values = zip(*map(attrgetter(*_RECORD_FIELDS), gaps), strict=True)
    columns = {name: list(column) for name, column in zip(_RECORD_FIELDS, values, strict=True)}
    frame = gpd.GeoDataFrame(columns, geometry="geometry", crs=STORAGE_CRS)
    frame["measure"] = frame["measure"].astype("float64")
    return frame[GAP_COLUMNS]


def concat_gaps(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Join gap frames into one, sorted by kind, layer and code so reports are reproducible."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_gaps()
    out = pd.concat([f[GAP_COLUMNS] for f in frames], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)
    return out.sort_values(["kind", "layer", "code", "codes"], kind="stable").reset_index(drop=True)


def with_community_codes(gaps: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The gaps, each one that lies in a community carrying that community's code (所属社区).

    A finding without a ``community_code`` takes the community holding the representative point
    of its geometry (a point on a line, inside a polygon), so a coordinator who drills into a
    community finds its buildings, compounds, grids and members in its list. Codes already set
    are kept (a straddling grid names the community holding most of it); findings outside every
    community, or without geometry, keep ``""``. Where communities overlap, the lowest code wins.
    One spatial-index query of points: no loop over geometries.

    Examples
    --------
    >>> from shapely import Point, box
    >>> c = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[box(104, 30, 104.01, 30.01)], crs=4326)
    >>> g = make_gaps([Gap("member_not_reported", "member", "DY1", "", 1, "members", "未报到",
    ...                    "not reported", Point(104.005, 30.005))])
    >>> with_community_codes(g, c)["community_code"].tolist()
    ['C1']
    """
    if gaps.crs is None or communities.crs is None:
        raise ValueError("gaps and communities need a CRS")
    codes = gaps["community_code"].fillna("").to_numpy(dtype=object, copy=True)
    geoms = gaps.geometry.values
    todo = np.flatnonzero((codes == "") & ~(geoms.isna() | geoms.is_empty))
    out = gaps.copy()
    if not len(todo) or not len(communities):
        out["community_code"] = codes
        return out
    points = gpd.GeoSeries(shapely.point_on_surface(geoms[todo]), crs=gaps.crs)
    if not points.crs.is_exact_same(communities.crs):
        points = points.to_crs(communities.crs)
    tree = shapely.STRtree(communities.geometry.values)
    where, which = tree.query(points.values, predicate="intersects")
    found = pd.Series(communities["code"].to_numpy(dtype=object)[which], index=where)
    first = found.dropna().astype(str).groupby(level=0).min()
    codes[todo[first.index.to_numpy()]] = first.to_numpy()
    out["community_code"] = codes
    return out


# Why a check could not run, in the users' words: a layer with no row, a column with no value.
_NO_LAYER = {
    "grid": ("未导入网格图层", "no grid layer is loaded"),
    "compound": ("未导入小区图层", "no compounds are loaded"),
    "building": (
        "未导入楼栋图层 (户数来自楼栋)",
        "no buildings are loaded (households come from buildings)",
    ),
    "member": ("未导入党员名册", "no Party members are loaded"),
    "station": ("未导入党群服务中心 / 站", "no Party service centres or stations are loaded"),
    "org": ("未导入党组织表", "no Party organisations are loaded"),
}
_NO_COLUMN = {
    ("compound", "property_company"): ("小区数据中没有「物业公司」列",
                                       "no column names the property company of a compound (物业公司)"),
    ("compound", "property_has_org"): ("小区数据中没有一列说明物业企业是否建立党组织 (如「物业党组织」是/否)",
                                       "no column says whether a property company has a Party organisation (物业党组织 yes/no)"),
    ("member", "in_service"): ("党员名册中没有「在职党员」列 (是/否)",
                               "the member roster has no column saying who is an in-service member (在职党员)"),
    ("member", "reported"): ("党员名册中没有「已报到」列 (是/否)",
                             "the member roster has no column saying who has reported to the community (已报到)"),
    ("org", "covers"): ("党组织表中没有「覆盖小区」列",
                        "the organisation table has no column saying which compounds each one covers (覆盖小区)"),
    ("org", "has_committee"): ("党组织表中没有「设支委会」列 (是/否)",
                               "the organisation table has no column saying whether a branch has a committee (设支委会)"),
}  # fmt: skip


def _has_rows(frame: pd.DataFrame | None) -> bool:
    return frame is not None and len(frame) > 0


def _why_missing(layer: str, name: str | None) -> tuple[str, str]:
    if name is None:
        spec = LAYERS.get(layer)
        label = spec.label_zh if spec else layer
        return _NO_LAYER.get(layer, (f"未导入{label}图层", f"no {layer} layer is loaded"))
    if (layer, name) in _NO_COLUMN:
        zh, en = _NO_COLUMN[(layer, name)]
    else:
        spec = LAYERS[layer]
        zh = f"{spec.label_zh}数据中没有「{spec.field(name).label_zh}」列"
        en = f"no {layer} column gives {name} ({spec.field(name).label_zh})"
    return f"{zh}，或该列全为空", f"{en}, or the column is empty"


def unchecked_kinds(inputs: Mapping[str, pd.DataFrame | None]) -> list[dict]:
    """The gap kinds that could not be checked (未能检查) and why, in the order of ``GAP_KINDS``.

    ``inputs`` maps a layer name of :data:`gridmap.layers.LAYERS` to its frame as the analysis got
    it (``None``: not loaded; for grids, the base grid layer). A kind cannot be checked when a layer
    it needs has no row or a column it needs has no value (``CHECK_NEEDS``): its zero would be a
    claim nobody checked, so it is listed with a reason in Chinese and English instead.

    Examples
    --------
    >>> import pandas as pd
    >>> compounds = pd.DataFrame({"code": ["C1"], "property_company": ["锦绣物业"],
    ...                           "property_has_org": [None]})
    >>> [u["kind"] for u in unchecked_kinds({"compound": compounds, "station": None})]
    ['property_without_org', 'beyond_station_reach']
    >>> unchecked_kinds({"compound": compounds})[0]["reason_en"]
    'no column says whether a property company has a Party organisation (物业党组织 yes/no), or the column is empty'
    """
    out = []
    for kind in GAP_KINDS:
        check = CHECK_NEEDS.get(kind)
        if check is None:
            continue
        reasons: list[tuple[str, str]] = []
        for layer, name in check.needs:
            if layer not in inputs:
                continue  # not an input of this run: nothing to say about it
            frame = inputs[layer]
            if not _has_rows(frame):
                missing = _why_missing(layer, None)
            elif name is not None and (name not in frame or not frame[name].notna().any()):
                missing = _why_missing(layer, name)
            else:
                continue
            if missing not in reasons:
                reasons.append(missing)
        if reasons:
            out.append({
                "kind": kind,
                "reason_zh": "；".join(zh for zh, _ in reasons),
                "reason_en": "; ".join(en for _, en in reasons),
            })  # fmt: skip
    return out
