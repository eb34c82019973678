"""What the serving benchmarks share: a PostGIS database, the synthetic city loaded into it as
users load it, an account with an API token, and ``gridmap serve`` as a real uvicorn process.

Every page and API route of gridmap needs a login, and ``gridmap serve`` refuses to start on a
database without any account, so :func:`start_gridmap` makes one first (``gridmap user add`` and
``gridmap user token``, the users' path) and returns the server with its bearer header.

    with postgis(args.dsn) as admin:
        dsn = database(admin, "gridmap_bench_x")
        load_city(city_at(0.1), pg_url(dsn), folder)
        server = start_gridmap(pg_url(dsn), folder)
        httpx.get(server.base + "/api/layers", headers=server.headers)
        server.stop()
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from benchmarks.bench_import import fresh_pg

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "benchmark"
PASSWORD = "benchmark-password-not-secret"
TOKEN = re.compile(r"gm_[A-Za-z0-9_-]{20,}")
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")
LAYERS = {  # key of the city → gridmap load's layer and --grid-layer
    "community": ("community", None),
    "grid_party": ("grid", "party"),
    "grid_dept": ("grid", "dept"),
    "compound": ("compound", None),
    "building": ("building", None),
    "member": ("member", None),
    "station": ("station", None),
}


# --- the database ---------------------------------------------------------------------------


@contextmanager
def postgis(admin: str | None) -> Iterator[str]:
    """The admin URL of ``admin``'s server, or of a throwaway cluster (as the tests start one)
    when ``admin`` is None; the cluster is removed after."""
    if admin is not None:
        yield admin
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import PostgisCluster

    cluster = PostgisCluster()
    cluster.start()
    try:
        yield cluster.url("postgres").replace("+psycopg", "")
    finally:
        cluster.stop()


def database(admin: str, name: str, reuse: bool = False) -> str:
    """The psycopg URL of database ``name``: created afresh with PostGIS, or with ``reuse``
    taken as it is."""
    return admin.rsplit("/", 1)[0] + f"/{name}" if reuse else fresh_pg(admin, name)


def pg_url(dsn: str) -> str:
    """gridmap's (SQLAlchemy's) URL of a psycopg URL."""
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def vacuum(dsn: str) -> tuple[str, str]:
    """``VACUUM ANALYZE`` the database; PostgreSQL's and PostGIS's versions."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        return conn.execute(
            "SELECT current_setting('server_version'), postgis_lib_version()"
        ).fetchone()


# --- gridmap's command line -----------------------------------------------------------------


def gridmap(args: list[str], url: str, folder: Path) -> str:
    """Run ``gridmap ARGS`` on the database at ``url``; its output, or exit with its errors."""
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url, "COLUMNS": "500"}
    cmd = [sys.executable, "-m", "gridmap.cli", *args]
    done = subprocess.run(cmd, env=env, cwd=folder, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"gridmap {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def load_city(city: dict, url: str, folder: Path) -> float:
    """``gridmap init`` and ``gridmap load`` of every layer the city has; seconds taken."""
    start = time.perf_counter()
    gridmap(["init"], url, folder)
    for key, (layer, grid) in LAYERS.items():
        if key not in city:
            continue
        frame = city[key]
        if key == "member":  # name and phone are required; fictional, as in all test data
            frame = frame.assign(name="演示", phone="10000000000")
        path = folder / f"{key}.gpkg"
        frame.to_file(path)
        gridmap(["load", layer, str(path), *(["--grid-layer", grid] if grid else [])], url, folder)
    return time.perf_counter() - start


def account_token(url: str, folder: Path) -> str:
    """An admin account (kept if it exists) and a new API token for it, as users make them."""
    try:
        gridmap(["user", "add", ACCOUNT, "--role", "admin", "--password", PASSWORD], url, folder)
    except SystemExit as exc:
        if "exists" not in str(exc):
            raise
    found = TOKEN.search(gridmap(["user", "token", ACCOUNT, "--label", "benchmark"], url, folder))
    if not found:
        raise SystemExit("gridmap user token printed no token")
    return found.group(0)


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], env: dict, probe: str, log: Path) -> subprocess.Popen:
    """Start a server process (output to ``log``) and wait until ``probe`` answers 200."""
    out = log.open("wb")
    proc = subprocess.Popen(cmd, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(cmd)} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(probe, timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"{probe} did not answer within 120 s; see {log}")


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time of a process and its children (user + system), or busy time of the whole
    machine."""
    tick = os.sysconf("SC_CLK_TCK")
    if pid is None:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return (sum(fields) - fields[3] - fields[4]) / tick  # all but idle and iowait
    return sum(_own_cpu(p) for p in _tree(pid)) / tick


def _own_cpu(pid: int) -> int:
    """Clock ticks of one live process (user + system); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (``gridmap serve --workers N``: one process per worker)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo += [int(c) for c in task.read_text().split()]
    return found


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # a server stuck in its database pool may ignore TERM
        proc.kill()
        proc.wait()


@dataclass
class Gridmap:
    """A running ``gridmap serve``: its process, base URL, log and the account's API token."""

    proc: subprocess.Popen
    base: str
    token: str
    log: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        stop(self.proc)

    def seeded(self, processes: int, timeout: float = 600.0) -> float:
        """Wait until each of the server's ``processes`` has drawn its kept answers (its line in
        the log, ``GRIDMAP_SEED_CACHE``); the seconds waited."""
        start = time.monotonic()
        while self.log.read_text(errors="replace").count("kept answers drawn") < processes:
            if time.monotonic() - start > timeout or self.proc.poll() is not None:
                raise RuntimeError(f"gridmap serve did not draw its kept answers: see {self.log}")
            time.sleep(0.2)
        return time.monotonic() - start

    def exceptions(self) -> Counter[str]:
        """The exceptions in the server's log, by kind and message, with their innermost frame."""
        found: Counter[str] = Counter()
        frame = ""
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith('  File "'):
                frame = line.strip()
            elif EXCEPTION.match(line):
                found[f"{line[:300]}  ({frame})"] += 1
        return found


def start_gridmap(url: str, folder: Path, workers: int = 1, **env: str) -> Gridmap:
    """``gridmap serve`` (``workers`` processes; one unless asked) on a free port of 127.0.0.1,
    after making the benchmark's account; ``env`` adds settings (``GRIDMAP_…=value``)."""
    token = account_token(url, folder)
    port = free_port()
    cmd = [sys.executable, "-m", "gridmap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    if workers > 1:  # several processes share one session key, which they then need
        cmd += ["--workers", str(workers)]
        env = {"GRIDMAP_SECRET_KEY": secrets.token_urlsafe(32), **env}
    base, log = f"http://127.0.0.1:{port}", folder / "gridmap.log"
    # static files answer without a login, so the probe shows the server is up, and the check
    # after it that the token is accepted
    proc = start_server(cmd, {**os.environ, "GRIDMAP_DATABASE_URL": url, **env},
                        f"{base}/static/gridmap/map.css", log)  # fmt: skip
    server = Gridmap(proc, base, token, log)
    check = httpx.get(f"{base}/api/layers", headers=server.headers, timeout=60)
    if check.status_code != 200:
        server.stop()
        raise RuntimeError(f"GET /api/layers with the benchmark's token: {check.status_code}")
    return server
