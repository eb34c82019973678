"""Errors a user can hit (用户可见的错误).

One base class, one subclass per kind of failure; each carries a Chinese and an English message.
The CLI prints ``str(error)`` without a traceback; the API maps each class to an HTTP status
(``HTTP_STATUS``). Programming errors are not ``GridmapError`` and stay tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowProblem:
    """One problem with one input row: which row, which field, what is wrong, what to do."""

    row: int | None
    field: str | None
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"第 {self.row} 行 (row {self.row})")
        if self.field:
            where.append(f"字段 {self.field}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason_zh} / {self.reason_en}" if prefix else self.reason_zh


class GridmapError(Exception):
    """Base of every error a user can cause; ``message_zh`` first, ``message_en`` second."""

    def __init__(self, message_zh: str, message_en: str, problems: list[RowProblem] | None = None):
        self.message_zh = message_zh
        self.message_en = message_en
        self.problems = list(problems or [])
        super().__init__(f"{message_zh} / {message_en}")

    def __str__(self) -> str:
        lines = [f"{self.message_zh}\n{self.message_en}"]
        shown = self.problems[:50]
        lines += [f"  - {p}" for p in shown]
        if len(self.problems) > len(shown):
            lines.append(f"  … 另有 {len(self.problems) - len(shown)} 处问题 / more problems")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "problems": [
                {"row": p.row, "field": p.field, "reason_zh": p.reason_zh, "reason_en": p.reason_en}
                for p in self.problems
            ],
        }


class InputFileError(GridmapError):
    """The file cannot be read at all: missing, empty, truncated, unknown format, bad encoding."""


class CRSError(GridmapError):
    """The coordinate reference system is unknown, missing or does not fit the coordinates."""


class SchemaError(GridmapError):
    """Required columns are missing or a ``--field`` mapping names a column that is not there."""


class RowsRejectedError(GridmapError):
    """Some rows cannot be used (no geometry, wrong type, bad values); nothing was written."""


class NotFoundError(GridmapError):
    """A layer, feature or plan that does not exist (or that the user may not see)."""


class ConflictError(GridmapError):
    """Someone else changed the thing first (plan versions)."""


class PermissionDeniedError(GridmapError):
    """The role or area does not allow this action."""


class AuthError(GridmapError):
    """Wrong name or password, an unknown token, or no login at all (HTTP 401)."""


class DatabaseError(GridmapError):
    """The database cannot be reached or is not a gridmap database."""


HTTP_STATUS: dict[type[GridmapError], int] = {
    InputFileError: 400,
    CRSError: 400,
    SchemaError: 400,
    RowsRejectedError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    PermissionDeniedError: 403,
    AuthError: 401,
    DatabaseError: 503,
    GridmapError: 400,
}
