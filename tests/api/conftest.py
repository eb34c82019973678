"""A real uvicorn process serving gridmap on a free port, for HTTP and browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers import start_server


@pytest.fixture
def live_server(db_settings) -> Iterator[str]:
    """Base URL of a real server on a fresh database of each kind."""
    proc, base = start_server(db_settings.database_url)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
