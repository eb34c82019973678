"""What the grid proposal could not satisfy: the problem kinds, notes and their messages.

The steps of :mod:`gridmap.core.propose` record a ``Note`` for everything they cannot satisfy;
once the cells have codes, the notes become the problem table (``PROBLEM_COLUMNS``) with a
message in Chinese and in English.

Examples
--------
>>> note = Note("over_ceiling", "C1", [0], 620.0)
>>> print(*_messages(note, "C1001", "X1", 300, 500, None), sep="\\n")
小区 X1 有 620 户，超过上限 500 户，单独划为网格 C1001 (可考虑按楼栋拆分)
Compound X1 has 620 households, above the ceiling of 500: grid C1001 on its own (consider splitting it by buildings)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridmap.core.gap_names import name_text_en, name_text_zh

PROBLEM_KINDS: dict[str, str] = {
    "over_ceiling": "小区户数超过上限，单独划为一个网格",
    "under_floor": "社区总户数不足下限，整个社区划为一个网格",
    "floor_not_reached": "只与超上限小区相邻的单元凑不足下限，单独成格",
    "ceiling_exceeded": "网格户数超过上限，找不到可行的拆分或调整",
    "below_floor": "网格户数不足下限，相邻网格无法让出单元",
    "compound_split": "小区超过户数上限，按楼栋拆分为相邻的几组，分属不同网格",
    "island": "与社区其余部分不相邻 (飞地)，并入最近的单元",
    "compound_within_compound": "小区与另一小区重复或位于其内，随其划入网格",
    "compound_straddles_community": "小区跨社区，按最大占比归入一个社区",
    "compound_outside_community": "小区不在任何社区内，未划入网格",
    "building_outside_community": "楼栋不在任何小区和社区内，未划入网格",
}
PROBLEM_COLUMNS = ["kind", "community_code", "cell_code", "codes", "measure", "message_zh", "message_en"]  # fmt: skip


@dataclass
class Note:
    kind: str
    community: str | None
    units: list[int]  # positions in the unit frame; the cell is the one holding the first
    measure: float
    codes: str = ""  # for notes about things outside every unit
    cell: int | None = None
    near: int | None = None  # the unit an island was joined to
    ground: bool = False  # an exclave with no unit of its own
    buildings: int | None = None  # of a unit above the ceiling: why it was not split
    split: bool = False  # that unit is a group of a compound's buildings already


def problem_table(notes: list[Note], codes, units, cell_of, floor: int, ceiling: int, names=None) -> pd.DataFrame:  # fmt: skip
    """The problem table; ``names`` (code → name) names the places the messages mention."""
    rows = []
    unit_codes = units["code"].to_numpy()
    for note in notes:
        cell = (
            note.cell if note.cell is not None else (cell_of[note.units[0]] if note.units else None)
        )
        code = codes[cell] if cell is not None else None
        what = note.codes or ";".join(unit_codes[note.units])
        hh = units["households"].to_numpy()
        parts = [(unit_codes[u], int(hh[u]), codes[cell_of[u]]) for u in note.units]
        zh, en = _messages(note, code, what, floor, ceiling, unit_codes, parts)
        if names:
            zh, en = name_text_zh(zh, names), name_text_en(en, names)
        rows.append({"kind": note.kind, "community_code": note.community, "cell_code": code,
                     "codes": what, "measure": note.measure, "message_zh": zh, "message_en": en})  # fmt: skip
    table = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    return table.astype({"community_code": object, "cell_code": object}).replace({np.nan: None})


def _messages(
    note: Note, cell, what: str, floor: int, ceiling: int, unit_codes, parts=()
) -> tuple[str, str]:
    """The message of a note in Chinese and English; ``parts``: (unit, households, cell) of the
    units a compound was split into."""
    m, c = note.measure, note.community
    if note.ground:
        return (f"社区 {c} 有一块 {m:.0f} 平方米的飞地不与任何单元相邻，并入最近的 {what} 所在网格 {cell}，该网格因此不连续",
                f"A {m:.0f} m² exclave of community {c} borders no unit: joined to the nearest, {what}, in grid {cell}, which is therefore not one piece")  # fmt: skip
    if note.kind == "compound_within_compound":
        near = unit_codes[note.near]
        return (f"{what} 与 {near} 重复或位于其内，没有自己的辖区，随 {near} 划入网格 {cell}",
                f"{what} duplicates or lies inside {near}: no ground of its own, placed with {near} in grid {cell}")  # fmt: skip
    if note.kind == "island":
        near = unit_codes[note.near]
        return (f"{what} 与社区其余部分不相邻 (飞地)，并入最近的 {near} (相距 {m:.0f} 米) 所在网格 {cell}，该网格因此不连续",
                f"{what} borders nothing else in the community (an exclave): joined to the nearest unit, {near} ({m:.0f} m away), in grid {cell}, which is therefore not one piece")  # fmt: skip
    if note.kind == "over_ceiling" and note.buildings is not None:
        return _why_whole(note, cell, what, ceiling)
    if note.kind == "compound_split":
        return (f"小区 {what} 有 {m:.0f} 户，超过上限 {ceiling} 户，按楼栋拆分为相邻的 {len(parts)} 组: " + "、".join(f"{u} {h} 户 (网格 {g})" for u, h, g in parts),
                f"Compound {what} has {m:.0f} households, above the ceiling of {ceiling}: split by buildings into {len(parts)} contiguous groups: " + ", ".join(f"{u} {h} households (grid {g})" for u, h, g in parts))  # fmt: skip
    texts = {
        "over_ceiling": (f"小区 {what} 有 {m:.0f} 户，超过上限 {ceiling} 户，单独划为网格 {cell} (可考虑按楼栋拆分)",
                         f"Compound {what} has {m:.0f} households, above the ceiling of {ceiling}: grid {cell} on its own (consider splitting it by buildings)"),
        "under_floor": (f"社区 {c} 共 {m:.0f} 户，不足下限 {floor} 户，整个社区划为一个网格 {cell}",
                        f"Community {c} has {m:.0f} households, below the floor of {floor}: one grid, {cell}"),
        "floor_not_reached": (f"网格 {cell} ({what}) 只有 {m:.0f} 户，不足下限 {floor} 户：这些单元只与超过上限的小区相邻",
                              f"Grid {cell} ({what}) has {m:.0f} households, below the floor of {floor}: its units border only compounds above the ceiling"),
        "ceiling_exceeded": (f"网格 {cell} ({what}) 有 {m:.0f} 户，超过上限 {ceiling} 户：没有两部分都在范围内的拆分，相邻网格也无余量，与相邻网格合并重划也不能都在范围内",
                             f"Grid {cell} ({what}) has {m:.0f} households, above the ceiling of {ceiling}: no cut leaves both parts in the band, no neighbour has room, and no merge with neighbouring grids cut again puts them all in it"),
        "below_floor": (f"网格 {cell} ({what}) 只有 {m:.0f} 户，不足下限 {floor} 户：相邻网格让出任何单元都会使其超出范围，合并重划也不能都在范围内",
                        f"Grid {cell} ({what}) has {m:.0f} households, below the floor of {floor}: no neighbouring grid can give it a unit and stay in the band, and no merge and cut again puts them all in it"),
        "compound_straddles_community": (f"小区 {what} 跨社区，{m:.0%} 的面积在社区 {c} 之外，按最大占比归入网格 {cell}，社区外部分归所在社区的网格",
                                         f"Compound {what} straddles communities ({m:.0%} of it outside {c}): placed in grid {cell} by its largest share; the part outside goes to the grids of the other community"),
        "compound_outside_community": (f"小区 {what} 不在任何社区内，其 {m:.0f} 户未划入网格",
                                       f"Compound {what} lies in no community: its {m:.0f} households are in no grid"),
        "building_outside_community": (f"楼栋 {what} 不在任何小区和社区内，其 {m:.0f} 户未划入网格",
                                       f"Building {what} lies in no compound and no community: its {m:.0f} households are in no grid"),
    }  # fmt: skip
    return texts[note.kind]


def _why_whole(note: Note, cell, what: str, ceiling: int) -> tuple[str, str]:
    """A unit above the ceiling left whole, and why the fabric could not split it by buildings."""
    m, b = note.measure, note.buildings
    if note.split:
        return (f"{what} 是一个小区按楼栋拆分出的一组，有 {m:.0f} 户，超过上限 {ceiling} 户：其中一栋楼的户数就超过上限，不能再拆，单独划为网格 {cell}",
                f"{what}, a group of a compound's buildings, has {m:.0f} households, above the ceiling of {ceiling}: one building alone is above it, so it cannot be split further; grid {cell} on its own")  # fmt: skip
    if b <= 1:
        return (f"小区 {what} 有 {m:.0f} 户，超过上限 {ceiling} 户，但只有 {b} 栋楼，无法按楼栋拆分，单独划为网格 {cell}",
                f"Compound {what} has {m:.0f} households, above the ceiling of {ceiling}, in {b} building only: it cannot be split by buildings; grid {cell} on its own")  # fmt: skip
    return (f"小区 {what} 有 {m:.0f} 户，超过上限 {ceiling} 户：其 {b} 栋楼中一栋的户数就超过上限，按楼栋拆分也不能使各组都不超过上限，单独划为网格 {cell}",
            f"Compound {what} has {m:.0f} households, above the ceiling of {ceiling}: one of its {b} buildings alone is above it, so no split by buildings keeps every group under it; grid {cell} on its own")  # fmt: skip
