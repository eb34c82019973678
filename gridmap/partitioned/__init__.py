"""Partitioned analysis (分区分析): ``gridmap analyze --partition subdistrict`` on Dask distributed.

A province does not fit one machine's memory; a subdistrict does, and almost every rule lives
inside one community. So the run is cut into partitions (subdistricts, or communities), and each
partition is one task on a Dask cluster (a local one by default, or an existing scheduler) that

1. reads its communities and everything within a halo of them from PostGIS with bounding-box
   queries (features straddling the border, members within the snap distance, stations within
   walking reach),
2. runs the same core function as the one-process path (:func:`gridmap.core.analysis.analyze`
   or :func:`gridmap.core.integrate.integrate`) on that,
3. keeps what it owns (what lies in its communities; what lies in none goes to the first
   partition whose box holds it) and writes it in one transaction with a row saying it is done.

Modules: :mod:`~gridmap.partitioned.plan` (partitions, halo, ownership),
:mod:`~gridmap.partitioned.task` (one partition), :mod:`~gridmap.partitioned.run` (the cluster,
resuming, and the figures of the whole area once every partition is in).
"""
