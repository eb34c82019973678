"""One partition of a partitioned run: read it with its halo, analyse, keep what it owns, write.

Runs in a Dask worker (or anywhere): everything it needs travels in a :class:`Job`, and it opens
its own database connection. Its results and the row saying it is done are written in one
transaction, so a partition is either wholly in or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.util import hash_pandas_object
from sqlalchemy import exists, func, select

from gridmap.config import Settings
from gridmap.core import parallel
from gridmap.core.integrate import Layers
from gridmap.core.staffing import PEOPLE_LAYERS, People
from gridmap.partitioned.plan import Partition, halo_box, halo_metres, owners
from gridmap.store import features, partitions, placement, results
from gridmap.store.db import connect, make_engine, transaction
from gridmap.store.models import SRID, table_for

UNIFIED = "unified"
MEMBER_FIELDS = ("category", "in_service", "reported")
HALO_MARGIN_M = 50.0  # beyond what the rules need: rounding of boxes, snapped members' reach


def staged_layer(run_id: int) -> str:
    """The grid layer the unified cells of an unfinished run are written to (never analysed)."""
    return f"{UNIFIED}@{run_id}"


@dataclass(frozen=True)
class Job:
    """What one task needs: where, what, which partition, and the plan for ownership."""

    settings: Settings
    kind: str  # "analyze" or "integrate"
    base: str
    run_id: int
    index: int
    plan: tuple[Partition, ...]
    previous: dict = field(default_factory=dict)  # {"run": id, "fingerprints": {key: …}}
    one_core: bool = False  # a cluster worker: one task per core, no second thread or process

    @property
    def partition(self) -> Partition:
        return self.plan[self.index]


@dataclass
class Inputs:
    layers: Layers
    stations: gpd.GeoDataFrame
    orgs: pd.DataFrame
    previous: gpd.GeoDataFrame | None
    people: People | None = None  # staff roster, property companies, owners' committees (whole)


def _grid_names(conn) -> list[str]:
    return [n for n in features.grid_layers(conn) if n != UNIFIED and "@" not in n]


def read_inputs(conn, job: Job) -> Inputs:
    """The partition's communities and what its rules look at across their border, by box.

    Areas (communities, compounds, grid cells) meeting the partition's box are read whole. The
    box of the compounds and cells among them (straddling features included) is then grown by twice the member snap
    distance for buildings and members, and by the stations' walking reach for stations and
    the members who live in no community (with the buildings within that reach of them: their
    distance to the nearest building is reported).
    """
    settings = job.settings
    margin = 2 * settings.member_snap_distance_m + HALO_MARGIN_M
    near = halo_box(job.partition.box, margin)

    def read(layer: str, box, **kwargs):
        return features.read_features(conn, layer, bbox=box, **kwargs)

    communities, compounds = read("community", near), read("compound", near)
    grids = {name: read("grid", near, grid_layer=name) for name in _grid_names(conn)}
    # neighbouring communities are read whole but left out of the box: each is as large as a
    # partition of its own, and nothing of ours depends on their far side
    areas = [job.partition.box, *(f.total_bounds for f in (compounds, *grids.values()) if len(f))]
    extent = (min(a[0] for a in areas), min(a[1] for a in areas),
              max(a[2] for a in areas), max(a[3] for a in areas))  # fmt: skip
    reach, far = halo_box(extent, margin), halo_box(extent, halo_metres(settings))
    # the compounds (and communities) of the buildings read: without them every building of the
    # halo would be a finding about a building outside any compound, each costly to describe
    communities, compounds = read("community", reach), read("compound", reach)
    outside = _members_in_no_community(conn, far, reach)
    members = pd.concat([read("member", reach, columns=MEMBER_FIELDS), outside], ignore_index=True)
    buildings = read("building", reach)
    if len(outside):  # and the buildings nearest to them
        around = read("building", halo_box(tuple(outside.total_bounds), halo_metres(settings)))
        buildings = pd.concat([buildings, around], ignore_index=True).drop_duplicates("code")
    layers = Layers(
        communities, compounds, buildings.sort_values("code", ignore_index=True), grids,
        members.sort_values("code", ignore_index=True),
    )  # fmt: skip
    stations = read("station", far)
    previous = read("grid", near, grid_layer=UNIFIED)
    orgs = _orgs_of(conn, features.read_features(conn, "org"), compounds, job)
    people = People(*(features.read_features(conn, name) for name in PEOPLE_LAYERS))
    return Inputs(layers, stations, orgs, previous, people)


def _members_in_no_community(conn, far, reach) -> gpd.GeoDataFrame:
    """Members between the two boxes who live in no community (a partition owns those by
    place; the nearest buildings to them are within ``far``, which buildings are read in)."""
    member, community = table_for("member"), table_for("community").alias("c")
    columns = [member.c.id, member.c.code, *(member.c[f] for f in MEMBER_FIELDS)]
    inside = select(community.c.id).where(
        community.c.geom.op("&&")(member.c.geom),
        func.ST_Intersects(community.c.geom, member.c.geom),
    )
    query = (
        select(*columns, func.ST_AsBinary(member.c.geom).label("wkb"))
        .where(member.c.geom.op("&&")(func.ST_MakeEnvelope(*far, SRID)))
        .where(~member.c.geom.op("&&")(func.ST_MakeEnvelope(*reach, SRID)))
        .where(~exists(inside))
    )
    rows = list(map(tuple, conn.execute(query)))
    frame = pd.DataFrame(rows, columns=[c.name for c in columns] + ["wkb"])
    return features.with_wkb_geometry(features.fix_types(frame, member))


def _covers(orgs: pd.DataFrame) -> list[set[str]]:
    return [{c for c in str(v or "").split(";") if c} for v in orgs.get("covers", [None] * len(orgs))]  # fmt: skip


def _orgs_of(conn, orgs: pd.DataFrame, compounds: gpd.GeoDataFrame, job: Job) -> pd.DataFrame:
    """Organisations covering a compound read here; those covering no stored compound at all go
    to the first partition (their findings are about no place)."""
    if orgs.empty:
        return orgs
    read = set(compounds["code"])
    covers = _covers(orgs)
    here = np.array([bool(c & read) for c in covers])
    if job.index == 0:
        wanted = sorted(set().union(*covers))
        table = table_for("compound")
        stored = {r[0] for r in conn.execute(select(table.c.code).where(table.c.code.in_(wanted)))}
        here |= np.array([not (c & stored) for c in covers])
    return orgs[here].reset_index(drop=True)


def fingerprint(inputs: Inputs, job: Job) -> str:
    """SHA-256 of everything the partition's result depends on but the previous unified grid
    (which a run with unchanged inputs gives back unchanged)."""
    digest = hashlib.sha256()
    digest.update(job.settings.model_dump_json(exclude={"database_url"}).encode())
    digest.update(repr((job.kind, job.base, job.partition, [p.box for p in job.plan])).encode())
    layers = inputs.layers
    named = [("community", layers.communities), ("compound", layers.compounds),
             ("building", layers.buildings), *((f"grid:{k}", v) for k, v in layers.grids.items()),
             ("member", layers.members), ("station", inputs.stations), ("org", inputs.orgs),
             *(vars(inputs.people).items() if inputs.people else ())]  # fmt: skip
    for name, frame in named:  # every input, each under its own name (a missing one too)
        digest.update(name.encode())
        if frame is None:
            digest.update(b"\0none")
            continue
        plain = pd.DataFrame(frame).drop(columns=["geometry", "id"], errors="ignore")
        digest.update(hash_pandas_object(plain.astype(str), index=False).to_numpy().tobytes())
        if isinstance(frame, gpd.GeoDataFrame):
            digest.update(b"".join(frame.geometry.to_wkb().fillna(b"")))
    return digest.hexdigest()


def _reset_peak_memory() -> None:
    """Start this task's peak resident memory from the present (Linux; elsewhere nothing)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mib() -> float:
    """Peak resident memory of this process since :func:`_reset_peak_memory` (Linux ``VmHWM``;
    ``ru_maxrss`` elsewhere, which also counts what the process that started it held)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_partition(job: Job) -> dict:
    """Analyse one partition and store what it owns; returns the summary it recorded."""
    start = time.perf_counter(), time.process_time()
    _reset_peak_memory()
    if job.one_core:
        parallel.use_one_core()
    engine = make_engine(job.settings)
    try:
        with connect(engine) as conn:
            inputs = read_inputs(conn, job)
        stamp = fingerprint(inputs, job)
        if job.previous.get("fingerprints", {}).get(job.partition.key) == stamp:
            return _reuse(engine, job, stamp)
        return _analyse_and_store(engine, job, inputs, stamp, start)
    finally:
        engine.dispose()


def _reuse(engine, job: Job, stamp: str) -> dict:
    """Inputs unchanged since the previous run: its rows of this partition, copied."""
    from gridmap.partitioned.owned import copy_unified_cells

    previous = job.previous["run"]
    with transaction(engine) as conn:
        summary = partitions.partition_summaries(conn, previous)[job.partition.key]
        partitions.copy_partition(conn, previous, job.run_id, job.partition.key)
        copy_unified_cells(conn, job.partition.communities, staged_layer(job.run_id))
        summary = {**summary, "reused_from": previous}
        partitions.save_partition(
            conn, job.run_id, job.partition.key, stamp, analysed=False, summary=summary
        )
    return summary


def _owned_placements(result, inputs: Inputs, job: Job) -> pd.DataFrame:
    """The placements of the members this partition owns (by place, as it counts them): each
    member's placement is stored once, by one partition."""
    placed = result.integration.placements
    mine = owners(inputs.layers.members.geometry.values, list(job.plan)) == job.index
    return placed[mine] if len(placed) else placed


