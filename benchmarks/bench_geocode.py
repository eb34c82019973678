"""Address matching benchmark: 100,000 roster addresses placed on a seeded synthetic city.

A city of a few thousand compounds whose names are as alike as real ones (锦绣花园, 锦绣小区,
锦绣苑, 东锦绣家园 …, some with 二期), about 20 buildings each, and a roster of addresses written
in every usual form (栋/号楼/幢/座/号, Chinese numerals, 3-2-501, district and subdistrict
prefixes, full-width digits and spaces) with a share of typos in the compound name. gridmap's
parser + matcher runs against a named peer in the same run: a bare pandas merge on the exact
compound name and building number, after one vectorised regex that reads the plain "…3栋" form.
Medians of several rounds, the ratio, and how many rows each placed correctly and wrongly are
printed. Run on demand:

    .venv/bin/python benchmarks/bench_geocode.py [--addresses 100000] [--rounds 3] [--append]

``--append`` adds the result to benchmarks/RESULTS.md. The same roster generator is used by the
accuracy test on the demo's compounds and buildings (tests/core/test_geocode.py).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.geocode import building_numbers, match_addresses, placed
from gridmap.io.address import parse_many

HERE = Path(__file__).resolve().parent
ZH = "零一二三四五六七八九"
WORDS = ["锦绣", "芙蓉", "桂香", "银杏", "玉林", "望江", "紫荆", "翠竹", "金桂", "明月", "清风", "和平", "幸福", "阳光", "春晖", "东篱", "南苑", "西岭", "北辰", "长乐", "永安", "康宁", "兴隆", "书香", "紫阳", "枫林", "东湖", "碧水", "丽景", "龙泉", "凤凰", "青城", "天府", "蓝湾", "金色", "绿洲", "华阳", "新城", "滨江", "红星"]  # fmt: skip
MIDDLE = ("", "东", "西", "南", "北", "新")
SUFFIXES = ("花园", "小区", "苑", "家园", "雅居", "公寓", "里", "名居", "华庭", "新村")
# characters that sound or look like ones in the names and occur in none of them
TYPOS = "秀锈蓉槿琴沁玥朗曦岚"
FORMS = ("栋室", "号楼", "幢", "座", "中文", "横杠", "街道", "全称", "全角", "号")


def _zh(n: int) -> str:
    if n < 10:
        return ZH[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH[tens]) + "十" + (ZH[ones] if ones else "")


def synthetic_city(n_compounds: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``n_compounds`` compounds (unique names, alike) with 8–30 buildings each, seeded."""
    rng = np.random.default_rng(seed)
    names = [m + w + s for w in WORDS for m in MIDDLE for s in SUFFIXES]
    names += [n + "二期" for n in names[::7]]
    names = [names[i] for i in rng.permutation(len(names))[:n_compounds]]
    side = int(np.ceil(np.sqrt(n_compounds)))
    x = 104.0 + (np.arange(n_compounds) % side) * 0.003
    y = 30.5 + (np.arange(n_compounds) // side) * 0.003
    codes = [f"XQ{i:05d}" for i in range(n_compounds)]
    compounds = gpd.GeoDataFrame(
        {"code": codes, "name": names},
        geometry=shapely.box(x, y, x + 0.0025, y + 0.0025), crs="EPSG:4326",
    )  # fmt: skip
    counts = rng.integers(8, 31, n_compounds)
    compound_of = np.repeat(np.arange(n_compounds), counts)
    number = np.concatenate([np.arange(1, c + 1) for c in counts])
    bx = x[compound_of] + ((number - 1) % 6) * 0.0004
    by = y[compound_of] + ((number - 1) // 6) * 0.0004
    buildings = gpd.GeoDataFrame(
        {"code": [f"{codes[c]}-{n:02d}" for c, n in zip(compound_of, number, strict=True)],
         "name": [f"{names[c]}{n}栋" for c, n in zip(compound_of, number, strict=True)],
         "compound_code": [codes[c] for c in compound_of]},
        geometry=shapely.box(bx, by, bx + 0.0003, by + 0.0003), crs="EPSG:4326",
    )  # fmt: skip
    return compounds, buildings


def _address(rng, compound: str, number: str, form: str) -> str:
    unit, floor = int(rng.integers(1, 5)), int(rng.integers(1, 31))
    room = f"{floor}{int(rng.integers(1, 5)):02d}"
    n_zh = _zh(int(number)) if number.isdigit() else number
    text = {
        "栋室": f"{compound}{number}栋{unit}单元{room}室",
        "号楼": f"{compound}{number}号楼{unit}-{room}",
        "幢": f"{compound}{number}幢{unit}单元{room}",
        "座": f"{compound}{number}座{room}",
        "中文": f"{compound}{n_zh}栋{_zh(unit)}单元{room}",
        "横杠": f"{compound}{number}-{unit}-{room}",
        "街道": f"锦绣街道{compound}{number}栋{unit}单元{room}室",
        "全称": f"成都市武侯区锦绣街道锦绣社区{compound}{number}号楼{unit}-{room}",
        "全角": " ".join(f"{compound}{number}栋{unit}单元{room}"),
        "号": f"{compound}{number}号{unit}单元{room}",
    }[form]
    if form == "全角":
        text = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
    return text


def _typo(rng, name: str) -> str:
    at = int(rng.integers(0, max(1, len(name) - 1)))  # the suffix's last character stays
    return name[:at] + TYPOS[int(rng.integers(0, len(TYPOS)))] + name[at + 1 :]


def variant_roster(
    compounds: pd.DataFrame, buildings: pd.DataFrame, n: int, seed: int, typo_rate: float = 0.05
) -> pd.DataFrame:
    """``n`` addresses of existing buildings in random usual forms: ``address, truth, form``.

    Only buildings that an address can name unambiguously are drawn (a compound name used once,
    a number used once in its compound).
    """
    rng = np.random.default_rng(seed)
    numbers = building_numbers(buildings, compounds)
    once = ~numbers.duplicated(["compound_code", "number"], keep=False)
    unique_names = compounds[~compounds["name"].duplicated(keep=False)]
    names = dict(zip(unique_names["code"], unique_names["name"], strict=True))
    pool = numbers[once & numbers["compound_code"].isin(names)].reset_index(drop=True)
    picks = pool.iloc[rng.integers(0, len(pool), n)]
    rows = []
    for compound, number, truth in picks[["compound_code", "number", "building_code"]].itertuples(
        index=False, name=None
    ):
        name = names[compound]
        typo = rng.random() < typo_rate
        form = FORMS[int(rng.integers(0, len(FORMS)))]
        rows.append((_address(rng, _typo(rng, name) if typo else name, number, form), truth,
                     "typo" if typo else form))  # fmt: skip
    return pd.DataFrame(rows, columns=["address", "truth", "form"])


def score(matches: pd.DataFrame, truth: pd.Series) -> dict:
    """Rows placed correctly, placed wrongly (and of those with high confidence), not placed."""
    ok = placed(matches)
    right = ok & (matches["building_code"].to_numpy() == truth.to_numpy())
    wrong = ok & ~right
    return {
        "correct": int(right.sum()),
        "wrong": int(wrong.sum()),
        "wrong_high": int((wrong & (matches["confidence"] == "high").to_numpy()).sum()),
        "not_placed": int((~ok).sum()),
    }


def ours(addresses: pd.Series, compounds, buildings) -> pd.DataFrame:
    return match_addresses(parse_many(addresses), compounds, buildings)


def peer(addresses: pd.Series, compounds, buildings) -> pd.DataFrame:
    """The named peer: one vectorised regex for "名称3栋…", then a pandas merge on name + number."""
    parts = addresses.str.extract(r"^(?P<name>.+?)(?P<number>\d+)栋")
    numbers = building_numbers(buildings, compounds).merge(
        compounds[["code", "name"]].rename(columns={"code": "compound_code"}), on="compound_code"
    )
    merged = parts.merge(numbers, on=["name", "number"], how="left")
    found = merged["building_code"].notna().to_numpy()
    return pd.DataFrame(
        {"status": np.where(found, "matched", "unmatched"), "confidence": "high",
         "building_code": merged["building_code"].to_numpy()}
    )  # fmt: skip


def _timed(func, *args) -> tuple[float, float, pd.DataFrame]:
    start, cpu = time.perf_counter(), time.process_time()
    out = func(*args)
    return time.perf_counter() - start, time.process_time() - cpu, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=100_000)
    parser.add_argument("--compounds", type=int, default=2_500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--append", action="store_true", help="add the result to RESULTS.md")
    args = parser.parse_args()
    compounds, buildings = synthetic_city(args.compounds, args.seed)
    roster = variant_roster(compounds, buildings, args.addresses, args.seed + 1)
    times: dict[str, list[float]] = {"gridmap": [], "peer": []}
    cpu: dict[str, list[float]] = {"gridmap": [], "peer": []}
    results = {}
    for _ in range(args.rounds):
        for name, func in (("gridmap", ours), ("peer", peer)):
            seconds, used, results[name] = _timed(func, roster["address"], compounds, buildings)
            times[name].append(seconds)
            cpu[name].append(used)
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    scores = {k: score(results[k], roster["truth"]) for k in results}
    lines = [
        f"{args.addresses:,} addresses, {len(compounds):,} compounds, {len(buildings):,} buildings, "
        f"{(roster['form'] == 'typo').mean():.0%} with a typo; median of {args.rounds} rounds",
        "",
        "| matcher | time | CPU | ratio | placed correctly | placed wrongly (high confidence) "
        "| not placed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, label in (("gridmap", "gridmap parse + match"),
                        ("peer", "pandas regex + merge on name and number (peer)")):  # fmt: skip
        s = scores[name]
        lines.append(
            f"| {label} | {med[name]:.2f} s | {med_cpu[name]:.2f} s | "
            f"{med[name] / med['peer']:.1f}× | "
            f"{s['correct'] / args.addresses:.2%} | {s['wrong']} ({s['wrong_high']}) | "
            f"{s['not_placed']:,} |"
        )
    print("\n".join(lines))
    if args.append:
        _append(lines)


def _append(lines: list[str]) -> None:
    stamp = time.strftime("%Y-%m-%d")
    head = [
        "",
        f"## Address matching (`bench_geocode.py`, {stamp}, {platform.machine()}, "
        f"{platform.python_version()})",
        "",
    ]
    with (HERE / "RESULTS.md").open("a", encoding="utf-8") as f:
        f.write("\n".join(head + lines) + "\n")


if __name__ == "__main__":
    main()
