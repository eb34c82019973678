"""``gridmap load``: a file → one layer of the database, all or nothing.

Reading (``gridmap.io``) happens before the database is touched; if any row cannot be used the
whole file is refused with every problem listed (unless the user chose ``skip_invalid``). Writing
is one transaction: the upsert, an optional replace, the organisation references and the change
log entry land together or not at all.

Examples
--------
>>> import tempfile, pathlib
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "s.csv").write_text("编号,名称,经度,纬度\\nS1,锦绣站,104.07,30.66\\n")
>>> engine = make_engine(Settings(database_url=f"sqlite:///{d / 'g.db'}"))
>>> load_file(engine, "station", d / "s.csv").loaded
1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from gridmap.errors import RowProblem, RowsRejectedError, SchemaError
from gridmap.io.read import ReadOptions, ReadReport, read_layer_file
from gridmap.store import features
from gridmap.store.db import transaction
from gridmap.store.schema import upgrade


@dataclass
class LoadOptions(ReadOptions):
    """ReadOptions plus what to do with the database."""

    grid_layer: str | None = None
    replace: bool = False
    skip_invalid: bool = False
    actor: str = "cli"
    chunk_rows: int = 5000


@dataclass
class LoadReport:
    """The summary printed after a load (rows read, loaded, repaired, rejected)."""

    layer: str
    read: ReadReport
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated

    def summary(self) -> dict:
        """JSON-safe summary (no personal data: only counts, row numbers and codes)."""
        return {
            "source": self.read.source,
            "rows_read": self.read.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "removed": self.removed,
            "repaired": len(self.read.repaired),
            "rejected": len(self.read.rejected),
            "encoding": self.read.encoding,
            "crs": self.read.crs,
        }


def _check_grid_layer(layer: str, grid_layer: str | None) -> None:
    if layer == "grid" and not grid_layer:
        raise SchemaError(
            "导入网格需要用 --grid-layer 给出图层名，如 party (党建)、zongzhi (综治)、chengguan (城管)。",
            "Grids need a layer name: --grid-layer party | zongzhi | chengguan | …",
        )


def _org_reference_warnings(conn: Connection, result_frame, rows) -> list[str]:
    """Organisations that cover compound codes the database does not know, by row."""
    known = features.existing_codes(conn, "compound")
    out = []
    for row, code, covers in zip(rows, result_frame["code"], result_frame["covers"], strict=True):
        codes = covers.split(";") if isinstance(covers, str) else []
        unknown = [c for c in codes if c and c not in known]
        if unknown:
            out.append(
                str(
                    RowProblem(
                        int(row),
                        "covers",
                        f"组织 {code} 覆盖的小区编号 {', '.join(unknown)} 不存在 (请先导入小区)",
                        f"organisation {code} covers unknown compound code(s) {', '.join(unknown)}",
                    )
                )
            )
    return out


def load_file(
    engine: Engine,
    layer: str,
    path: str | Path,
    options: LoadOptions | None = None,
    progress=None,
) -> LoadReport:
    """Load ``path`` into ``layer``; raises before writing anything if rows are rejected.

    ``progress`` is called with the number of rows written after each chunk.
    """
    options = options or LoadOptions()
    _check_grid_layer(layer, options.grid_layer)
    result = read_layer_file(path, layer, options)
    if result.report.rejected and not options.skip_invalid:
        n = len(result.report.rejected)
        raise RowsRejectedError(
            f"{result.report.source}: {n} 处问题，未导入任何数据。请修正后重试，"
            "或用 --skip-invalid 只导入可用的行。",
            f"{result.report.source}: {n} problem(s); nothing was loaded. Fix them, or use "
            "--skip-invalid to load only the usable rows.",
            result.report.rejected,
        )
    upgrade(engine)
    report = LoadReport(layer=layer, read=result.report, warnings=list(result.report.warnings))
    with transaction(engine) as conn:
        if options.replace:
            report.removed = features.delete_layer(conn, layer, options.grid_layer)
        counts = features.upsert_features(
            conn,
            layer,
            result.frame,
            grid_layer=options.grid_layer,
            source=result.report.source,
            chunk_rows=options.chunk_rows,
            progress=progress,
        )
        report.inserted, report.updated = counts.inserted, counts.updated
        if layer == "org":
            report.warnings += _org_reference_warnings(conn, result.frame, result.rows)
        log_layer = f"grid:{options.grid_layer}" if layer == "grid" else layer
        features.log_change(conn, options.actor, "import", log_layer, report.summary())
    return report
