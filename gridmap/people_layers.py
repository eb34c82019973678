"""The people who serve the places (做优骨干队伍): staff roster, property companies, 业委会.

Three layers without geometry, imported like the others: ``staff`` (人员花名册: one row per person
and post), ``property`` (物业服务企业) and ``owners_committee`` (业主委员会). A staff row names
the places it serves by their codes (grids, Party organisations, buildings, compounds, property
companies, communities, owners' committees). Names and personal phones are personal data like
members'; the public duty phone (值班电话) is meant to be posted and is not.

Examples
--------
>>> STAFF_ROLE_SPELLINGS["专职网格员"], STAFF_ROLE_SPELLINGS["党支部书记"]
('grid_worker_full', 'secretary')
>>> sorted(MEMBER_POSTS)[:2]
['committee_member', 'deputy_secretary']
"""

from __future__ import annotations

from gridmap.layer_spec import (
    MEMBER_CATEGORY_SPELLINGS,
    YES_NO,
    FieldSpec,
    LayerSpec,
    code_field,
    name_field,
)

# the posts of the roster, canonical English value → the Chinese title
STAFF_ROLES = {
    "grid_leader": "网格长",
    "grid_worker_full": "专职网格员",
    "grid_worker_part": "兼职网格员",
    "secretary": "党支部书记",
    "deputy_secretary": "党支部副书记",
    "committee_member": "支部委员",
    "group_leader": "党小组长",
    "building_head": "楼栋长",
    "unit_head": "单元长",
    "member_household": "党员中心户",
    "instructor": "党建指导员",
    "two_committees": "社区两委成员",
    "community_worker": "社区工作者",
}
STAFF_ROLE_SPELLINGS = {
    **{zh: en for en, zh in STAFF_ROLES.items()},
    **{en: en for en in STAFF_ROLES},
    "网格员(专职)": "grid_worker_full", "网格员专职": "grid_worker_full", "专职": "grid_worker_full",
    "网格员(兼职)": "grid_worker_part", "网格员兼职": "grid_worker_part", "兼职": "grid_worker_part",
    "支部书记": "secretary", "书记": "secretary", "副书记": "deputy_secretary",
    "支委": "committee_member", "委员": "committee_member", "支委委员": "committee_member",
    "小组长": "group_leader", "党小组组长": "group_leader", "楼长": "building_head",
    "楼栋长(楼长)": "building_head", "社区“两委”成员": "two_committees",
    "社区两委": "two_committees", "两委成员": "two_committees", "社工": "community_worker",
}  # fmt: skip
GRID_WORKERS = ("grid_leader", "grid_worker_full", "grid_worker_part")
# posts only a Party member can hold (党员中心户 is a member's home by definition)
MEMBER_POSTS = frozenset(
    ("secretary", "deputy_secretary", "committee_member", "group_leader", "member_household",
     "instructor")
)  # fmt: skip

PARTY_MEMBER_SPELLINGS = {
    **YES_NO,
    "党员": "true", "中共党员": "true", "中共预备党员": "true", "预备党员": "true",
    "群众": "false", "共青团员": "false", "团员": "false", "非党员": "false",
}  # fmt: skip
PROPERTY_ORGS = {"yes": "单独建立", "joint": "联合建立", "none": "未建立"}
PROPERTY_ORG_SPELLINGS = {
    **{zh: en for en, zh in PROPERTY_ORGS.items()}, **{en: en for en in PROPERTY_ORGS},
    "是": "yes", "有": "yes", "已建立": "yes", "已建": "yes", "单独建": "yes", "党支部": "yes",
    "联合建": "joint", "联合": "joint", "联合党支部": "joint",
    "否": "none", "无": "none", "未建": "none", "没有": "none",
}  # fmt: skip
COMMITTEE_ORGS = {
    "branch": "党支部",
    "functional": "功能型党支部",
    "joint": "联合党支部",
    "none": "无",
}
COMMITTEE_ORG_SPELLINGS = {
    **{zh: en for en, zh in COMMITTEE_ORGS.items()}, **{en: en for en in COMMITTEE_ORGS},
    "是": "branch", "有": "branch", "已建立": "branch", "功能党支部": "functional",
    "功能型": "functional", "联合": "joint", "否": "none", "未建立": "none", "没有": "none",
}  # fmt: skip


