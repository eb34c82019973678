"""The layers of people and organisations: Party members, existing Party organisations, the
staff roster, property companies and owners' committees."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridmap.store.models.base import Base, CodeUnique, Feature, point_column


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
    geom = point_column()


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
