"""Chinese addresses as offices write them → compound, building, unit, room and floor."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridmap.io.address import (
    building_key,
    chinese_number,
    name_key,
    normalise,
    parse_address,
    parse_many,
    parse_parts,
)

COMPOUNDS = ["紫阳花园", "紫阳花园二期", "枫林苑", "锦绣小区", "翠竹里", "东湖名居", "水乡花园"]
PREFIXES = [
    "",
    "武昌区",
    "首义路街道",
    "紫阳社区",
    "武昌区首义路街道",
    "湖北省武汉市武昌区首义路街道紫阳社区",
]
ZH = "零一二三四五六七八九"


def _zh(n: int) -> str:
    if n < 10:
        return ZH[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH[tens]) + "十" + (ZH[ones] if ones else "")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


@st.composite
def addresses(draw):
    """An address in one of the usual forms, with what it must parse to."""
    compound = draw(st.sampled_from(COMPOUNDS))
    building = draw(st.integers(1, 40))
    unit = draw(st.integers(1, 6))
    floor = draw(st.integers(1, 33))
    room = f"{floor}{draw(st.integers(1, 4)):02d}"
    form = draw(st.sampled_from(["栋", "号楼", "幢", "座", "号", "zh栋", "dash", "dash室"]))
    if form == "dash":
        tail = f"{building}-{unit}-{room}"
    elif form == "dash室":
        tail = f"{building}-{unit}-{room}室"
    elif form == "zh栋":
        tail = f"{_zh(building)}栋{_zh(unit)}单元{room}"
    else:
        tail = f"{building}{form}{unit}单元{room}" + draw(st.sampled_from(["", "室"]))
    text = draw(st.sampled_from(PREFIXES)) + compound + tail
    if draw(st.booleans()):
        text = _full_width(text)
    if draw(st.booleans()):
        text = " ".join(text)  # spaces between every character, as some exports have
    return text, compound, str(building), unit, room, floor


@given(addresses())
def test_every_usual_form_parses_to_the_same_parts(case):
    text, compound, building, unit, room, floor = case
    parsed = parse_address(text)
    # "水乡花园" may lose "水乡" as if it were a township; the whole place still ends with it
    assert name_key(parsed.place).endswith(name_key(compound))
    assert name_key(compound).endswith(name_key(parsed.compound))
    if compound != "水乡花园":
        assert name_key(parsed.compound) == name_key(compound)
    assert (parsed.building, parsed.unit, parsed.room, parsed.floor) == (
        building,
        unit,
        room,
        floor,
    )


@given(st.integers(0, 199))
def test_chinese_numerals_read_as_numbers(n):
    assert chinese_number(_zh(n) if n < 100 else "一百" + ("零" + ZH[n % 10] if n % 100 < 10 else _zh(n % 100))) == n  # fmt: skip


@pytest.mark.parametrize(
    "text, expected",
    [
        ("紫阳花园3栋2单元501室", ("紫阳花园", "3", 2, "501", 5, None, None)),
        (
            "武昌区首义路街道紫阳花园3号楼2-501",
            ("紫阳花园", "3", 2, "501", 5, "武昌区", "首义路街道"),
        ),
        ("紫阳花园三栋二单元501", ("紫阳花园", "3", 2, "501", 5, None, None)),
        ("紫阳花园十二栋1单元1502", ("紫阳花园", "12", 1, "1502", 15, None, None)),
        ("紫阳花园3-2-501", ("紫阳花园", "3", 2, "501", 5, None, None)),
        ("紫阳花园3-2-501室", ("紫阳花园", "3", 2, "501", 5, None, None)),
        ("紫阳花园3幢", ("紫阳花园", "3", None, None, None, None, None)),
        ("枫林苑B座1201", ("枫林苑", "B", None, "1201", 12, None, None)),
        ("枫林苑b座", ("枫林苑", "B", None, None, None, None, None)),
        ("枫林苑3座501室", ("枫林苑", "3", None, "501", 5, None, None)),
        ("紫阳花园３栋　２单元５０１", ("紫阳花园", "3", 2, "501", 5, None, None)),
        ("锦绣街道锦绣花园12栋1单元0501室", ("锦绣花园", "12", 1, "0501", 5, None, "锦绣街道")),
        ("锦绣小区3栋", ("锦绣小区", "3", None, None, None, None, None)),
        ("锦绣小镇2栋", ("锦绣小镇", "2", None, None, None, None, None)),
        ("紫阳社区紫阳花园二期5栋", ("紫阳花园2期", "5", None, None, None, None, None)),
        ("紫阳花园03栋", ("紫阳花园", "3", None, None, None, None, None)),
        ("紫阳花园", ("紫阳花园", None, None, None, None, None, None)),
    ],
)
def test_real_looking_addresses(text, expected):
    p = parse_address(text)
    got = (p.compound, p.building, p.unit, p.room, p.floor, p.district, p.subdistrict)
    assert got == expected


def test_community_prefix_is_cut_and_kept():
    p = parse_address("湖北省武汉市武昌区首义路街道紫阳社区紫阳花园3栋")
    assert (p.district, p.subdistrict, p.community, p.compound) == (
        "湖北省武汉市武昌区", "首义路街道", "紫阳社区", "紫阳花园",
    )  # fmt: skip
    assert p.place == "湖北省武汉市武昌区首义路街道紫阳社区紫阳花园"


def test_an_empty_or_missing_address_says_nothing():
    assert parse_address(None) == parse_address(float("nan")) == parse_address("  ")
    assert parse_address("").compound is None and parse_address("").building is None


@pytest.mark.parametrize(
    "compound, building, room, expected",
    [
        ("紫阳花园", None, "3-2-501", ("紫阳花园", "3", 2, "501")),
        ("紫阳花园", "3", "2-501", ("紫阳花园", "3", 2, "501")),
        ("紫阳花园", "3号楼", "2单元501室", ("紫阳花园", "3", 2, "501")),
        ("紫阳花园", "三栋", "501", ("紫阳花园", "3", None, "501")),
        ("紫阳花园", None, "3-501", ("紫阳花园", "3", None, "501")),
        ("紫阳花园", None, "3栋2单元501", ("紫阳花园", "3", 2, "501")),
        ("首义路街道紫阳花园", "B座", None, ("紫阳花园", "B", None, None)),
    ],
)
def test_separate_columns(compound, building, room, expected):
    p = parse_parts(compound, building, room)
    assert (p.compound, p.building, p.unit, p.room) == expected


@pytest.mark.parametrize("unit", ["2", "2单元", "第2单元", "２"])
def test_a_unit_column_gives_the_stairwell(unit):
    p = parse_parts("紫阳花园", "3", "501", unit)
    assert (p.building, p.unit, p.room, p.floor) == ("3", 2, "501", 5)


def test_many_rows_read_from_the_address_or_from_the_separate_columns():
    frame = parse_many(
        pd.Series(["紫阳花园3栋2单元501", None, "枫林苑1栋"]),
        pd.Series([None, "东湖名居", None]),
        pd.Series([None, "7", None]),
        pd.Series([None, "1-1201", None]),
    )
    assert frame[["compound", "building", "unit", "room", "floor"]].values.tolist() == [
        ["紫阳花园", "3", 2, "501", 5],
        ["东湖名居", "7", 1, "1201", 12],
        ["枫林苑", "1", None, None, None],
    ]


def test_keys_fold_width_brackets_and_numerals():
    assert name_key("紫阳花园（二期）") == name_key("紫阳花园 2期") == "紫阳花园2期"
    assert normalise("ｂ座") == "B座"
    assert [building_key(v) for v in ("03", "3号楼", "b", "B座", "十二栋", "三单元")] == [
        "3", "3", "B", "B", "12", None,
    ]  # fmt: skip
