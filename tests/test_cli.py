"""The command line as users run it: a real process, real files, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from factories import buildings_frame, write_gbk_shapefile


def gridmap(*args: str, db, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120,
    )  # fmt: skip


def test_help_speaks_chinese_and_english(tmp_path):
    out = gridmap("--help", db=tmp_path / "g.db").stdout
    assert "多网合一" in out and "unified grids" in out
    for command in ("init", "load", "export", "demo", "serve", "layers"):
        assert command in out
    load_help = gridmap("load", "--help", db=tmp_path / "g.db").stdout
    assert "--grid-layer" in load_help and "gcj02" in load_help and "示例" in load_help


def test_load_prints_a_summary_and_export_writes_the_file(tmp_path):
    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    shp = write_gbk_shapefile(buildings_frame(), tmp_path / "楼栋.shp")
    result = gridmap("load", "building", shp, db=db)
    assert result.returncode == 0, result.stderr
    assert "读取" in result.stdout and "GB18030" in result.stdout
    layers = gridmap("layers", db=db).stdout
    assert "building" in layers and " 4 " in layers.replace("│", " ")
    out = tmp_path / "b.gpkg"
    exported = gridmap("export", "building", "-f", "gpkg", "-o", out, db=db)
    assert exported.returncode == 0 and out.exists() and "4" in exported.stdout


def test_user_errors_exit_2_with_a_bilingual_message_and_no_traceback(tmp_path):
    db = tmp_path / "g.db"
    bad = tmp_path / "b.geojson"
    buildings_frame().drop(columns=["户数"]).to_file(bad)
    result = gridmap("load", "building", bad, db=db)
    assert result.returncode == 2
    assert "缺少必需的列" in result.stderr and "Missing required column" in result.stderr
    assert "Traceback" not in result.stderr
    unknown = gridmap("load", "street", bad, db=db)
    assert unknown.returncode == 2 and "没有图层 street" in unknown.stderr


def test_user_add_refuses_an_area_code_that_names_no_place(tmp_path):
    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    communities = Path(__file__).parents[1] / "geodata" / "demo" / "communities.gpkg"
    assert gridmap("load", "community", communities, db=db).returncode == 0
    add = ("user", "add", "网格员乙", "--role", "coordinator", "--password", "long enough")
    refused = gridmap(*add, "--area", "51019900104", db=db)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    said = "".join(refused.stderr.split())  # the console wraps long lines
    assert "没有编号为51019900104的街道、社区或网格" in said
    assert "Nosubdistrict,communityorgridhasthecode51019900104" in said
    assert "510199001001锦绣社区" in said  # the codes that exist, and how to list the grids
    assert "gridmapexportgrid--grid-layerunified" in said and "gridmapexportcommunity" in said
    assert "网格员乙" not in gridmap("user", "list", db=db).stdout
    added = gridmap(*add, "--area", "510199001001", db=db)
    assert added.returncode == 0, added.stderr


def test_rejected_rows_are_printed_by_row(tmp_path):
    db = tmp_path / "g.db"
    frame = buildings_frame()
    frame["户数"] = frame["户数"].astype(object)
    frame.loc[2, "户数"] = "abc"
    frame.to_file(tmp_path / "b.geojson")
    result = gridmap("load", "building", tmp_path / "b.geojson", db=db)
    assert result.returncode == 2
    assert "第 3 行" in result.stderr and "户数" in result.stderr and "abc" in result.stderr


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on ``port`` (from /proc/net/tcp, state 0A = LISTEN)."""
    out = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            out.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return out


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_serve_refuses_to_start_without_an_account(tmp_path):
    from servers import free_port

    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    refused = gridmap("serve", "--port", free_port(), db=db)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "还没有任何账号" in refused.stderr and "gridmap user add" in refused.stderr
    env = {**os.environ, "GRIDMAP_NEW_PASSWORD": "a-long-password"}
    added = subprocess.run([sys.executable, "-m", "gridmap.cli", "user", "add", "管理员", "--role", "admin"],
                           env={**env, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}"}, capture_output=True, text=True)  # fmt: skip
    assert added.returncode == 0 and "a-long-password" not in added.stdout
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gridmap.cli", "serve", "--port", str(port)],
                            env={**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/login", proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_demo_makes_an_admin_prints_its_password_and_serves_this_machine_only(tmp_path):
    import re

    import httpx
    from servers import free_port

    port = free_port()
    env = {
        **os.environ,
        "GRIDMAP_HOST": "0.0.0.0",
        "COLUMNS": "160",
    }  # asked for; the demo ignores it
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "demo", "--db", str(tmp_path / "demo.db"), "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        printed = ""
        while "地图 map:" not in printed:
            line = proc.stdout.readline()
            assert line, printed
            printed += line
        password = re.search(r"密码 password (\S+)", printed).group(1)
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/login", proc)
        assert _listening_addresses(port) == {"127.0.0.1"}
        with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as browser:
            assert browser.get("/map").status_code == 303  # no login, no map
            form = browser.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            r = browser.post("/login", data={"name": "demo", "password": password, "csrf": csrf})
            assert r.status_code == 303
            assert browser.get("/map").status_code == 200
            assert browser.get("/api/me").json()["role"] == "admin"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_several_server_processes_share_one_session_key(tmp_path):
    import re

    import httpx
    from servers import free_port

    db = tmp_path / "g.db"
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}", "GRIDMAP_NEW_PASSWORD": "a-long-password"}  # fmt: skip
    assert gridmap("init", db=db).returncode == 0
    add = [sys.executable, "-m", "gridmap.cli", "user", "add", "管理员", "--role", "admin"]
    assert subprocess.run(add, env=env, capture_output=True, timeout=60).returncode == 0
    port = free_port()
    serve = [sys.executable, "-m", "gridmap.cli", "serve", "--port", str(port), "--workers", "2"]
    refused = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "GRIDMAP_SECRET_KEY" in refused.stderr
    env["GRIDMAP_SECRET_KEY"] = "a test key, long and random enough for a throwaway server"
    proc = subprocess.Popen(serve, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/login", proc)
        with httpx.Client(base_url=base, timeout=30) as browser:
            form = browser.get("/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            browser.post("/login", data={"name": "管理员", "password": "a-long-password", "csrf": csrf})  # fmt: skip
            # new connections land on either process; the session holds on both
            answers = [httpx.get(base + "/api/me", cookies=browser.cookies, timeout=30) for _ in range(12)]  # fmt: skip
        assert [a.status_code for a in answers] == [200] * 12
    finally:
        proc.terminate()
        proc.wait(timeout=20)
