"""The results of a run of ``gridmap integrate`` or ``gridmap analyze``: the run, its partitions,
gaps, crosswalk, proposals and unit figures."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import SRID, Base, utcnow


class AnalysisRun(Base):
    """One run of ``gridmap integrate`` or ``gridmap analyze``; results point to it."""

    __tablename__ = "analysis_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[dict | None] = mapped_column(JSON)


class AnalysisPartition(Base):
    """One finished partition (subdistrict or community) of a partitioned run."""

    __tablename__ = "analysis_partition"
    __table_args__ = (UniqueConstraint("run_id", "partition", name="uq_analysis_partition_run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    partition: Mapped[str] = mapped_column(Text, nullable=False)
    fingerprint: Mapped[str] = mapped_column(Text, nullable=False)
    analysed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    summary: Mapped[dict | None] = mapped_column(JSON)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class GapRecord(Base):
    """One finding of :mod:`gridmap.core.gaps` (a coverage gap or a layer defect)."""

    __tablename__ = "gap"
    __table_args__ = (Index("ix_gap_run_kind", "run_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    measure: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(Text)
    message_zh: Mapped[str | None] = mapped_column(Text)
    message_en: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    partition: Mapped[str | None] = mapped_column(Text)  # partitioned runs only
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True))


class CrosswalkRecord(Base):
    """Unified cell × departmental cell: shared area and households (多网合一 crosswalk)."""

    __tablename__ = "crosswalk"
    __table_args__ = (Index("ix_crosswalk_run", "run_id", "layer"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    unified_code: Mapped[str] = mapped_column(Text, nullable=False)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    dept_code: Mapped[str] = mapped_column(Text, nullable=False)
    shared_area_m2: Mapped[float | None] = mapped_column(Float)
    share_of_unified: Mapped[float | None] = mapped_column(Float)
    share_of_dept: Mapped[float | None] = mapped_column(Float)
    households_shared: Mapped[int | None] = mapped_column(Integer)
    partition: Mapped[str | None] = mapped_column(Text)  # partitioned runs only


class BranchProposalRecord(Base):
    """A proposed Party organisation (支部组建建议; the software proposes, people decide)."""

    __tablename__ = "proposal"  # branch proposals; grid proposals are draft plans (plan)
    __table_args__ = (Index("ix_proposal_run", "run_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    proposal_id: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    community_code: Mapped[str | None] = mapped_column(Text)
    compounds: Mapped[str | None] = mapped_column(Text)
    full_members: Mapped[int | None] = mapped_column(Integer)
    probationary_members: Mapped[int | None] = mapped_column(Integer)
    explanation_zh: Mapped[str | None] = mapped_column(Text)
    explanation_en: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict | None] = mapped_column(JSON)
    partition: Mapped[str | None] = mapped_column(Text)  # partitioned runs only
    geom = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True))


class UnitFigure(Base):
    """Households, buildings, members and rates of one unit in one run (what a map click shows)."""

    __tablename__ = "unit_figure"
    __table_args__ = (Index("ix_unit_figure_run", "run_id", "level", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    level: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    buildings: Mapped[int | None] = mapped_column(Integer)
    compounds: Mapped[int | None] = mapped_column(Integer)
    members_full: Mapped[int | None] = mapped_column(Integer)
    members_probationary: Mapped[int | None] = mapped_column(Integer)
    members: Mapped[int | None] = mapped_column(Integer)
    org_coverage: Mapped[float | None] = mapped_column(Float)
    own_branch_rate: Mapped[float | None] = mapped_column(Float)
    member_coverage: Mapped[float | None] = mapped_column(Float)
    proposal: Mapped[str | None] = mapped_column(Text)
    # staffing rates (core/staffing_rates.py FIGURE_STAFFING; migration 0011)
    grid_staffed_rate: Mapped[float | None] = mapped_column(Float)
    qualified_secretary_rate: Mapped[float | None] = mapped_column(Float)
    red_property_rate: Mapped[float | None] = mapped_column(Float)
    partition: Mapped[str | None] = mapped_column(Text)  # partitioned runs only
