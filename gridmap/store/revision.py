"""Whether a database is already at the newest schema revision, told without Alembic.

Starting Alembic (and the template engine it brings) took a fifth of the start-up of a
``gridmap load``, though nearly every load goes into a database that ``gridmap init`` or an
earlier load brought up to date. The migrations' own ``revision`` and ``down_revision`` lines
name the newest revision; the database's ``alembic_version`` table names its own. Anything
unexpected — a line that is not a plain literal, two heads, no table — answers ``False``, and
the caller runs the upgrade (:func:`gridmap.store.schema.upgrade`) as before.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.schema import head_revision, upgrade
>>> engine = make_engine(Settings(database_url="sqlite://"))
>>> at_head(engine)
False
>>> upgrade(engine); at_head(engine), newest_revision() == head_revision()
(True, True)
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.MULTILINE)
_UNKNOWN = object()


def _literal(source: str | None):
    try:
        return ast.literal_eval(source) if source is not None else _UNKNOWN
    except (ValueError, SyntaxError):
        return _UNKNOWN


@cache
def newest_revision() -> str | None:
    """The one revision no migration revises (None unless exactly one, plainly written)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        revision, down = _literal(found.get("revision")), _literal(found.get("down_revision"))
        if not isinstance(revision, str) or down is _UNKNOWN:
            return None
        revisions.add(revision)
        revised.update(down if isinstance(down, tuple) else [down] if down else [])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """True when the database's schema is at :func:`newest_revision` (nothing to upgrade)."""
    head = newest_revision()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            versions = [
                row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))
            ]
    except DBAPIError:
        return False
    return versions == [head]
