"""Commands that analyse the loaded layers: integrate, analyze."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gridmap.cli.context import console, get_engine, get_settings

Partition = Annotated[
    str | None,
    typer.Option(
        help="分区运行于 Dask (subdistrict 或 community，需 PostGIS) / run per partition on Dask"
    ),
]
Workers = Annotated[
    int | None, typer.Option(help="本机集群的进程数 (默认每核一个) / local cluster workers")
]
Scheduler = Annotated[
    str | None, typer.Option(help="已有 Dask 集群 tcp://主机:8786 / an existing scheduler")
]
Resume = Annotated[
    bool, typer.Option(help="续算上次未完成的分区运行 / go on with the unfinished partitioned run")
]


def _partitioned(kind: str, base: str, partition: str, workers, scheduler, resume: bool):
    from gridmap.partitioned.run import run_partitioned

    settings = get_settings()
    run = run_partitioned(
        get_engine(settings), settings, kind=kind, base=base, by=partition, workers=workers,
        scheduler=scheduler, resume=resume,
    )  # fmt: skip
    console.print(
        f"分区 partitions: {run.summary['partitions']}   分析 analysed: {len(run.analysed)}   "
        f"沿用 reused: {len(run.reused)}"
    )
    return run


def _print_counts(title: str, counts: dict) -> None:
    table = Table(title, "数量 count")
    for kind, n in counts.items():
        table.add_row(kind, str(n))
    console.print(table)


def _print_unchecked(unchecked: list[dict]) -> None:
    """The gap kinds that could not be checked, and why: not a count of zero."""
    if not unchecked:
        return
    from gridmap.core.gaps import GAP_KINDS

    table = Table(
        "未能检查 not checked", "原因 why", title="未能检查的问题类型 / kinds not checked"
    )
    for u in unchecked:
        table.add_row(
            f"{GAP_KINDS.get(u['kind'], u['kind'])}\n{u['kind']}",
            f"{u['reason_zh']}\n{u['reason_en']}",
        )
    console.print(table)


def integrate(
    base: Annotated[str, typer.Option(help="作为基础的网格图层 / base grid layer")] = "party",
    out: Annotated[Path | None, typer.Option(help="输出目录 / folder for the result files")] = None,
    partition: Partition = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """多网合一：检查各图层拓扑，生成全科网格与对照表 / Check layers, build the unified grid.

    全科网格存为网格图层 unified，并写出 unified_grid.geojson、crosswalk.csv、topology.geojson、
    summary.json。The unified grid is stored as grid layer ``unified``.

    示例 / Example: gridmap integrate --base party --out 结果/
    分区 / Partitioned: gridmap integrate --partition subdistrict --workers 4
    """
    from gridmap.runs import run_integrate

    if partition:
        run = _partitioned("integrate", base, partition, workers, scheduler, resume)
        _print_counts("问题类型 kind", run.summary["findings"])
        return
    settings = get_settings()
    result = run_integrate(get_engine(settings), settings, base=base, out_dir=out)
    _print_counts("问题类型 kind", result.summary["findings"])
    console.print(
        f"全科网格 unified cells: {result.summary['unified_cells']}   "
        f"移动小区 compounds moved: {result.summary['compounds_moved']}   "
        f"部门网格分歧 disagreements: {result.summary['disagreements']}"
    )
    if out:
        console.print(f"结果已写入 results written to {out}")


def analyze(
    base: Annotated[str, typer.Option(help="作为基础的网格图层 / base grid layer")] = "party",
    out: Annotated[Path | None, typer.Option(help="输出目录 / folder for the report")] = None,
    partition: Partition = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    resume: Resume = False,
) -> None:
    """分析：多网合一、党员落位、留白与组织建议 / Integrate, assign, find every gap, propose branches.

    写出 report.json、gaps.geojson、proposals.geojson、report.html (可打印)。
    Writes report.json, gaps.geojson, proposals.geojson and a printable report.html.

    示例 / Example: gridmap analyze --out 报告/
    省级规模 / A province on a cluster (PostGIS, results stored in the database):
    gridmap analyze --partition subdistrict --scheduler tcp://10.0.0.5:8786
    """
    from gridmap.runs import run_analyze

    if partition:
        summary = _partitioned("analyze", base, partition, workers, scheduler, resume).summary
        if out:
            console.print(
                "分区运行的结果存入数据库，不写报告文件 / a partitioned run stores its results in "
                "the database and writes no report files"
            )
            out = None
    else:
        settings = get_settings()
        summary = run_analyze(get_engine(settings), settings, base=base, out_dir=out).summary
    _print_counts("留白类型 gap kind", summary["gaps"])
    _print_unchecked(summary.get("unchecked", []))
    rates = summary["rates"]
    console.print(
        f"组织覆盖率 organisational coverage {rates['org_coverage']:.1%}   "
        f"单独组建率 own-branch rate {rates['own_branch_rate']:.1%}   "
        f"党员覆盖率 member coverage {rates['member_coverage']:.1%}"
    )
    if out:
        console.print(f"报告已写入 report written to {out}")
