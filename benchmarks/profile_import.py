"""Where one ``gridmap load`` spends its CPU: start-up imports and each phase of the load, in-process.

CPU seconds, not wall time, so that a machine shared with other work still gives figures one
can compare: each phase counts the CPU of the thread that ran it (``time.thread_time``; the
geometry checks run in a second thread while the fields are read and the chunks written), the
totals the whole process's (``time.process_time``). The database server's own work is not in them (see
``bench_import.py`` for whole processes against ``ogr2ogr``). ``--repo`` measures another
checkout of gridmap (an older commit, for a before/after) with the same script:

    .venv/bin/python benchmarks/profile_import.py buildings.gpkg \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/bench [--repo /tmp/old-gridmap]

The database must exist with gridmap's schema (``gridmap init``); the layer is loaded into it.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import sys
import time
from pathlib import Path

# (module, function): the phases timed, in the order of a load
PHASES = [
    ("gridmap.loading", "read_layer_file"),
    ("gridmap.io.read", "read_source"),
    ("gridmap.io.sources", "_read_vector"),
    ("gridmap.io.sources", "_nul_problems"),
    ("gridmap.io.columns", "parse_values"),
    ("gridmap.io.read", "_fill_codes"),
    ("gridmap.io.read", "repair_geometries"),
    ("gridmap.io.read", "outside_china"),
    ("gridmap.io.read", "_finish"),
    ("gridmap.loading", "upgrade"),
    ("gridmap.loading", "at_head"),
    ("gridmap.store.features", "upsert_features"),
    ("gridmap.store.bulk", "copy_text"),
    ("gridmap.store.copy_binary", "copy_binary"),
]


def _timed(spent: collections.Counter, label: str, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--database", required=True, help="SQLAlchemy URL of an initialised database"
    )
    parser.add_argument("--layer", default="building")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.repo))
    start, wall = time.process_time(), time.perf_counter()
    importlib.import_module("gridmap.cli")
    after_cli = time.process_time()
    loading = importlib.import_module("gridmap.loading")
    after_imports = time.process_time()
    spent: collections.Counter = collections.Counter()
    for module_name, name in PHASES:
        module = importlib.import_module(module_name)
        if hasattr(module, name):  # phases an older checkout lacks are left out
            setattr(module, name, _timed(spent, name, getattr(module, name)))
    from gridmap.config import Settings
    from gridmap.store.db import make_engine

    begin = time.process_time()
    engine = make_engine(Settings(database_url=args.database))
    report = loading.load_file(engine, args.layer, args.file, loading.LoadOptions())
    end = time.process_time()
    print(f"{report.loaded:,} rows loaded from {args.repo}; CPU seconds:")
    print(
        f"  imports: gridmap.cli {after_cli - start:.2f}, gridmap.loading {after_imports - after_cli:.2f}"
    )
    print(f"  load_file {end - begin:.2f}, of which:")
    for _, name in PHASES:
        if name in spent:
            print(f"    {name:18s} {spent[name]:.2f}")
    print(
        f"  whole process after start-up {end - start:.2f} (wall {time.perf_counter() - wall:.2f})"
    )
    print("  (the server's work — COPY, the constraint and index builds — is in none of these)")


if __name__ == "__main__":
    main()
