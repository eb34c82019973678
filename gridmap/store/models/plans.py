"""Grid plans (网格方案) that planners redraw, and the grid cells an approved plan replaced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import Base, polygon_column, utcnow


class Plan(Base):
    """A draft copy of a grid layer that planners redraw; ``version`` rises with every save."""

    __tablename__ = "plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    grid_layer: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, default="draft")
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    saved_by: Mapped[str] = mapped_column(Text, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class PlanCell(Base):
    """One grid cell of a plan."""

    __tablename__ = "plan_cell"
    __table_args__ = (
        UniqueConstraint("plan_id", "code", name="uq_plan_cell_plan_id"),
        Index("ix_plan_cell_plan", "plan_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    geom = polygon_column()


class GridHistory(Base):
    """Grid cells replaced when a plan was approved (history, never deleted)."""

    __tablename__ = "grid_history"
    __table_args__ = (Index("ix_grid_history_layer", "layer", "replaced_by_plan"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    replaced_by_plan: Mapped[int] = mapped_column(Integer, nullable=False)
    geom = polygon_column()
