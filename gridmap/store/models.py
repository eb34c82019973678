"""The data model (数据模型): one table per layer of docs/domain.md, plus the change log.

Every feature keeps its source code (编号) and name as given, the source file's other columns in
``properties``, and what geometry repair did in ``repair_note``. Geometries are stored in
EPSG:4326 (WGS84/CGCS2000); polygons as MULTIPOLYGON so every file's mix of single and multi
parts fits one column type (GeoPackage and QGIS like that too).

The schema is created and evolved by Alembic (``gridmap/store/migrations``); these classes are
what the migrations were written from and what the code queries.
"""

from __future__ import annotations

from datetime import UTC, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from gridmap.layers import LAYERS

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
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _polygon():
    return mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)


def _point():
    return mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class CodeUnique:
    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("code"),)


class Subdistrict(CodeUnique, Feature, Base):
    """街道 / 乡镇."""

    __tablename__ = "subdistrict"
    geom = _polygon()


class Community(CodeUnique, Feature, Base):
    """社区 / 村."""

    __tablename__ = "community"
    subdistrict_code: Mapped[str | None] = mapped_column(Text)
    population: Mapped[int | None] = mapped_column(Integer)  # residents (人口数), where given
    geom = _polygon()


class GridLayer(Base):
    """A named grid layer (党建网格, 综治网格, 城管网格, 全科网格 …)."""

    __tablename__ = "grid_layer"
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Grid(Feature, Base):
    """网格: one cell of one grid layer; codes are unique within a layer."""

    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("layer", "code"),)
    layer: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    community_code: Mapped[str | None] = mapped_column(Text)
    geom = _polygon()


class Compound(CodeUnique, Feature, Base):
    """小区 / 院落 / 楼院: the unit a Party branch is usually built on."""

    __tablename__ = "compound"
    community_code: Mapped[str | None] = mapped_column(Text)
    property_company: Mapped[str | None] = mapped_column(Text)
    property_has_org: Mapped[bool | None] = mapped_column(Boolean)
    geom = _polygon()


class Building(CodeUnique, Feature, Base):
    """楼栋, with its households (户数)."""

    __tablename__ = "building"
    compound_code: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    floors: Mapped[int | None] = mapped_column(Integer)
    geom = _polygon()


class Station(CodeUnique, Feature, Base):
    """党群服务中心 / 站."""

    __tablename__ = "station"
    kind: Mapped[str | None] = mapped_column(Text)
    geom = _point()


class Member(CodeUnique, Feature, Base):
    """党员: where they live (geometry) is kept apart from where they belong (org_name).

    ``name``, ``phone`` and ``address`` are personal information (个人信息).
    """

    __tablename__ = "member"
    phone: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(Text, nullable=False)  # full | probationary
    in_service: Mapped[bool | None] = mapped_column(Boolean)
    reported: Mapped[bool | None] = mapped_column(Boolean)
    org_name: Mapped[str | None] = mapped_column(Text)
    building_code: Mapped[str | None] = mapped_column(Text)
    geom = _point()


class PartyOrg(CodeUnique, Feature, Base):
    """党组织: existing organisations as the organisation table lists them."""

    __tablename__ = "party_org"
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    parent_name: Mapped[str | None] = mapped_column(Text)
    has_committee: Mapped[bool | None] = mapped_column(Boolean)
    covers: Mapped[str | None] = mapped_column(Text)  # compound codes, ";"-separated
    groups: Mapped[int | None] = mapped_column(Integer)  # 党小组数: Party groups it has


class Staff(CodeUnique, Feature, Base):
    """人员花名册: one person in one post, and the places (codes, ";"-separated) served.

    ``name`` and ``phone`` are personal information; ``duty_phone`` (值班电话) is public.
    Dates are ISO text (YYYY-MM-DD).
    """

    __tablename__ = "staff"
    phone: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, nullable=False)  # see gridmap.people_layers
    places: Mapped[str | None] = mapped_column(Text)
    party_member: Mapped[bool | None] = mapped_column(Boolean)
    category: Mapped[str | None] = mapped_column(Text)  # full | probationary
    joined_party: Mapped[str | None] = mapped_column(Text)
    took_post: Mapped[str | None] = mapped_column(Text)
    duty_phone: Mapped[str | None] = mapped_column(Text)


class PropertyCompany(CodeUnique, Feature, Base):
    """物业服务企业 and its Party work (红色物业)."""

    __tablename__ = "property_company"
    compounds: Mapped[str | None] = mapped_column(Text)  # compound codes, ";"-separated
    employees: Mapped[int | None] = mapped_column(Integer)
    party_members: Mapped[int | None] = mapped_column(Integer)
    party_org: Mapped[str | None] = mapped_column(Text)  # yes | joint | none
    has_instructor: Mapped[bool | None] = mapped_column(Boolean)


class OwnersCommittee(CodeUnique, Feature, Base):
    """业主委员会 of one compound: members, Party members, 交叉任职 and its Party organisation."""

    __tablename__ = "owners_committee"
    compound_code: Mapped[str | None] = mapped_column(Text)
    members: Mapped[int | None] = mapped_column(Integer)
    party_members: Mapped[int | None] = mapped_column(Integer)
    cross_serving: Mapped[int | None] = mapped_column(Integer)
    party_org: Mapped[str | None] = mapped_column(Text)  # branch | functional | joint | none


class ChangeLog(Base):
    """Append-only record of every change: who, when, what (triggers refuse UPDATE/DELETE)."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    layer: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[dict | None] = mapped_column(JSON)


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
    __table_args__ = (UniqueConstraint("run_id", "partition"),)
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


class ProposalRecord(Base):
    """A proposed Party organisation (the software proposes; people decide)."""

    __tablename__ = "proposal"
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
    __table_args__ = (UniqueConstraint("plan_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    geom = _polygon()


class GridHistory(Base):
    """Grid cells replaced when a plan was approved (history, never deleted)."""

    __tablename__ = "grid_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    layer: Mapped[str] = mapped_column(Text, nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    name: Mapped[str | None] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    replaced_by_plan: Mapped[int] = mapped_column(Integer, nullable=False)
    geom = _polygon()


class Account(Base):
    """A person who logs in (or a client holding one of their tokens)."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(Text, nullable=False)
    area: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ApiToken(Base):
    """A bearer token for API clients (QGIS, scripts); only its SHA-256 digest is kept."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class LoginSession(Base):
    """A browser session: the cookie carries its random id, the database only the id's SHA-256
    digest. Each request looks it up; logout, a password change and disabling the account
    delete it."""

    __tablename__ = "login_session"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    account_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginThrottle(Base):
    """Login tries of one account name from one client address in one time window: failures
    (counted, with the last one's time) and the last success. What every server process reads
    to slow guessing down, and what the audit trail's one row per window is written from."""

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("name", "address", "window_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False, index=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)  # fmt: skip
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audited: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


LAYER_MODELS: dict[str, type[Feature]] = {
    "subdistrict": Subdistrict,
    "community": Community,
    "grid": Grid,
    "compound": Compound,
    "building": Building,
    "station": Station,
    "member": Member,
    "org": PartyOrg,
    "staff": Staff,
    "property": PropertyCompany,
    "owners_committee": OwnersCommittee,
}

assert set(LAYER_MODELS) == set(LAYERS), "every layer of gridmap.layers has a table"


def table_for(layer: str):
    """The SQLAlchemy ``Table`` of a layer name of :data:`gridmap.layers.LAYERS`."""
    return LAYER_MODELS[layer].__table__


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
    geom = _polygon()


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
