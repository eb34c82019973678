"""``python -m gridmap.cli``: the same as the ``gridmap`` command."""

from gridmap.cli import main

main()
