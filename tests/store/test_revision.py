"""A load skips Alembic only into a database at the newest revision; any other is upgraded."""

from __future__ import annotations

import pytest
from factories import buildings_frame
from sqlalchemy import text

from gridmap.config import Settings
from gridmap.loading import load_file
from gridmap.store.db import make_engine
from gridmap.store.revision import at_head, newest_revision
from gridmap.store.schema import current_revision, head_revision, upgrade


def test_the_newest_revision_is_alembics_head():
    assert newest_revision() == head_revision()


@pytest.mark.parametrize("revision", [None, "head-1"])  # an empty database, the one before
def test_a_load_into_an_older_or_empty_database_upgrades_it_first(tmp_path, revision):
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}"))
    if revision is not None:
        upgrade(engine, revision)
        assert current_revision(engine) not in (None, head_revision())
    assert not at_head(engine)
    buildings_frame().to_file(tmp_path / "b.geojson")
    assert load_file(engine, "building", tmp_path / "b.geojson").inserted == 4
    assert at_head(engine) and current_revision(engine) == head_revision()


def test_a_database_at_head_is_told_so_on_both_kinds(engine):
    assert at_head(engine)
    with engine.begin() as conn:  # a version table naming something else is not the head
        conn.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    assert not at_head(engine)
