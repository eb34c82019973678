"""The layers of docs/domain.md and their canonical columns (图层与字段).

This is the one contract shared by the readers (``io``), the store and the core: a layer's
GeoDataFrame has exactly the columns named here (plus ``geometry`` for spatial layers), in
EPSG:4326. Readers map whatever headers a file has onto these names through ``aliases``.

Examples
--------
>>> LAYERS["building"].field("households").kind
'int'
>>> LAYERS["member"].personal_fields
('name', 'phone', 'address')
"""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.layer_spec import (
    MEMBER_CATEGORY_SPELLINGS,
    YES_NO,
    FieldSpec,
    LayerSpec,
    code_field,
    name_field,
)
from gridmap.people_layers import PEOPLE_LAYERS

STORAGE_CRS = "EPSG:4326"

MEMBER_CATEGORIES = {"full": "正式党员", "probationary": "预备党员"}
ORG_KINDS = {
    "committee": "党委",
    "general_branch": "党总支",
    "branch": "党支部",
    "joint_branch": "联合党支部",
}


ORG_KIND_SPELLINGS = {
    **{zh: en for en, zh in ORG_KINDS.items()},
    **{en: en for en in ORG_KINDS},
    "党委员会": "committee", "基层党委": "committee",
    "总支": "general_branch", "支部": "branch", "联合支部": "joint_branch",
}  # fmt: skip

_COMMUNITY_CODE = FieldSpec(
    "community_code",
    "str",
    "所属社区",
    aliases=("所属社区", "社区编码", "社区代码", "社区编号", "社区"),
)

