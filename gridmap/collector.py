"""Python's cycle collector paused over work that makes many objects and almost no cycles.

A load makes hundreds of thousands of short-lived containers (rows, per-row properties, COPY
lines) and almost no cycles: the collector ran about 1,200 times over a 200,000-row load,
walking the whole heap seven times, for 0.5 of 2.1 CPU-seconds, to free about 1,300 objects.
Importing the libraries a load needs (geopandas, SQLAlchemy, the models) set it off too: 0.1 of
0.9 CPU-seconds. Reference counting frees everything else as before; the few cycles are
collected once it is back on.

>>> import gc
>>> with paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The cycle collector off inside, and back as it was after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
