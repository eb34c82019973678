"""Roles and what each may do (角色与权限): the account's side of every decision.

========== =============================================== ==============================
role       may                                             personal data (names, phones)
========== =============================================== ==============================
admin      everything, everywhere; accounts; approve plans  yes
planner    view; edit plans of their area                   no (masked)
coordinator view their subdistrict / community / grid       yes, in their area
viewer     figures and maps                                 never
========== =============================================== ==============================

Examples
--------
>>> Principal("a", "planner", "510199001001").may("edit_plan"), Principal("v", "viewer", None).may("personal")
(True, False)
>>> str(denied(Principal("v", "viewer", "C1"), "import")).splitlines()[0]
'查看者账号 v 无权导入数据。'
"""

from __future__ import annotations

from dataclasses import dataclass

from gridmap.errors import PermissionDeniedError

ROLES = {
    "admin": "管理员",
    "planner": "规划员",
    "coordinator": "网格协调员",
    "viewer": "查看者",
}
PERMISSIONS = {
    "view": {"admin", "planner", "coordinator", "viewer"},
    "personal": {"admin", "coordinator"},
    "edit_plan": {"admin", "planner"},
    "approve_plan": {"admin"},
    "import": {"admin"},
    "accounts": {"admin"},
}
ACTIONS = {  # what each action of PERMISSIONS is, for "账号 X 无权…" / "The account X may not …"
    "view": ("查看", "view maps and figures"),
    "personal": ("查看党员个人信息", "see members' personal data"),
    "edit_plan": ("编辑网格方案", "edit grid plans"),
    "approve_plan": ("批准网格方案", "approve grid plans"),
    "import": ("导入数据", "import data"),
    "accounts": ("管理账号与审计日志", "manage accounts or read the audit log"),
}


@dataclass(frozen=True)
class Principal:
    """The person (or API client) making a request: name, role, and the code of their area
    (``None``: the whole database, admins only)."""

    name: str
    role: str
    area: str | None

    def may(self, action: str) -> bool:
        """Whether the role may do ``action`` (a key of :data:`PERMISSIONS`) somewhere."""
        return self.role in PERMISSIONS[action]

    @property
    def everywhere(self) -> bool:
        """Admins see the whole database: no area narrows what they see."""
        return self.role == "admin"


def denied(principal: Principal, action: str) -> PermissionDeniedError:
    """The refusal (403) of ``principal`` trying ``action``, worded from :data:`ACTIONS`."""
    zh, en = ACTIONS[action]
    return PermissionDeniedError(
        f"{ROLES[principal.role]}账号 {principal.name} 无权{zh}。",
        f"The {principal.role} account {principal.name} may not {en}.",
    )