LAYERS: dict[str, LayerSpec] = {
    spec.name: spec
    for spec in (
        LayerSpec(
            "subdistrict",
            "街道",
            "polygon",
            (code_field("街道编码", "街道代码"), name_field("街道名称", "街道")),
        ),
        LayerSpec(
            "community",
            "社区",
            "polygon",
            (
                code_field("社区编码", "社区代码", "社区编号"),
                name_field("社区名称", "社区"),
                FieldSpec(
                    "subdistrict_code",
                    "str",
                    "所属街道",
                    aliases=("所属街道", "街道编码", "街道代码"),
                ),
                FieldSpec(
                    "population",
                    "int",
                    "人口数",
                    aliases=("人口数", "常住人口", "实有人口", "居民人数", "人口", "population"),
                ),
            ),
        ),
        LayerSpec(
            "grid",
            "网格",
            "polygon",
            (
                code_field("网格编码", "网格编号", "网格代码", "单元网格编码"),
                name_field("网格名称", "网格"),
                _COMMUNITY_CODE,
            ),
            key=("layer", "code"),
        ),
        LayerSpec(
            "compound",
            "小区",
            "polygon",
            (
                code_field("小区编码", "小区编号", "小区代码", "院落编号"),
                name_field("小区名称", "小区", "院落名称"),
                _COMMUNITY_CODE,
                FieldSpec(
                    "property_company", "str", "物业公司", aliases=("物业公司", "物业企业", "物业")
                ),
                FieldSpec(
                    "property_has_org",
                    "bool",
                    "物业党组织",
                    aliases=("物业党组织", "物业已建党组织", "红色物业", "物业是否建立党组织"),
                    choices=YES_NO,
                ),
                # other names residents use (俗称, 曾用名), ";"-separated; kept in properties
                FieldSpec(
                    "aliases",
                    "codes",
                    "别名/曾用名",
                    aliases=("别名", "曾用名", "别称", "俗称", "小区别名", "原名", "aliases"),
                ),
            ),
        ),
        LayerSpec(
            "building",
            "楼栋",
            "polygon",
            (
                code_field("楼栋编码", "楼栋编号", "楼栋代码", "楼号"),
                name_field("楼栋名称", "楼栋"),
                FieldSpec(
                    "compound_code", "str", "所属小区", aliases=("所属小区", "小区编码", "小区编号")
                ),
                FieldSpec(
                    "households",
                    "int",
                    "户数",
                    required=True,
                    aliases=("户数", "住户数", "总户数", "户", "households", "hs"),
                ),
                FieldSpec("floors", "int", "层数", aliases=("层数", "楼层数", "楼层", "floors")),
            ),
        ),
        LayerSpec(
            "station",
            "党群服务站",
            "point",
            (
                code_field("站点编号", "站点编码"),
                name_field("站点名称", "服务站名称"),
                FieldSpec("kind", "str", "类型", aliases=("类型", "站点类型", "级别", "kind")),
            ),
        ),
        LayerSpec(
            "member",
            "党员",
            "point",
            (
                code_field("党员编号", "人员编号"),
                name_field("姓名", "党员姓名", required=True, personal=True),
                FieldSpec(
                    "phone",
                    "str",
                    "电话",
                    personal=True,
                    aliases=("电话", "手机", "手机号", "手机号码", "联系电话", "phone", "mobile"),
                ),
                FieldSpec(
                    "address",
                    "str",
                    "住址",
                    personal=True,
                    aliases=("住址", "地址", "家庭住址", "居住地址", "address"),
                ),
                # an address in separate columns, placed like 住址 when there are no coordinates;
                # never stored as such: folded into the (personal) address before writing
                FieldSpec(
                    "compound_name",
                    "str",
                    "所住小区",
                    aliases=("所住小区", "居住小区", "小区名称", "小区", "所在小区"),
                ),
                FieldSpec(
                    "building_no",
                    "str",
                    "楼栋号",
                    aliases=("楼栋号", "楼号", "栋号", "幢号", "楼幢号", "楼栋"),
                ),
                FieldSpec("unit", "str", "单元", aliases=("单元", "单元号")),
                FieldSpec(
                    "room",
                    "str",
                    "门牌号",
                    aliases=("门牌号", "单元门牌", "单元房号", "房号", "室号", "门牌"),
                ),
                FieldSpec(
                    "category",
                    "category",
                    "党员类别",
                    required=True,
                    aliases=("党员类别", "党员类型", "类别", "category"),
                    choices=MEMBER_CATEGORY_SPELLINGS,
                ),
                FieldSpec(
                    "in_service",
                    "bool",
                    "在职党员",
                    aliases=("在职党员", "是否在职", "在职", "in_service"),
                    choices=YES_NO,
                ),
                FieldSpec(
                    "reported",
                    "bool",
                    "已报到",
                    aliases=("已报到", "是否报到", "双报到", "报到", "reported"),
                    choices=YES_NO,
                ),
                FieldSpec(
                    "org_name",
                    "str",
                    "所在党组织",
                    aliases=("所在党组织", "所属党组织", "党组织", "组织关系所在", "org"),
                ),
                FieldSpec(
                    "building_code", "str", "所住楼栋", aliases=("所住楼栋", "楼栋编号", "楼栋编码")
                ),
            ),
        ),
        LayerSpec(
            "org",
            "党组织",
            "none",
            (
                code_field("组织编号", "组织代码"),
                name_field("组织名称", "党组织名称", required=True),
                FieldSpec(
                    "kind",
                    "category",
                    "组织类型",
                    required=True,
                    aliases=("组织类型", "类型", "组织类别", "kind"),
                    choices=ORG_KIND_SPELLINGS,
                ),
                FieldSpec(
                    "parent_name", "str", "上级组织", aliases=("上级组织", "上级党组织", "parent")
                ),
                FieldSpec(
                    "has_committee",
                    "bool",
                    "设支委会",
                    aliases=("设支委会", "是否设支委会", "支委会", "has_committee"),
                    choices=YES_NO,
                ),
                FieldSpec(
                    "covers", "codes", "覆盖小区", aliases=("覆盖小区", "覆盖范围", "covers")
                ),
                FieldSpec(
                    "groups", "int", "党小组数", aliases=("党小组数", "党小组个数", "groups")
                ),
            ),
        ),
        *PEOPLE_LAYERS,
    )
}

GRID_LAYER_EXAMPLES = {
    "party": "党建网格",
    "zongzhi": "综治网格",
    "chengguan": "城管网格",
    "police": "警务网格",
    "unified": "全科网格",
}

# Columns of coordinates in CSV tables (经度/纬度) or a WKT geometry column.
LON_ALIASES = ("经度", "lon", "lng", "long", "longitude", "x", "jd")
LAT_ALIASES = ("纬度", "lat", "latitude", "y", "wd")
WKT_ALIASES = ("wkt", "geometry", "geom", "几何", "空间信息", "shape")

# Parts of headers that mean the same (号码 ~ 电话, 所在 ~ 所属, 楼号 ~ 楼栋编号, 有 ~ 已建 …), the
# first of each group its canonical spelling. The header matcher compares headers with these parts
# made equal, so that a column that almost matches an alias is reported with the --field to use.
HEADER_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("电话", "手机号码", "手机号", "手机", "联系电话", "联系方式", "电话号码", "号码"),
    ("所属", "所在", "隶属"),
    ("楼栋编号", "楼号", "楼栋号", "楼幢号", "栋号"),
    ("楼栋", "楼幢", "楼宇"),
    ("编号", "编码", "代码", "代号"),
    ("已建党组织", "已建立党组织", "建立党组织", "建有党组织", "有党组织", "成立党组织", "已成立党组织"),
    ("户数", "住户数", "总户数", "实有户数"),
    ("小区", "院落", "楼院"),
)  # fmt: skip


