"""How a layer and its columns are described (图层与字段的描述).

:mod:`gridmap.layers` lists the layers of the place hierarchy and
:mod:`gridmap.people_layers` those of the people who serve them, both with these classes.

Examples
--------
>>> code_field("楼号").aliases[-1]
'楼号'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# "date": ISO text YYYY-MM-DD, read from 2021.3, 2021年3月, 2021-03-01 or an Excel serial
FieldKind = Literal["str", "int", "float", "bool", "category", "codes", "date"]
GeometryFamily = Literal["polygon", "point", "none"]


@dataclass(frozen=True)
class FieldSpec:
    """One canonical column: its name, type, whether a file must have it, and header aliases."""

    name: str
    kind: FieldKind
    label_zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    personal: bool = False
    # for kind == "category": accepted spellings (lower-cased) → canonical value
    choices: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the place hierarchy (空间层级) and its columns."""

    name: str
    label_zh: str
    geometry: GeometryFamily
    fields: tuple[FieldSpec, ...]
    # columns that identify a feature for upserts (``layer`` is added for grids)
    key: tuple[str, ...] = ("code",)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)


def code_field(*extra: str) -> FieldSpec:
    """The code (编号) column, the upsert key, with the layer's own header spellings."""
    return FieldSpec(
        "code",
        "str",
        "编号",
        aliases=("编号", "代码", "编码", "标识码", "code", "id", "bh", "bm", "dm", *extra),
    )


def name_field(*extra: str, required: bool = False, personal: bool = False) -> FieldSpec:
    """The name (名称) column with the layer's own header spellings."""
    return FieldSpec(
        "name",
        "str",
        "名称",
        required=required,
        personal=personal,
        aliases=("名称", "名字", "name", "mc", *extra),
    )


YES_NO = {
    "是": "true", "否": "false", "y": "true", "n": "false", "yes": "true", "no": "false",
    "true": "true", "false": "false", "1": "true", "0": "false", "有": "true", "无": "false",
    "已报到": "true", "未报到": "false", "在职": "true", "不在职": "false", "t": "true", "f": "false",
}  # fmt: skip


MEMBER_CATEGORY_SPELLINGS = {
    "正式党员": "full", "正式": "full", "full": "full",
    "预备党员": "probationary", "预备": "probationary", "probationary": "probationary",
}  # fmt: skip
