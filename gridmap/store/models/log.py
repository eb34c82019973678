"""The change log (变更记录): who changed what, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import Base, utcnow

# entries that record who logged in, looked at or took personal data, or kept a backup: they
# change nothing a map or a report shows (the data version, ``gridmap.api.cache.data_version``,
# passes them by, so that a login does not throw away every kept answer)
AUDIT_ONLY = frozenset({
    "login", "login_failed", "logout_everywhere", "account_add", "account_disable",
    "password_change", "token_issue", "token_revoke", "backup", "view_personal",
    "board_personal", "people_personal", "export_personal",
})  # fmt: skip


class ChangeLog(Base):
    """Append-only record of every change: who, when, what (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    layer: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict | None] = mapped_column(JSON)
