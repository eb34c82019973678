"""The load test's report: a table per endpoint, errors, and latency by when requests were sent
(``benchmarks/bench_load.py``)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np


class Record:
    """What the virtual users saw: per endpoint label, latencies, bytes sent, requests asked,
    errors and 304s; and when every answered request was sent."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.sizes: dict[str, list[int]] = defaultdict(list)
        self.count: Counter[str] = Counter()  # every request asked, answered or not
        self.errors: Counter[tuple[str, str]] = Counter()
        self.revalidated: Counter[str] = Counter()  # answered 304: the user's copy still holds
        self.timeline: list[tuple[float, float]] = []  # (sent, seconds) of every answer

    def error(self, label: str, what: str) -> None:
        self.errors[(what, label)] += 1


def row(label: str, n: int, times: list[float], sizes: list[int], same: int, errors: int,
        seconds: float) -> str:  # fmt: skip
    """A table row; latencies are of the requests answered (any status), "—" when none was;
    sizes are bytes sent (compressed), ``same`` the answers 304 (the user's copy holds)."""
    if times:
        p50, p95, p99 = (f"{v:,.0f}" for v in np.percentile(times, [50, 95, 99]) * 1000)
        kb = f"{np.median(sizes) / 1024:,.1f}"
    else:
        p50 = p95 = p99 = kb = "—"
    return (f"| {label} | {n:,} | {n / seconds:.1f} | {p50} | {p95} | {p99} | {kb} | {same:,} "
            f"| {errors} |")  # fmt: skip


def report(record: Record, seconds: float) -> tuple[float, int]:
    """Print the table and the errors; return overall p95 (ms) and the number of errors."""
    errors_of = Counter()
    for (_, label), n in record.errors.items():
        errors_of[label] += n
    print("| endpoint | requests | requests/s | p50 ms | p95 ms | p99 ms | median KB sent | 304 "
          "| errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label in sorted(record.count):
        n, times, sizes = record.count[label], record.times[label], record.sizes[label]
        same = record.revalidated[label]
        print(row(f"`{label}`", n, times, sizes, same, errors_of[label], seconds))
    times = [t for ts in record.times.values() for t in ts]
    sizes = [s for ss in record.sizes.values() for s in ss]
    total, same = sum(record.errors.values()), sum(record.revalidated.values())
    print(row("**all**", sum(record.count.values()), times, sizes, same, total, seconds))
    if total:
        print("\nErrors by status or exception: endpoint × count")
        kinds = Counter()
        for (what, _), n in record.errors.items():
            kinds[what] += n
        for what, n in kinds.most_common():
            where = [(label, k) for (w, label), k in record.errors.most_common() if w == what]
            print(f"- **{what}** ({n}): " + ", ".join(f"`{label}` × {k}" for label, k in where))
    over_time(record.timeline)
    return (float(np.percentile(times, 95)) * 1000 if times else math.inf), total


def over_time(timeline: list[tuple[float, float]], window: float = 20.0) -> None:
    """Latency by when requests were sent: the opening of every map against the rest."""
    if not timeline:
        return
    sent, took = (np.array(v) for v in zip(*timeline, strict=True))
    sent -= sent.min()
    print(f"\nBy when requests were sent ({window:.0f} s windows):\n")
    print("| sent | requests | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
    for w0 in np.arange(0, sent.max() + window, window):
        mine = took[(sent >= w0) & (sent < w0 + window)] * 1000
        if len(mine):
            p50, p95 = np.percentile(mine, [50, 95])
            print(f"| {w0:.0f}–{w0 + window:.0f} s | {len(mine):,} | {p50:,.0f} | {p95:,.0f} | {mine.max():,.0f} |")  # fmt: skip