def _count(name: str, label: str, *aliases: str) -> FieldSpec:
    return FieldSpec(name, "int", label, aliases=(label, *aliases))


PEOPLE_LAYERS = (
    LayerSpec(
        "staff",
        "人员花名册",
        "none",
        (
            code_field("人员编号", "工号"),
            name_field("姓名", "人员姓名", required=True, personal=True),
            FieldSpec(
                "phone",
                "str",
                "电话",
                personal=True,
                aliases=("电话", "手机", "手机号", "手机号码", "联系电话", "phone", "mobile"),
            ),
            FieldSpec(
                "role",
                "category",
                "职务",
                required=True,
                aliases=("职务", "岗位", "担任职务", "角色", "身份", "role"),
                choices=STAFF_ROLE_SPELLINGS,
            ),
            FieldSpec(
                "places",
                "codes",
                "服务范围",
                required=True,
                aliases=(
                    "服务范围",
                    "负责范围",
                    "负责区域",
                    "服务对象",
                    "所在网格",
                    "负责网格",
                    "所在党组织",
                    "服务单位",
                    "places",
                ),
            ),
            FieldSpec(
                "party_member",
                "bool",
                "是否党员",
                aliases=("是否党员", "政治面貌", "党员", "party_member"),
                choices=PARTY_MEMBER_SPELLINGS,
            ),
            FieldSpec(
                "category",
                "category",
                "党员类别",
                aliases=("党员类别", "党员类型", "category"),
                choices=MEMBER_CATEGORY_SPELLINGS,
            ),
            FieldSpec(
                "joined_party",
                "date",
                "入党时间",
                aliases=("入党时间", "入党日期", "入党年月", "joined_party"),
            ),
            FieldSpec(
                "took_post",
                "date",
                "任职时间",
                aliases=("任职时间", "任职日期", "上任时间", "任现职时间", "took_post"),
            ),
            FieldSpec(
                "duty_phone",
                "str",
                "值班电话",
                aliases=("值班电话", "公开电话", "服务电话", "duty_phone"),
            ),
        ),
    ),
    LayerSpec(
        "property",
        "物业服务企业",
        "none",
        (
            code_field("企业编号", "统一社会信用代码", "信用代码"),
            name_field("企业名称", "物业公司", "物业服务企业", "物业企业", required=True),
            FieldSpec(
                "compounds",
                "codes",
                "服务小区",
                aliases=("服务小区", "管理小区", "服务项目", "物业项目", "compounds"),
            ),
            _count("employees", "从业人员", "员工数", "职工人数", "员工人数", "employees"),
            _count("party_members", "党员数", "党员人数", "其中党员", "party_members"),
            FieldSpec(
                "party_org",
                "category",
                "党组织",
                aliases=(
                    "党组织",
                    "党组织建设情况",
                    "是否建立党组织",
                    "党组织建立情况",
                    "party_org",
                ),
                choices=PROPERTY_ORG_SPELLINGS,
            ),
            FieldSpec(
                "has_instructor",
                "bool",
                "派驻党建指导员",
                aliases=("派驻党建指导员", "党建指导员", "已派党建指导员", "has_instructor"),
                choices=YES_NO,
            ),
        ),
    ),
    LayerSpec(
        "owners_committee",
        "业主委员会",
        "none",
        (
            code_field("业委会编号", "业委会编码"),
            name_field("业委会名称"),
            FieldSpec(
                "compound_code",
                "str",
                "所在小区",
                required=True,
                aliases=("所在小区", "所属小区", "小区编码", "小区编号", "compound_code"),
            ),
            _count("members", "委员人数", "成员人数", "委员数", "members"),
            _count("party_members", "党员人数", "党员委员数", "其中党员", "party_members"),
            _count("cross_serving", "交叉任职人数", "两委兼任人数", "交叉任职", "cross_serving"),
            FieldSpec(
                "party_org",
                "category",
                "党组织",
                aliases=("党组织", "党组织建设情况", "功能型党支部", "party_org"),
                choices=COMMITTEE_ORG_SPELLINGS,
            ),
        ),
    ),
)
