"""The store's tables (SQLModel). One schema for SQLite and PostgreSQL; Alembic migrations in
``icv_permits/adapters/store/migrations`` create and change it (``icv-permits db upgrade``).

Conventions:
- every instant is a timezone-aware UTC ``datetime`` (:class:`UTCDateTime`); calendar dates of
  notices and plates are plain dates, meant in Asia/Shanghai;
- documents (application snapshots, decisions) are canonical JSON text, so their bytes can be
  hashed and compared;
- a driver's ID number is never stored in clear (``personal.py``).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite keeps no zone: naive UTC is stored)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _utc(**kw):
    return Field(sa_column=Column(UTCDateTime(), **kw))


class State(StrEnum):
    under_review = "under_review"  # 审核中
    returned = "returned"  # 退回补正
    approved = "approved"  # 已批准
    rejected = "rejected"  # 不予批准


class Action(StrEnum):
    approve = "approve"
    return_ = "return"
    reject = "reject"


class NoticeStatus(StrEnum):
    active = "active"  # in force between its dates
    superseded = "superseded"  # replaced by a re-application's notice
    revoked = "revoked"  # withdrawn (MON-04)


class Entity(SQLModel, table=True):
    __tablename__ = "entity"
    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True)
    name: str = Field(max_length=500)
    created_at: dt.datetime = _utc(nullable=False)


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicle"
    id: int | None = Field(default=None, primary_key=True)
    vin: str = Field(max_length=17, unique=True)
    brand_model: str | None = Field(default=None, max_length=500)
    configuration: str | None = Field(default=None, max_length=500)
    created_at: dt.datetime = _utc(nullable=False)


class Driver(SQLModel, table=True):
    __tablename__ = "driver"
    id: int | None = Field(default=None, primary_key=True)
    id_lookup: str = Field(max_length=64, unique=True)  # keyed, slow hash of the ID number (personal.py)
    id_masked: str = Field(max_length=32)
    # how id_lookup was made (personal.Scrypt.scheme, or "hmac-sha256" before migration 0007), and the
    # lookup the row had before it was re-keyed, which versions submitted earlier still name
    lookup_scheme: str = Field(default="hmac-sha256", max_length=40, index=True, sa_column_kwargs={"server_default": "hmac-sha256"})
    former_lookup: str | None = Field(default=None, max_length=64, unique=True)
    name: str = Field(max_length=500)
    created_at: dt.datetime = _utc(nullable=False)


ONE_UNDER_REVIEW = "uq_submission_one_under_review"
"""At most one submission under review per entity and application id (migration 0006): the
database's own guard behind the entity lock that ``submit`` takes (``records.lock_parties``)."""
_UNDER_REVIEW = "state = 'under_review' AND application_id IS NOT NULL"


class Submission(SQLModel, table=True):
    __tablename__ = "submission"
    __table_args__ = (Index(ONE_UNDER_REVIEW, "entity_id", "application_id", unique=True,
                            sqlite_where=text(_UNDER_REVIEW), postgresql_where=text(_UNDER_REVIEW)),)
    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    application_id: str | None = Field(default=None, max_length=500)  # the applicant's own reference
    activity: str = Field(max_length=40)
    state: str = Field(max_length=20, index=True)
    current_version: int = 1
    revision: int = 1  # optimistic concurrency: +1 on every change
    created_at: dt.datetime = _utc(nullable=False)
    updated_at: dt.datetime = _utc(nullable=False)


class SubmissionVersion(SQLModel, table=True):
    __tablename__ = "submission_version"
    __table_args__ = (UniqueConstraint("submission_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    number: int
    submitted_at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)
    file_name: str = Field(max_length=500)
    file_sha256: str = Field(max_length=64)
    application_digest: str = Field(max_length=80)
    document: str = Field(sa_column=Column(Text, nullable=False))  # pseudonymised application (personal.py), canonical JSON
    masked_fields: str = Field(sa_column=Column(Text, nullable=False))  # JSON: [{path, method}]
    driver_lookups: str = Field(sa_column=Column(Text, nullable=False))  # JSON: {driver ref: id_lookup}
    key_fingerprint: str = Field(max_length=16)
    evidence: str | None = Field(default=None, sa_column=Column(Text))  # EvidenceSummary JSON


class EngineRun(SQLModel, table=True):
    """One run of the engine on a version: at submission, and again when a regulator decides."""

    __tablename__ = "engine_run"
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="submission_version.id", index=True)
    run_at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)
    purpose: str = Field(max_length=20)  # submit | decide
    as_of: dt.date
    pack_id: str = Field(max_length=100)
    pack_revision: str = Field(max_length=80)
    verdict: str = Field(max_length=20)
    decision: str = Field(sa_column=Column(Text, nullable=False))  # Decision JSON, canonical


