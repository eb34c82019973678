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
    # coverage gaps (docs/domain.md)
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
    # the people who serve the places (gridmap.core.staffing)
    "grid_without_worker": "网格无网格员",
    "worker_overloaded": "网格员服务户数过多",
    "branch_without_secretary": "党支部无书记",
    "secretary_not_qualified": "支部书记不符合条件 (非正式党员或党龄不足)",
    "branch_without_group_leader": "党小组无组长",
    "building_without_head": "楼栋无楼栋长",
    "property_without_instructor": "物业企业未派党建指导员",
    "committee_without_party_member": "业委会无党员委员",
    "committee_without_cross_serving": "业委会无“两委”成员交叉任职",
    "community_workers_short": "社区工作者配备不足",
    "term_expired": "任职超过任期 (换届提醒)",
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

# What a coordinator does next about each kind (下一步), Chinese first: one line per kind, kept
# beside the kinds so that a new kind without a next step fails its test.
NEXT_STEPS: dict[str, tuple[str, str]] = {
    "uncovered_area": ("把这块地划入相邻网格，或在方案编辑中新建网格",
                       "Add this ground to a neighbouring grid, or draw a new grid for it in the plan editor"),
    "grid_overlap": ("与相关部门核对边界，把重叠部分只划给一个网格",
                     "Check the border with the departments concerned and give the overlap to one grid only"),
    "compound_split": ("调整网格边界，让整个小区归入一个网格",
                       "Move the grid border so the whole compound lies in one grid"),
    "compound_without_org": ("按组织设置建议单独建或联合建党支部，先摸清小区内的正式党员",
                             "Set up a branch or joint branch as proposed; first find the full members living here"),
    "grid_without_member": ("动员在职党员到网格报到，或选派党员担任网格党小组长",
                            "Ask in-service members to report to this grid, or assign a member to lead its Party group"),
    "building_without_member": ("可考虑培育党员中心户，或请邻近楼栋的党员联系本楼",
                                "Consider fostering a member household, or ask a member next door to look after this building"),
    "grid_out_of_band": ("在方案编辑中拆分或合并网格，使户数回到规定范围",
                         "Split or merge grids in the plan editor so the households fall within the band"),
    "member_unassigned": ("核对该党员的住址，在名册中补正后重新导入",
                          "Check this member's address, correct it in the roster and load it again"),
    "member_not_reported": ("联系该党员所在单位党组织，督促其到社区报到",
                            "Contact the member's workplace branch and ask them to report to the community"),
    "property_without_org": ("推动物业企业建立党组织或选派党建指导员 (红色物业)",
                             "Help the property company set up a Party organisation or send it a Party instructor"),
    "beyond_station_reach": ("在附近设立党群服务站点，或安排流动服务",
                             "Open a service point nearby, or arrange a mobile service"),
    "branch_too_small": ("与邻近小区的党组织联合组建联合党支部",
                         "Join the organisations of nearby compounds in a joint branch"),
    "branch_too_large": ("分设党支部或成立党总支，按楼栋设党小组",
                         "Split the branch or form a general branch, with a Party group per building"),
    "branch_needs_committee": ("按程序选举产生支部委员会",
                               "Elect a branch committee as the regulations require"),
    "joint_branch_too_many_units": ("把联合党支部拆为两个，每个不超过规定的单位数",
                                    "Split the joint branch in two, each within the limit of units"),
    "grid_without_worker": ("为该网格配备网格长或专职网格员，并在花名册中登记",
                            "Appoint a grid leader or full-time grid worker for this grid and enter them in the roster"),
    "worker_overloaded": ("增配网格员，或在方案编辑中拆分网格",
                          "Add grid workers, or split the grid in the plan editor"),
    "branch_without_secretary": ("按程序选举或指定党支部书记",
                                 "Elect or appoint a branch secretary as the regulations require"),
    "secretary_not_qualified": ("核对书记的党员类别和入党时间，必要时按程序调整人选",
                                "Check the secretary's membership and date of joining; change the post holder if needed"),
    "branch_without_group_leader": ("为每个党小组确定组长，并在花名册中登记",
                                    "Name a leader for every Party group and enter them in the roster"),
    "building_without_head": ("在楼内居民中推选楼栋长，优先考虑党员",
                              "Find a building head among the residents, Party members first"),
    "property_without_instructor": ("向该物业企业选派党建指导员 (红色物业)",
                                    "Send a Party-building instructor to the property company"),
    "committee_without_party_member": ("在业委会换届时推荐党员参选",
                                       "Put Party members forward at the owners' committee's next election"),
    "committee_without_cross_serving": ("推荐社区“两委”成员依法兼任业委会成员",
                                        "Put a community committee member forward to sit on the owners' committee"),
    "community_workers_short": ("按配备标准补充社区工作者",
                                "Recruit community workers up to the staffing standard"),
    "term_expired": ("提前做好换届准备，按期组织选举",
                     "Prepare the election and hold it on time"),
    "invalid_geometry": ("已自动修复，请数据维护人员核对修复后的形状",
                         "Repaired automatically; ask the data keeper to check the repaired shape"),
    "duplicate_feature": ("请数据维护人员删除重复的一条后重新导入",
                          "Ask the data keeper to delete the duplicate and load the layer again"),
    "multipart_feature": ("请数据维护人员核对是否应拆成几个要素",
                          "Ask the data keeper whether it should be split into several features"),
    "sliver": ("在方案编辑中用“吸附”修复缝隙，把它并入相邻网格",
               "Close the gap with snapping in the plan editor, joining it to a neighbouring grid"),
    "grid_straddles_community": ("调整网格边界，使网格只属于一个社区",
                                 "Move the grid border so the grid lies in one community"),
    "compound_straddles_community": ("与相关社区商定小区归属，并更正社区边界",
                                     "Agree with the communities which one holds the compound, and correct the border"),
    "compound_outside_community": ("核对小区位置，或把它所在的地块划入一个社区",
                                   "Check where the compound lies, or add its ground to a community"),
    "building_outside_compound": ("核对楼栋归属，把它划入一个小区或标为散居楼栋",
                                  "Check the building, and add it to a compound or mark it as standing alone"),
    "ambiguous_parent": ("请数据维护人员核对边界，确定其归属",
                         "Ask the data keeper to check the borders and decide where it belongs"),
}  # fmt: skip


def next_step(kind: str) -> tuple[str, str]:
    """What a coordinator does next about a finding of ``kind``, in Chinese and English.

    >>> next_step("uncovered_area")[0]
    '把这块地划入相邻网格，或在方案编辑中新建网格'
    """
    return NEXT_STEPS[kind]


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
    "staff": ("未导入人员花名册", "no staff roster is loaded"),
    "property": ("未导入物业服务企业表", "no property companies are loaded"),
    "owners_committee": ("未导入业主委员会表", "no owners' committees are loaded"),
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