@dataclass(frozen=True)
class CheckNeeds:
    """What one check of the analysis (one gap kind) needs to run (检查所需的数据)."""

    label_zh: str  # the check, as the load report names it
    # (layer, field): a column of the layer with at least one value; field None: any row
    needs: tuple[tuple[str, str | None], ...]


# The checks that need more than the communities and their own layer. A check whose inputs are
# missing cannot run: the load report names it when a file lacks the column, and the analysis
# lists it as not checked (未能检查) instead of reporting no finding.
CHECK_NEEDS: dict[str, CheckNeeds] = {
    "uncovered_area": CheckNeeds("留白检查", (("grid", None),)),
    "grid_overlap": CheckNeeds("网格重叠检查", (("grid", None),)),
    "compound_split": CheckNeeds("小区切分检查", (("compound", None), ("grid", None))),
    "compound_without_org": CheckNeeds(
        "小区党组织覆盖检查", (("compound", None), ("building", None), ("org", "covers"))
    ),
    "grid_without_member": CheckNeeds(
        "空白网格检查", (("grid", None), ("building", None), ("member", None))
    ),
    "building_without_member": CheckNeeds("楼栋党员检查", (("building", None), ("member", None))),
    "grid_out_of_band": CheckNeeds("网格户数检查", (("grid", None), ("building", None))),
    "member_unassigned": CheckNeeds("党员落位检查", (("member", None), ("building", None))),
    "member_not_reported": CheckNeeds(
        "在职党员报到检查", (("member", "in_service"), ("member", "reported"))
    ),
    "property_without_org": CheckNeeds(
        "红色物业检查", (("compound", "property_company"), ("compound", "property_has_org"))
    ),
    "beyond_station_reach": CheckNeeds(
        "党群服务站服务半径检查", (("station", None), ("building", None))
    ),
    "branch_too_small": CheckNeeds("党支部规模检查", (("org", "covers"), ("member", None))),
    "branch_too_large": CheckNeeds("党支部规模检查", (("org", "covers"), ("member", None))),
    "branch_needs_committee": CheckNeeds(
        "支委会设置检查", (("org", "covers"), ("org", "has_committee"), ("member", None))
    ),
    "joint_branch_too_many_units": CheckNeeds("联合党支部单位数检查", (("org", "covers"),)),
    "grid_straddles_community": CheckNeeds("网格跨社区检查", (("grid", None),)),
    "compound_straddles_community": CheckNeeds("小区跨社区检查", (("compound", None),)),
    "compound_outside_community": CheckNeeds("小区归属社区检查", (("compound", None),)),
    "building_outside_compound": CheckNeeds(
        "楼栋归属小区检查", (("building", None), ("compound", None))
    ),
    # the people who serve the places (gridmap.core.staffing)
    "grid_without_worker": CheckNeeds("网格员配备检查", (("grid", None), ("staff", None))),
    "worker_overloaded": CheckNeeds(
        "网格员负担检查", (("grid", None), ("building", None), ("staff", None))
    ),
    "branch_without_secretary": CheckNeeds("支部书记配备检查", (("org", None), ("staff", None))),
    "secretary_not_qualified": CheckNeeds(
        "支部书记条件检查", (("staff", "category"), ("staff", "joined_party"))
    ),
    "branch_without_group_leader": CheckNeeds(
        "党小组长配备检查", (("org", "groups"), ("staff", None))
    ),
    "building_without_head": CheckNeeds("楼栋长配备检查", (("building", None), ("staff", None))),
    "property_without_instructor": CheckNeeds("物业党建指导员检查", (("property", None),)),
    "committee_without_party_member": CheckNeeds(
        "业委会党员检查", (("owners_committee", "party_members"),)
    ),
    "committee_without_cross_serving": CheckNeeds(
        "业委会交叉任职检查", (("owners_committee", "cross_serving"),)
    ),
    "community_workers_short": CheckNeeds(
        "社区工作者配备检查", (("staff", None), ("building", None))
    ),
    "term_expired": CheckNeeds("换届提醒", (("staff", "took_post"),)),
}