class Review(SQLModel, table=True):
    """A regulator's decision on a version."""

    __tablename__ = "review"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    version_id: int = Field(foreign_key="submission_version.id")
    engine_run_id: int = Field(foreign_key="engine_run.id")
    action: str = Field(max_length=20)
    from_state: str = Field(max_length=20)
    to_state: str = Field(max_length=20)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    against_engine: bool = False
    items: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON: what to correct
    actor: str = Field(max_length=100)
    decided_at: dt.datetime = _utc(nullable=False)


class Notice(SQLModel, table=True):
    """A notice (通知书) issued on approval."""

    __tablename__ = "notice"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    submission_id: int = Field(foreign_key="submission.id")
    version_id: int = Field(foreign_key="submission_version.id")
    kind: str = Field(max_length=40)
    issued: dt.date
    valid_from: dt.date
    valid_until: dt.date = Field(index=True)
    status: str = Field(max_length=20, default=NoticeStatus.active.value)
    sections: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    configurations: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    replaces_id: int | None = Field(default=None, foreign_key="notice.id")
    created_at: dt.datetime = _utc(nullable=False)


class NoticeVehicle(SQLModel, table=True):
    __tablename__ = "notice_vehicle"
    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", primary_key=True, index=True)


class NoticeDriver(SQLModel, table=True):
    """Which driver is assigned to which vehicle under a notice."""

    __tablename__ = "notice_driver"
    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    driver_id: int = Field(foreign_key="driver.id", primary_key=True, index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", primary_key=True)


class Plate(SQLModel, table=True):
    """Temporary plates (临时行驶车号牌) of one vehicle under one notice, for one period."""

    __tablename__ = "plate"
    __table_args__ = (Index("ix_plate_notice_vehicle", "notice_id", "vehicle_id"),)
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    notice_id: int = Field(foreign_key="notice.id")
    vehicle_id: int = Field(foreign_key="vehicle.id")
    valid_from: dt.date
    valid_until: dt.date = Field(index=True)
    renews_id: int | None = Field(default=None, foreign_key="plate.id")
    issued_at: dt.datetime = _utc(nullable=False)


class Counter(SQLModel, table=True):
    """Sequence numbers for notice and plate numbers, taken under a row lock."""

    __tablename__ = "counter"
    name: str = Field(primary_key=True, max_length=60)
    value: int = 0


# ---------------------------------------------------------------- the decision log


class DecisionLog(SQLModel, table=True):
    """One record of the hash-chained, append-only decision log (``icv_permits/services/audit.py``).

    Database triggers refuse UPDATE and DELETE (migration 0002)."""

    __tablename__ = "decision_log"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    decision_id: str = Field(max_length=36, unique=True)
    kind: str = Field(max_length=30)
    recorded_at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)  # the database session user (PostgreSQL) or the OS user (SQLite)
    body: str = Field(sa_column=Column(Text, nullable=False))  # RFC 8785 canonical JSON
    prev_hash: str = Field(max_length=71)
    hash: str = Field(max_length=71, unique=True)


class LogHead(SQLModel, table=True):
    """The last record's sequence number and hash: the row that serialises writers, and a check
    against truncation of the log's tail."""

    __tablename__ = "log_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=71)


class PackSnapshot(SQLModel, table=True):
    """The content of every pack revision a logged decision used, so replays use exactly it."""

    __tablename__ = "pack_snapshot"
    revision: str = Field(primary_key=True, max_length=80)
    pack_id: str = Field(max_length=100)
    content: str = Field(sa_column=Column(Text, nullable=False))  # the Pack as JSON, in its own key order
    stored_at: dt.datetime = _utc(nullable=False)


class Draft(SQLModel, table=True):
    """An applicant's unfinished application, saved from the terminal app by name.

    The document is the draft as JSON **without** driver ID numbers and phone numbers (the store
    never holds them); ``removed`` lists the paths taken out, so the app can ask for them again."""

    __tablename__ = "draft"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    created_at: dt.datetime = _utc(nullable=False)
    updated_at: dt.datetime = _utc(nullable=False)
    actor: str = Field(max_length=100)
    activity: str = Field(default="", max_length=40)
    document: str = Field(sa_column=Column(Text, nullable=False))
    removed: str = Field(sa_column=Column(Text, nullable=False))
