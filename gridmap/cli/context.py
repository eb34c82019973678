"""What every command runs with: the consoles it prints to (errors on stderr), and the settings
and the database engine of the environment, read when the command runs."""

from __future__ import annotations

from rich.console import Console

from gridmap.config import Settings

console = Console()
err = Console(stderr=True)


def get_settings() -> Settings:
    """The settings of the environment (GRIDMAP_ variables), read when a command runs."""
    return Settings()


def get_engine(settings: Settings | None = None):
    """An engine on the configured database (or on that of ``settings``)."""
    from gridmap.store.db import make_engine

    return make_engine(settings or get_settings())
