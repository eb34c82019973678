"""The one list of findings (问题清单): coverage gaps (留白) and the layers' own defects.

Every check in ``core`` returns its findings as a GeoDataFrame with the columns of
``GAP_COLUMNS`` (EPSG:4326), so that one map and one report show everything. ``make_gaps`` builds
such a frame from plain records; ``concat_gaps`` joins the outputs of several checks.

Examples
--------
>>> from shapely import Point
>>> g = make_gaps([Gap("grid_without_member", "grid", "G01", "一网格", 0, "members",
...                    "网格 G01 无党员居住", "No Party member lives in grid G01", Point(104, 30))])
>>> list(g["kind"])
['grid_without_member']
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from gridmap.layers import STORAGE_CRS

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
