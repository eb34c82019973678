"""Make the workbook fixtures once: ``python tests/data/spreadsheets/make_fixtures.py``.

The roster of ``tests/io/test_spreadsheet.py`` is built with openpyxl, then saved as .xls and
.ods by LibreOffice (``soffice --headless --convert-to``; Debian: libreoffice-calc-nogui) and
encrypted with msoffcrypto-tool (password ``test-only``). The files are committed, so the tests
need neither tool.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
TESTS = HERE.parents[1]


def main() -> None:
    from msoffcrypto.format.ooxml import OOXMLFile  # only here: the tests never import it

    spec = importlib.util.spec_from_file_location("roster", TESTS / "io" / "test_spreadsheet.py")
    roster = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roster)
    with tempfile.TemporaryDirectory() as folder:
        source = roster.roster_workbook(Path(folder) / "roster.xlsx")
        for fmt in ("xls", "ods"):
            subprocess.run(
                ["soffice", "--headless", "--convert-to", fmt, "--outdir", str(HERE), str(source)],
                check=True,
                capture_output=True,
            )
        with source.open("rb") as plain, (HERE / "roster-password.xlsx").open("wb") as out:
            OOXMLFile(plain).encrypt("test-only", out)


if __name__ == "__main__":
    main()
