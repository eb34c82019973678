"""The README stays true: every command and every setting is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from gridmap.cli import app
from gridmap.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_cli_command_is_in_the_readme():
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert names, "the CLI has commands"
    missing = [n for n in names if f"gridmap {n}" not in README]
    assert missing == []


def test_every_setting_is_in_the_readme():
    missing = []
    for name in Settings.model_fields:
        var = f"GRIDMAP_{name.upper()}"
        # paired settings are documented as GRIDMAP_X_MIN / _MAX
        if var not in README and f"_{name.upper().rsplit('_', 1)[-1]}`" not in README:
            missing.append(var)
    assert missing == []


def test_readme_has_the_two_commands_and_ci_runs_the_test_one():
    assert "./dev.sh demo" in README and "./dev.sh test" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "./dev.sh test" in ci


def test_every_page_the_code_cites_is_in_the_repository():
    root = Path(__file__).resolve().parents[1]
    cited = {
        (path.relative_to(root).as_posix(), page)
        for path in (root / "gridmap").rglob("*.py")
        for page in re.findall(
            r"(?<![\w/.])((?:[\w-]+/)*[\w-]+\.md)\b", path.read_text(encoding="utf-8")
        )
    }
    assert cited, "the code cites its pages"
    missing = sorted((where, page) for where, page in cited if not (root / page).exists())
    assert missing == []
