"""Masking of personal data (个人信息脱敏): what a role that may not see a name, phone or address
reads instead.

Examples
--------
>>> mask_name("张三明"), mask_name("李四"), mask_name("")
('张*明', '李*', '')
>>> mask_phone("10012345678"), mask_phone("1001")
('100****5678', '****')
>>> mask_address("锦绣街道锦绣花园12栋1单元1501室")
'锦绣街道锦绣****'
"""

from __future__ import annotations


def mask_name(name: str | None) -> str | None:
    """Keep the first and last character of a name: 张三明 → 张*明, 李四 → 李*."""
    if not name:
        return name
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 10012345678 → 100****5678."""
    if not phone:
        return phone
    digits = str(phone)
    if len(digits) < 8:
        return "****"
    return digits[:3] + "****" + digits[-4:]


def mask_address(address: str | None) -> str | None:
    """Keep the first third (the street or compound), never the building, unit or door:
    锦绣街道锦绣花园12栋1单元1501室 → 锦绣街道锦绣****."""
    if not address:
        return address
    return address[: max(1, len(address) // 3)] + "****"


MASKS = {"name": mask_name, "phone": mask_phone, "address": mask_address}
"""The masking function of every personal field of a member (``LAYERS['member']``)."""
