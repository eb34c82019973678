"""The layers of places (空间层级): subdistricts, communities, grid layers and their cells,
compounds, buildings and stations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import (
    Base,
    CodeUnique,
    Feature,
    point_column,
    polygon_column,
    utcnow,
)


class Subdistrict(CodeUnique, Feature, Base):
    """街道 / 乡镇."""

    __tablename__ = "subdistrict"
    geom = polygon_column()


class Community(CodeUnique, Feature, Base):
    """社区 / 村."""

    __tablename__ = "community"
    subdistrict_code: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)  # residents (人口数), where given
    geom = polygon_column()


class GridLayer(Base):
    """A named grid layer (党建网格, 综治网格, 城管网格, 全科网格 …)."""

    __tablename__ = "grid_layer"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=True
    )


class Grid(Feature, Base):
    """网格: one cell of one grid layer; codes are unique within a layer."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("layer", "code"),)
    layer: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    community_code: Mapped[str | None] = mapped_column(Text)
    geom = polygon_column()


class Compound(CodeUnique, Feature, Base):
    """小区 / 院落 / 楼院: the unit a Party branch is usually built on."""

    __tablename__ = "compound"
    community_code: Mapped[str | None] = mapped_column(Text)
    property_company: Mapped[str | None] = mapped_column(Text)
    property_has_org: Mapped[bool | None] = mapped_column(Boolean)
    geom = polygon_column()


class Building(CodeUnique, Feature, Base):
    """楼栋, with its households (户数)."""

    __tablename__ = "building"
    compound_code: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom = polygon_column()


class Station(CodeUnique, Feature, Base):
    """党群服务中心 / 站."""

    __tablename__ = "station"
    kind: Mapped[str | None] = mapped_column(Text)
    geom = point_column()
