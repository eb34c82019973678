"""Commands on grid plans: propose, and the plan group (list, new, import, export, approve)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridmap.cli.context import console, get_engine, get_settings

plan_app = typer.Typer(
    help="网格调整方案：列出、新建、导入、导出、批准 / Draft grid plans: list, new, import, export, approve.",
    no_args_is_help=True,
)


# the command keeps its name: it proposes grids (branch proposals come with `gridmap analyze`)
def propose(
    name: Annotated[str, typer.Option(help="方案名称 / plan name")] = "自动划分方案",
    community: Annotated[
        str | None, typer.Option(help="只划分一个社区 / one community only")
    ] = None,
    author: Annotated[str, typer.Option(help="建立人 / who asks")] = "cli",
    seed: Annotated[int, typer.Option(help="随机种子 (同一种子同一结果) / seed")] = 0,
) -> None:
    """自动划分网格，存为草稿方案 / Propose grids of 300–500 households as a draft plan.

    按社区把小区组合为相邻、紧凑、户数在 GRIDMAP_GRID_HOUSEHOLDS_MIN–_MAX 之间的网格；
    不能满足之处逐条列出。Compounds are grouped per community into contiguous, compact grids;
    whatever cannot be satisfied is listed. 示例 / Example: gridmap propose --community 510199001001
    """
    from gridmap.grid_proposals import propose_grid_plan

    settings = get_settings()
    done = propose_grid_plan(get_engine(settings), settings, name=name, author=author, community=community, seed=seed)  # fmt: skip
    console.print(f"方案 plan {done.plan_id}: {done.cells} 个网格 cells (草稿 draft; 在 /editor?plan={done.plan_id} 打开)")  # fmt: skip
    if len(done.problems):
        table = Table("问题 kind", "社区 community", "网格 cell", "说明 message")
        for p in done.problems.itertuples():
            table.add_row(p.kind, str(p.community_code or ""), str(p.cell_code or ""), f"{p.message_zh}\n{p.message_en}")  # fmt: skip
        console.print(table)
    else:
        console.print("所有网格都在户数范围内 / every cell is within the band")


@plan_app.command("list")
def plan_list() -> None:
    """列出方案 / List the plans."""
    from gridmap.store.db import connect
    from gridmap.store.plans import list_plans

    with connect(get_engine()) as conn:
        plans = list_plans(conn)
    table = Table("id", "名称 name", "网格图层 layer", "状态 status", "版本 version", "保存 saved")
    for p in plans:
        table.add_row(str(p["id"]), p["name"], p["grid_layer"], p["status"], str(p["version"]),
                      f"{p['saved_by']} {p['saved_at']}")  # fmt: skip
    console.print(table)


@plan_app.command("new")
def plan_new(
    name: Annotated[str, typer.Argument(help="方案名称 / plan name")],
    grid_layer: Annotated[str, typer.Option(help="复制的网格图层 / grid layer to copy")] = "party",
    author: Annotated[str, typer.Option(help="建立人 / who creates it")] = "cli",
) -> None:
    """复制网格图层为新方案 / Copy a grid layer into a new draft plan.

    示例 / Example: gridmap plan new 2027年网格调整 --grid-layer party --author 张*
    """
    from gridmap.store.db import transaction
    from gridmap.store.plans import create_plan

    with transaction(get_engine()) as conn:
        plan_id = create_plan(conn, name, grid_layer, author)
    console.print(f"方案 plan {plan_id}: {name} (第 1 版 version 1)")


@plan_app.command("import")
def plan_import(
    path: Annotated[Path, typer.Argument(help="QGIS 绘制的网格文件 (GeoJSON/GPKG/SHP)")],
    name: Annotated[str, typer.Option(help="方案名称 / plan name")],
    grid_layer: Annotated[
        str, typer.Option(help="调整的网格图层 / grid layer it redraws")
    ] = "party",
    author: Annotated[str, typer.Option(help="建立人 / who imports it")] = "cli",
) -> None:
    """从文件导入方案 (全部或全不) / Import a plan drawn in QGIS, all or nothing."""
    from gridmap.errors import RowsRejectedError
    from gridmap.io.read import read_layer_file
    from gridmap.store.db import transaction
    from gridmap.store.plans import create_plan

    result = read_layer_file(path, "grid")
    if result.report.rejected:
        raise RowsRejectedError("文件中有不能用的行，未导入。", "Some rows are unusable; nothing imported.",
                                result.report.rejected)  # fmt: skip
    with transaction(get_engine()) as conn:
        plan_id = create_plan(conn, name, grid_layer, author, cells=result.frame)
    console.print(f"方案 plan {plan_id}: {name}, {len(result.frame)} 个网格 cells")


@plan_app.command("export")
def plan_export(
    plan_id: Annotated[int, typer.Argument(help="方案编号 / plan id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件 (.geojson/.gpkg/.csv)")],
) -> None:
    """导出方案 (含每个网格的户数、楼栋、小区、党员和户数范围) / Export a plan for QGIS.

    每个网格带上户数 households、楼栋数 buildings、完整小区数 compounds、被切小区
    compounds_cut、正式/预备党员 members_full/members_probationary 和户数范围 band
    (within/below/above)。Each cell carries its figures and band status.
    示例 / Example: gridmap plan export 3 -o 方案3.gpkg
    """
    from gridmap.io.write import write_frame
    from gridmap.plan_tables import plan_with_figures
    from gridmap.store.db import connect

    settings = get_settings()
    with connect(get_engine(settings)) as conn:
        cells = plan_with_figures(conn, settings, plan_id)
    write_frame(cells, output, None, f"plan_{plan_id}")
    console.print(f"已导出 exported {len(cells)} 个网格 cells → {output}")


@plan_app.command("approve")
def plan_approve(
    plan_id: Annotated[int, typer.Argument(help="方案编号 / plan id")],
    version: Annotated[int, typer.Option(help="批准的版本 (须为最新) / the version approved")],
    author: Annotated[str, typer.Option(help="批准人 / who approves")] = "cli",
) -> None:
    """批准方案：成为现行网格，原网格存入历史 / Approve: the plan becomes the grid layer."""
    from gridmap.store.db import transaction
    from gridmap.store.plans import approve_plan

    with transaction(get_engine()) as conn:
        entry = approve_plan(conn, plan_id, version, author)
    console.print(
        f"已批准 approved: 替换 replaced {entry['replaced']}，现有 now {entry['cells']} 个网格 cells"
    )


@plan_app.command("units")
def plan_units(
    output: Annotated[Path, typer.Option("-o", "--output", help="单元分配表 (.csv/.xlsx)")],
    layer: Annotated[str, typer.Option(help="网格图层 / grid layer")] = "party",
    plan: Annotated[
        int | None, typer.Option(help="改为导出方案 / a plan instead of the layer")
    ] = None,
    residuals: Annotated[
        Path | None, typer.Option(help="差异表 (默认: 文件名-residuals) / residuals file")
    ] = None,
) -> None:
    """网格图层或方案导出为单元分配表 / A grid layer or plan as a unit assignment table.

    每个单元 (gridmap integrate 生成的单元底图) 归入占其面积最大的网格；另写一张差异表，
    列出每个网格的手绘边界与其单元之差 (面积平方米、户数)。Every unit of the fabric goes to
    the cell holding its largest share; a second table lists, per cell, the area (m²) and
    households where the drawn cell and its units differ.
    示例 / Example: gridmap plan units --layer party -o 党建网格单元.csv
    """
    from gridmap.io.write import write_frame
    from gridmap.plan_tables import unit_assignment
    from gridmap.store.db import connect

    with connect(get_engine()) as conn:
        assignment, differences = unit_assignment(conn, grid_layer=None if plan else layer, plan_id=plan)  # fmt: skip
    residuals = residuals or output.with_name(f"{output.stem}-residuals{output.suffix}")
    write_frame(assignment, output, None, "units")
    write_frame(differences, residuals, None, "residuals")
    loose = int(assignment["cell_code"].isna().sum())
    console.print(f"已导出 exported {len(assignment)} 个单元 units → {output}；不属于任何网格 in no cell: {loose}")  # fmt: skip
    console.print(f"差异 residuals → {residuals}")


@plan_app.command("import-units")
def plan_import_units(
    path: Annotated[
        Path, typer.Argument(help="单元分配表 (.csv/.xlsx): 单元编号, 网格编号 [, 网格名称]")
    ],
    name: Annotated[str, typer.Option(help="方案名称 / plan name")],
    grid_layer: Annotated[
        str, typer.Option(help="调整的网格图层 / grid layer it redraws")
    ] = "party",
    author: Annotated[str, typer.Option(help="建立人 / who imports it")] = "cli",
) -> None:
    """从单元分配表导入方案 (全部或全不) / Import a plan from a unit assignment table.

    每个单元必须存在且只分配一次，每个社区的单元都要分配 (不留白)，一个网格只在一个社区内；
    有问题时逐行列出 (行、字段、怎么改)，什么都不导入。网格为其单元之合并。Every unit must
    exist and be assigned once, every community stay tiled; problems are listed by row and
    field and nothing is imported. Each cell is the dissolve of its units.
    示例 / Example: gridmap plan import-units 单元分配.csv --name 2027年调整
    """
    from gridmap.plan_tables import import_unit_table

    plan_id, cells = import_unit_table(get_engine(), path, name=name, grid_layer=grid_layer, actor=author)  # fmt: skip
    console.print(f"方案 plan {plan_id}: {name}, {len(cells)} 个网格 cells")


@plan_app.command("compare")
def plan_compare(
    a: Annotated[
        str, typer.Argument(help="方案编号，或 layer:网格图层 / a plan id, or layer:LAYER")
    ],
    b: Annotated[
        str, typer.Argument(help="方案编号，或 layer:网格图层 / a plan id, or layer:LAYER")
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="得分表 (.csv/.xlsx) / table of scores")
    ] = None,
) -> None:
    """比较两个方案 (或方案与现行网格) / Compare two plans, or a plan and the current layer.

    每边的网格数、户数范围内外的网格、每格户数 (最少/中位数/最多)、被切小区、重叠与留白、
    紧凑度 (Polsby–Popper)、须联合建的网格，以及两边之间改变所属网格的户数、楼栋和党员。
    Per side: cells in and out of the band, households per cell, compounds cut, overlaps and
    留白, compactness; between them, households, buildings and members that change grid.
    示例 / Example: gridmap plan compare layer:party 3 -o 比较.xlsx
    """
    from gridmap.io.write import write_frame
    from gridmap.plan_tables import compare_sides
    from gridmap.store.db import connect

    settings = get_settings()
    with connect(get_engine(settings)) as conn:
        labels, table, pieces, _ = compare_sides(conn, settings, a, b)
    shown = Table("指标 score", f"A {labels[0]}", f"B {labels[1]}")
    for row in table.itertuples():
        if row.between is not None:
            shown.add_row(f"{row.label_zh}\n{row.label_en}", f"A → B: {row.between}", "")
        else:
            shown.add_row(f"{row.label_zh}\n{row.label_en}", str(row.a), str(row.b))
    console.print(shown)
    console.print(f"改变所属网格的地块 pieces changing cell: {len(pieces)}，共 {pieces['area_m2'].sum():,.0f} 平方米 m²")  # fmt: skip
    if output is not None:
        write_frame(
            table.rename(columns={"a": f"A {labels[0]}", "b": f"B {labels[1]}"}),
            output,
            None,
            "scores",
        )
        console.print(f"已导出 exported → {output}")
