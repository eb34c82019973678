"""Small hand-made input files, as offices have them (imported by tests)."""

from __future__ import annotations

from pathlib import Path

LON0, LAT0 = 104.06, 30.66
STEP = 0.002  # about 190 m × 220 m


def square(i: int, j: int, size: float = STEP):
    from shapely.geometry import box

    x, y = LON0 + i * STEP, LAT0 + j * STEP
    return box(x, y, x + size, y + size)


def buildings_frame(n: int = 4):
    """``n`` buildings in a row, Chinese headers as a GIS clerk's file has them."""
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {
            "楼栋编号": [f"B{i:03d}" for i in range(n)],
            "楼栋名称": [f"锦绣花园{i + 1}栋" for i in range(n)],
            "户数": [10 * (i + 1) for i in range(n)],
            "层数": [6] * n,
        },
        geometry=[square(i, 0, STEP / 4) for i in range(n)],
        crs=4326,
    )


def write_gbk_shapefile(frame, path: Path) -> Path:
    """A GBK shapefile with no .cpg and language-driver byte 0, as much desktop GIS writes."""
    import pyogrio

    pyogrio.write_dataframe(frame, path, encoding="GBK")
    for cpg in path.parent.glob(path.stem + ".[cC][pP][gG]"):
        cpg.unlink()
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = 0
    dbf.write_bytes(bytes(data))
    return path


def members_csv(path: Path, rows: list[tuple], encoding: str = "utf-8-sig") -> Path:
    """A members table with Chinese headers; rows are (编号, 姓名, 类别, 经度, 纬度)."""
    header = "党员编号,姓名,手机号码,党员类别,在职党员,已报到,经度,纬度\n"
    body = "".join(
        f"{code},{name},100{i:08d},{cat},否,否,{lon},{lat}\n"
        for i, (code, name, cat, lon, lat) in enumerate(rows)
    )
    path.write_bytes((header + body).encode(encoding))
    return path


def finds(finding: dict, plant: dict) -> bool:
    """Whether a finding reports a planted case: same kind, and the planted code is its code or
    among the codes it involves."""
    return finding["kind"] == plant["kind"] and (
        finding["code"] == plant["code"] or plant["code"] in str(finding["codes"]).split(";")
    )


def placed_by_an_analysis(engine, member_code: str, building_code: str) -> None:
    """A new analysis run that stored one placement: ``member_code`` snapped to
    ``building_code`` (as if the analysis had placed them there, 9 m away)."""
    import pandas as pd

    from gridmap.store.db import transaction
    from gridmap.store.placement import save_placements
    from gridmap.store.results import new_run

    with transaction(engine) as conn:
        run = new_run(conn, "tests", "analyze", {})
        placed = pd.DataFrame({"code": [member_code], "building_code": [building_code],
                               "how": ["snapped"], "distance_m": [9.0]})  # fmt: skip
        save_placements(conn, run, placed)
