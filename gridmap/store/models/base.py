"""What every table shares: the one metadata (with its naming convention), the columns of every
layer table, and the geometry columns (EPSG:4326; polygons as MULTIPOLYGON)."""

from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2 import Geometry
from sqlalchemy import JSON, DateTime, Integer, MetaData, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feature:
    """Columns every layer table has."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict | None] = mapped_column(JSON)
    repair_note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=True
    )


def polygon_column():
    """A MULTIPOLYGON column with a spatial index, never empty."""
    return mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


def point_column():
    """A POINT column with a spatial index, never empty."""
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class CodeUnique:
    """A layer whose codes (编号) are unique in the whole table."""

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("code"),)
