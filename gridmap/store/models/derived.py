"""What a run lays down per place for others to read: the unit fabric (单元底图) and where each
member was placed (落位)."""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import Base, polygon_column


class FabricUnit(Base):
    """One unit of the unit fabric (单元底图, :mod:`gridmap.core.fabric`): a compound's territory,
    a group of its buildings, loose buildings or bare ground. The units of a community tile it;
    a plan painted from them is a table of unit codes and cell codes. Replaced by every run of
    ``gridmap integrate`` / ``analyze`` (``run_id``: the run that made it)."""

    __tablename__ = "fabric_unit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    community_code: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    compound_code: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, nullable=False)  # see gridmap.core.fabric.KINDS
    households: Mapped[int] = mapped_column(Integer, nullable=False)
    buildings: Mapped[int] = mapped_column(Integer, nullable=False)
    members_full: Mapped[int] = mapped_column(Integer, nullable=False)
    members_probationary: Mapped[int] = mapped_column(Integer, nullable=False)
    building_codes: Mapped[str | None] = mapped_column(Text)  # of parts and loose clusters, ";"
    area_m2: Mapped[float] = mapped_column(Float, nullable=False)
    geom = polygon_column()


class MemberPlacement(Base):
    """Where an analyze run placed one member (落位, :func:`gridmap.core.assign.assign_points`):
    the building their home point lies in (``inside``) or next to (``snapped``, within
    ``member_snap_distance_m``), or none (``unplaced``), and the distance in metres (to the
    nearest building for the unplaced). The members list and every count of members per place
    read these rows instead of placing members again."""

    __tablename__ = "member_placement"
    __table_args__ = (
        Index("ix_member_placement_run_id_member_code", "run_id", "member_code"),
        Index("ix_member_placement_run_id_building_code", "run_id", "building_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    member_code: Mapped[str] = mapped_column(Text, nullable=False)
    building_code: Mapped[str | None] = mapped_column(Text)
    how: Mapped[str] = mapped_column(Text, nullable=False)  # inside | snapped | unplaced
    distance_m: Mapped[float] = mapped_column(Float, nullable=False)
    partition: Mapped[str | None] = mapped_column(Text)  # partitioned runs only
