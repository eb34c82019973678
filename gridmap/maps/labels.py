"""The words a printed report and an exported map show, Chinese first, English second.

Gap kinds are named once, in :data:`gridmap.core.gaps.GAP_KINDS`; what else a reader sees
(figures, rates, proposal kinds) is named here.

>>> gap_label("grid_without_member")
('空白网格 (无党员居住)', 'grid without member')
>>> COUNT_LABELS["unified_cells"][0]
'全科网格'
"""

from __future__ import annotations

from gridmap.core.gaps import GAP_KINDS

COUNT_LABELS: dict[str, tuple[str, str]] = {
    "communities": ("社区", "communities"),
    "unified_cells": ("全科网格", "unified grid cells"),
    "compounds": ("小区", "compounds"),
    "buildings": ("楼栋", "buildings"),
    "households": ("户数", "households"),
    "members": ("党员", "Party members"),
    "members_full": ("正式党员", "full members"),
    "members_probationary": ("预备党员", "probationary members"),
    "members_assigned": ("已落位党员", "members placed in a building"),
    "stations": ("党群服务站", "service stations"),
}

# 两个覆盖: each rate is a share of the compounds that have households (coverage.rates)
RATE_LABELS: dict[str, tuple[str, str, str]] = {
    "org_coverage": (
        "组织覆盖率", "organisational coverage",
        "有住户的小区中，已由党支部、联合党支部或党总支覆盖的比例",
    ),
    "own_branch_rate": (
        "单独组建率", "own-branch rate",
        "有住户的小区中，单独建立党支部 (自建支部) 的比例",
    ),
    "member_coverage": (
        "党员覆盖率", "compounds with members",
        "有住户的小区中，有党员居住的比例",
    ),
}  # fmt: skip

PROPOSAL_KINDS: dict[str, str] = {
    "branch": "单独建立党支部",
    "general_branch": "党总支 / 分设支部",
    "joint_branch": "联合党支部",
    "not_joinable": "暂无法联建",
    "party_group": "党小组",
    "split_branch": "分设党支部",
    "member_household": "党员中心户",
}

LEVELS: dict[str, tuple[str, str]] = {
    "subdistrict": ("街道", "subdistrict"),
    "community": ("社区", "community"),
    "grid": ("网格", "grid"),
    "compound": ("小区", "compound"),
}


def gap_label(kind: str) -> tuple[str, str]:
    """A gap kind's Chinese name and its English words."""
    return GAP_KINDS.get(kind, kind), kind.replace("_", " ")


def percent(value) -> str:
    """A rate as a percentage with one decimal ("—" when there is none)."""
    if value is None or value != value:
        return "—"
    return f"{float(value):.1%}"
