"""``gridmap load``: a file → one layer of the database, all or nothing.

Reading (``gridmap.io``) happens before the database is touched; if any row cannot be used the
whole file is refused with every problem listed (unless the user chose ``skip_invalid``). Writing
is one transaction: the upsert, an optional replace, the organisation references and the change
log entry land together or not at all. One overlap on PostGIS: when every other field of an area
layer's file has passed and none of its rows is stored yet, the geometries are checked a chunk
at a time while the chunk before is COPYed; a problem in any chunk stops the writing, the rest
is still checked so that every problem is listed, and the refusal rolls the transaction back.

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
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select

from gridmap.collector import paused
from gridmap.errors import RowProblem, RowsRejectedError, SchemaError
from gridmap.io.read import ReadOptions, ReadReport, ReadResult, check_chunk, read_layer_file
from gridmap.layers import LAYERS
from gridmap.store import bulk, features
from gridmap.store.db import transaction
from gridmap.store.models import table_for
from gridmap.store.revision import at_head

if TYPE_CHECKING:  # placing by address and Alembic are imported when a load needs them
    from gridmap.placing import MatchReport


@dataclass
class LoadOptions(ReadOptions):
    """ReadOptions plus what to do with the database."""

    grid_layer: str | None = None
    replace: bool = False
    skip_invalid: bool = False
    actor: str = "cli"
    chunk_rows: int = 5000
    address_disagree_m: float = 100.0  # GRIDMAP_ADDRESS_DISAGREE_M
    match_report: Path | None = None  # where to write how each address matched (CSV)


@dataclass
class LoadReport:
    """The summary printed after a load (rows read, loaded, repaired, rejected)."""

    layer: str
    read: ReadReport
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)
    matches: MatchReport | None = None  # rows placed by address (地址落位)

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
            **({"matches": self.matches.summary()} if self.matches else {}),
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


# The people layers name places by code: (field, layers whose codes it may name). A code no
# layer holds refuses its row, as a misspelt place would leave a vacancy unseen.
PLACE_REFERENCES = {
    "staff": ("places", ("community", "grid", "compound", "building", "org", "property",
                         "owners_committee", "station")),
    "property": ("compounds", ("compound",)),
    "owners_committee": ("compound_code", ("compound",)),
}  # fmt: skip


def _refuse_unknown_places(conn: Connection, layer: str, result: ReadResult) -> None:
    """Rows naming a place code that no layer holds: listed as rejected and left out."""
    field_name, layers = PLACE_REFERENCES[layer]
    if field_name not in result.frame:
        return
    known: set[str] = set()
    for name in layers:
        known |= {row[0] for row in conn.execute(select(table_for(name).c.code))}
    label = " / ".join(LAYERS[n].label_zh for n in layers)
    keep = []
    for row, value in zip(result.rows, result.frame[field_name], strict=True):
        unknown = [c for c in str(value or "").split(";") if c and c not in known]
        keep.append(not unknown)
        if unknown:
            result.report.rejected.append(RowProblem(
                int(row), field_name, f"编号 {', '.join(unknown)} 不存在 (应为已导入的{label}编号)",
                f"unknown code(s) {', '.join(unknown)} (expected codes of loaded {', '.join(layers)})",
            ))  # fmt: skip
    result.report.rejected.sort(key=lambda p: (p.row if p.row is not None else -1, p.field or ""))
    result.frame = result.frame[keep].reset_index(drop=True)
    result.rows = result.rows[keep]


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
    overlap = engine.dialect.name == "postgresql" and layer in OVERLAPPED_LAYERS
    with paused():
        result = read_layer_file(
            path, layer, options, defer_geometry=overlap, chunk_rows=options.chunk_rows
        )
        try:
            return _load(engine, layer, result, options, progress)
        finally:
            if result.pending is not None:
                result.pending.close()  # a load that failed early stops checking ahead


def _load(engine: Engine, layer: str, result: ReadResult, options: LoadOptions, progress):
    by_address = LAYERS[layer].geometry == "point" and _has_addresses(result.frame)
    if not by_address and layer not in PLACE_REFERENCES:
        _refuse_rejected(result, options)
    if not at_head(engine):
        from gridmap.store.schema import upgrade

        upgrade(engine)
    report = LoadReport(layer=layer, read=result.report, warnings=list(result.report.warnings))
    with transaction(engine) as conn:
        frame = _place_by_address(conn, layer, result, options, report) if by_address else None
        if layer in PLACE_REFERENCES:
            _refuse_unknown_places(conn, layer, result)
        if frame is not None or layer in PLACE_REFERENCES:
            _refuse_rejected(result, options)  # before anything is written: all or nothing
        if result.pending is not None and _all_new(conn, layer, result, options):
            _write_overlapped(conn, layer, result, options, report, progress)
            return report
        if result.pending is not None:  # rows to update: checked whole, then the upsert
            _check_whole(result)
            _refuse_rejected(result, options)
        frame = result.frame if frame is None else frame
        _write(conn, layer, result, frame, options, report, progress)
    return report


# PostGIS layers whose geometries are checked a chunk at a time while the chunk before is
# written: areas and lines (no placing by address, no codes of other layers to look up).
OVERLAPPED_LAYERS = {
    name for name, spec in LAYERS.items()
    if spec.geometry not in ("none", "point") and name not in PLACE_REFERENCES
    and name not in ("grid", "org")
}  # fmt: skip


def _all_new(conn: Connection, layer: str, result: ReadResult, options: LoadOptions) -> bool:
    """Whether no row of the file is stored yet (or all are about to be replaced)."""
    return options.replace or not features.existing_codes(conn, layer).intersection(
        result.frame["code"]
    )


def _check_whole(result: ReadResult) -> None:
    result.pending.close()  # the chunks checked ahead are not used: stop checking them
    checked = check_chunk(result, 0, len(result.frame))
    result.frame, result.rows, result.pending = checked.frame, checked.rows, None


def _write_overlapped(
    conn: Connection,
    layer: str,
    result: ReadResult,
    options: LoadOptions,
    report: LoadReport,
    progress,
) -> None:
    """New rows COPYed into the layer one checked chunk at a time, the next chunk checked while
    the server takes in the last (all the other fields of the file have passed already).

    Still all or nothing: once a chunk has a problem nothing more is written, the remaining
    chunks are checked only to list every problem of the file, and the refusal rolls the
    transaction back with the rows already written (unless the user chose ``skip_invalid``).
    """
    if options.replace:
        report.removed = features.delete_layer(conn, layer)
    table = table_for(layer)
    constants = bulk.row_constants(conn, result.report.source)

    def checked_chunks():
        refused = False
        for start in range(0, len(result.frame), options.chunk_rows):
            chunk = check_chunk(result, start, start + options.chunk_rows, geodataframe=False)
            refused = refused or bool(result.report.rejected and not options.skip_invalid)
            if not refused:
                yield _unstored_into_properties(layer, chunk.frame)

    report.inserted = bulk.postgres_copy_chunks(
        conn, table, checked_chunks(), bulk.data_columns(table), constants=constants,
        progress=progress,
        rebuild_index=len(result.frame) >= bulk.DEFER_INDEX_MIN_ROWS,
    )  # fmt: skip
    _refuse_rejected(result, options)  # raised inside the transaction: nothing stays written
    features.log_change(conn, options.actor, "import", layer, report.summary())


def _has_addresses(frame) -> bool:
    from gridmap.placing import has_addresses

    return has_addresses(frame)


def _refuse_rejected(result: ReadResult, options: LoadOptions) -> None:
    if result.report.rejected and not options.skip_invalid:
        n = len(result.report.rejected)
        raise RowsRejectedError(
            f"{result.report.source}: {n} 处问题，未导入任何数据。请修正后重试，"
            "或用 --skip-invalid 只导入可用的行。",
            f"{result.report.source}: {n} problem(s); nothing was loaded. Fix them, or use "
            "--skip-invalid to load only the usable rows.",
            result.report.rejected,
        )


def _place_by_address(
    conn: Connection, layer: str, result: ReadResult, options: LoadOptions, report: LoadReport
):
    """Rows without coordinates placed by address; the match report written if asked for."""
    from gridmap.placing import (
        fold_address_parts,
        forget_report_columns,
        place_members,
        roster_columns,
        write_match_report,
    )

    frame, matches, problems = place_members(
        conn, result.frame, result.rows, options.address_disagree_m
    )
    report.matches = matches
    result.report.rejected += problems
    result.report.rejected.sort(key=lambda p: (p.row if p.row is not None else -1, p.field or ""))
    if options.match_report is not None:
        roster = roster_columns(frame, LAYERS[layer], result.report.columns)
        write_match_report(options.match_report, roster, matches)
    if matches.disagreements:
        shown = ", ".join(f"第 {r} 行 {d:.0f} 米" for r, d in matches.disagreements[:20])
        more = " …" if len(matches.disagreements) > 20 else ""
        report.warnings.append(
            f"{len(matches.disagreements)} 行的住址与表中坐标相距超过 {options.address_disagree_m:.0f} 米"
            f" (按坐标导入): {shown}{more} / {len(matches.disagreements)} row(s) lie farther than "
            f"{options.address_disagree_m:.0f} m from the building their address names (loaded at their coordinates)"
        )
    keep = (frame.geometry.notna() & ~frame.geometry.is_empty).to_numpy()
    result.rows = result.rows[keep]
    return fold_address_parts(forget_report_columns(frame[keep].reset_index(drop=True)))


def _unstored_into_properties(layer: str, frame):
    """Fields the layer's table has no column for (a compound's 别名) are kept in properties."""
    stored = {c.name for c in table_for(layer).columns}
    extra = [f for f in LAYERS[layer].field_names if f in frame and f not in stored]
    if not extra:
        return frame
    values = frame[extra].astype(object).where(frame[extra].notna(), None).to_dict("records")
    properties = frame["properties"] if "properties" in frame else [{}] * len(frame)
    merged = [
        {**(p or {}), **{k: v for k, v in e.items() if v is not None}}
        for p, e in zip(properties, values, strict=True)
    ]
    return frame.drop(columns=extra).assign(properties=merged)


def _write(
    conn: Connection,
    layer: str,
    result: ReadResult,
    frame,
    options: LoadOptions,
    report: LoadReport,
    progress,
) -> None:
    """One transaction: the optional replace, the upsert, organisation references, the log."""
    frame = _unstored_into_properties(layer, frame)
    if options.replace:
        report.removed = features.delete_layer(conn, layer, options.grid_layer)
    counts = features.upsert_features(
        conn,
        layer,
        frame,
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