def _analyse_and_store(
    engine, job: Job, inputs: Inputs, stamp: str, start: tuple[float, float]
) -> dict:
    from gridmap.partitioned.owned import owned_results

    if job.kind == "analyze":
        from gridmap.core.analysis import analyze

        result = analyze(
            inputs.layers, inputs.stations, inputs.orgs, job.settings, base=job.base,
            previous=inputs.previous if len(inputs.previous) else None, people=inputs.people,
        )  # fmt: skip
    else:
        from gridmap.core.integrate import integrate

        result = integrate(inputs.layers, job.settings, base=job.base, previous=inputs.previous)
    own = owned_results(result, inputs, job)
    summary = {
        **own.summary,
        "read": {"buildings": len(inputs.layers.buildings), "members": len(inputs.layers.members)},
        "peak_rss_mib": _peak_memory_mib(),
        # read and analysed, not yet written; CPU time too, as a shared machine stretches the wall
        "seconds": round(time.perf_counter() - start[0], 2),
        "cpu_seconds": round(time.process_time() - start[1], 2),
    }
    key = job.partition.key
    with transaction(engine) as conn:
        results.save_gaps(conn, job.run_id, own.gaps.assign(partition=key))
        results.save_crosswalk(conn, job.run_id, own.crosswalk.assign(partition=key))
        if own.proposals is not None:
            results.save_branch_proposals(conn, job.run_id, own.proposals.assign(partition=key))
            results.save_figures(conn, job.run_id, own.figures.assign(partition=key))
            placement.save_placements(conn, job.run_id, _owned_placements(result, inputs, job).assign(partition=key))  # fmt: skip
        if len(own.unified):
            features.upsert_features(
                conn, "grid", own.unified, grid_layer=staged_layer(job.run_id),
                source=f"{job.kind}:{job.base}",
            )  # fmt: skip
        partitions.save_partition(conn, job.run_id, key, stamp, analysed=True, summary=summary)
    return summary
