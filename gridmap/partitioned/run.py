"""A partitioned run on Dask distributed: plan, one task per partition, resume, finish.

The run is recorded first as unfinished; every partition writes its results in its own
transaction; once all are in, one last transaction adds the figures of the whole area, puts the
new unified grid in place of the old and marks the run finished. Until then the map and the
reports show the previous run. A run stopped half-way (a worker lost, the database gone, Ctrl-C)
goes on with ``--resume``: only the partitions that are not in are run again. A partition whose
inputs (with its halo) are unchanged since the previous finished run is copied from it instead
of analysed again.

Examples
--------
``gridmap analyze --partition subdistrict`` (a local cluster of one worker per core),
``gridmap analyze --partition subdistrict --workers 8``, or with a cluster already running:
``gridmap analyze --partition subdistrict --scheduler tcp://10.0.0.5:8786``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete

from gridmap.config import Settings
from gridmap.errors import DatabaseError, GridmapError, NotFoundError
from gridmap.partitioned.plan import Partition, plan_partitions
from gridmap.partitioned.task import UNIFIED, Job, run_partition
from gridmap.store import features, partitions, results
from gridmap.store.db import connect, transaction
from gridmap.store.models import GridLayer, table_for


class PartitionsFailedError(GridmapError):
    """Some partitions did not finish; the others are stored and ``--resume`` goes on."""


@dataclass
class PartitionedRun:
    run_id: int
    summary: dict
    analysed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def _check_postgis(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise DatabaseError(
            "分区分析需要 PostGIS 数据库 (各分区由不同进程同时写入)；SpatiaLite 请不加 --partition 运行。",
            "Partitioned analysis needs PostGIS (partitions are written by several processes at "
            "once); on SpatiaLite run without --partition.",
        )


def plan_run(engine: Engine, by: str) -> tuple[Partition, ...]:
    with connect(engine) as conn:
        communities = features.read_features(conn, "community", columns=("subdistrict_code",))
    if communities.empty:
        raise NotFoundError(
            "尚未导入社区图层 (gridmap load community …)。", "No communities loaded yet."
        )
    return tuple(plan_partitions(communities, by))


def begin_run(engine: Engine, kind: str, base: str, by: str, resume: bool, actor: str):
    """The run to fill (a new one, or the unfinished one to resume), what of it is done, and the
    previous finished run's fingerprints (to reuse partitions whose inputs did not change)."""
    with transaction(engine) as conn:
        run = partitions.unfinished_run(conn, kind) if resume else None
        if run is not None:
            started = partitions.run_settings(conn, run)
            if (started.get("partition"), started.get("base")) != (by, base):
                run = None
        if run is None:
            grid = table_for("grid")
            conn.execute(delete(grid).where(grid.c.layer.like(f"{UNIFIED}@%")))
            conn.execute(delete(GridLayer).where(GridLayer.name.like(f"{UNIFIED}@%")))
            run = partitions.start_run(conn, actor, kind, {"partition": by, "base": base})
        done = partitions.finished_partitions(conn, run)
        previous = results.latest_run(conn, kind)
        before = partitions.run_settings(conn, previous) if previous else {}
        reuse = {}
        if before.get("partition") == by and before.get("base") == base:
            reuse = {
                "run": previous,
                "fingerprints": partitions.finished_partitions(conn, previous),
            }
    return run, done, reuse


def _compute(jobs: list[Job], workers: int | None, scheduler: str | None) -> dict[str, object]:
    """Run every job on the cluster; the summaries (dicts) or errors (text) by partition."""
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
            dashboard_address=None, host="127.0.0.1",
        )  # fmt: skip
        client = Client(cluster)
    out: dict[str, object] = {}
    try:
        futures = [
            client.submit(run_partition, job, key=f"partition-{job.run_id}-{job.partition.key}")
            for job in jobs
        ]
        for future in as_completed(futures):
            key = future.key.split("-", 2)[2]
            if future.status == "finished":
                out[key] = future.result()
            else:
                out[key] = f"{type(future.exception()).__name__}: {future.exception()}"
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return out


def run_partitioned(
    engine: Engine,
    settings: Settings,
    *,
    kind: str = "analyze",
    base: str = "party",
    by: str = "subdistrict",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    actor: str = "cli",
) -> PartitionedRun:
    """Analyse (``kind`` ``analyze``) or integrate every partition on Dask and store it all."""
    from gridmap.partitioned.finish import finish

    _check_postgis(engine)
    plan = plan_run(engine, by)
    run, done, reuse = begin_run(engine, kind, base, by, resume, actor)
    # the largest first, so that no large partition is left to run alone at the end
    order = sorted(
        (i for i, p in enumerate(plan) if p.key not in done),
        key=lambda i: -len(plan[i].communities),
    )
    jobs = [Job(settings, kind, base, run, i, plan, reuse, one_core=True) for i in order]
    outcome = _compute(jobs, workers, scheduler) if jobs else {}
    failed = {k: v for k, v in outcome.items() if not isinstance(v, dict)}
    if failed:
        names = ", ".join(sorted(failed))
        first = next(iter(failed.values()))
        raise PartitionsFailedError(
            f"{len(failed)} 个分区未完成 ({names})，其余已保存；上次结果仍有效。"
            f"请加 --resume 重新运行，只补算未完成的分区。首个错误: {first}",
            f"{len(failed)} partition(s) did not finish ({names}); the others are stored and the "
            f"previous results still stand. Run again with --resume to do only those. "
            f"First error: {first}",
        )
    with transaction(engine) as conn:
        summary = finish(conn, run, kind, base, by, plan, actor)
    analysed = sorted(k for k, v in outcome.items() if "reused_from" not in v)
    reused = sorted(k for k, v in outcome.items() if "reused_from" in v)
    return PartitionedRun(run, summary, analysed, reused)
