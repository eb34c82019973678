"""The data model (数据模型): one table per layer of docs/domain.md, plus the change log, the
results of runs, plans and accounts — one module per family of tables, all on one metadata
(:data:`Base.metadata`, what Alembic compares the database with).

Every feature keeps its source code (编号) and name as given, the source file's other columns in
``properties``, and what geometry repair did in ``repair_note``. Geometries are stored in
EPSG:4326 (WGS84/CGCS2000); polygons as MULTIPOLYGON so every file's mix of single and multi
parts fits one column type (GeoPackage and QGIS like that too).

The schema is created and evolved by Alembic (``gridmap/store/migrations``); these classes are
what the migrations were written from and what the code queries. This index imports the families
in the order the backup writes the tables (layers, log, results, plans, accounts, derived).
"""

from __future__ import annotations

from gridmap.layers import LAYERS

# importing a family registers its tables: this order is the order the backup writes them in
# isort: off
from gridmap.store.models.base import NAMING, SRID, Base, CodeUnique, Feature, utcnow
from gridmap.store.models.places import (
    Building,
    Community,
    Compound,
    Grid,
    GridLayer,
    Station,
    Subdistrict,
)
from gridmap.store.models.people import Member, OwnersCommittee, PartyOrg, PropertyCompany, Staff
from gridmap.store.models.log import ChangeLog
from gridmap.store.models.runs import (
    AnalysisPartition,
    AnalysisRun,
    CrosswalkRecord,
    GapRecord,
    BranchProposalRecord,
    UnitFigure,
)
from gridmap.store.models.plans import GridHistory, Plan, PlanCell
from gridmap.store.models.accounts import Account, ApiToken, LoginSession, LoginThrottle
from gridmap.store.models.derived import FabricUnit, MemberPlacement
# isort: on

__all__ = [
    "LAYER_MODELS",
    "NAMING",
    "SRID",
    "Account",
    "AnalysisPartition",
    "AnalysisRun",
    "ApiToken",
    "Base",
    "BranchProposalRecord",
    "Building",
    "ChangeLog",
    "CodeUnique",
    "Community",
    "Compound",
    "CrosswalkRecord",
    "FabricUnit",
    "Feature",
    "GapRecord",
    "Grid",
    "GridHistory",
    "GridLayer",
    "LoginSession",
    "LoginThrottle",
    "Member",
    "MemberPlacement",
    "OwnersCommittee",
    "PartyOrg",
    "Plan",
    "PlanCell",
    "PropertyCompany",
    "Staff",
    "Station",
    "Subdistrict",
    "UnitFigure",
    "table_for",
    "utcnow",
]

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
