"""The store's database: create or migrate it, and say which one is used and how current it is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from icv_permits.adapters.store import db, personal, roles, tables


@dataclass(frozen=True)
class Upgraded:
    url: str  # as shown (no password)
    before: str | None
    after: str
    key_created: Path | None  # the secret key file made now, if one was
    triggers_restored: tuple = ()  # the triggers (the log's, the office's) put back now
    granted: tuple = ()  # the PostgreSQL roles given their rights now (none without roles)
    head: object = None  # the log's head row put back now, or left missing with records (adapters/store/head.py)


@dataclass(frozen=True)
class Status:
    url: str  # as shown (no password)
    backend: str
    schema: str | None  # None: not created yet
    head: str
    triggers: tuple = ()  # the triggers (the log's, the office's) missing, disabled or altered
    standing: object = None  # PostgreSQL: who this connection is (roles.Standing)

    @property
    def schema_current(self) -> bool:
        return self.schema == self.head

    @property
    def up_to_date(self) -> bool:
        return self.schema == self.head and not self.triggers

    @property
    def newer_than_this_version(self) -> bool:
        return self.schema is not None and self.schema not in db.known_revisions()

    def to_json(self) -> dict:
        return {"url": self.url, "backend": self.backend, "schema": self.schema, "head": self.head, "up_to_date": self.up_to_date,
                "triggers": [p.to_json() for p in self.triggers],
                "role": self.standing.to_json() if self.standing is not None else None,
                "guarantees": self.guarantees}

    @property
    def guarantees(self) -> list[str]:
        """What this database cannot guarantee about the log, as codes (:data:`LIMITS`)."""
        if self.backend == "sqlite":
            return ["sqlite_file_writer", "sqlite_actor_os", "sqlite_time_client"]
        if self.standing is None:
            return []
        kind = self.standing.kind
        out = []
        if not self.standing.roles_set_up:
            out.append("pg_no_roles")
        if kind in ("owner", "superuser"):
            out.append("pg_owner_session")
        return out


def upgrade() -> Upgraded:
    """Create or migrate the configured database to this version's schema, and make the office's
    secret key if none is configured."""
    before, after, restored, granted, head = db.upgrade_reporting()
    created = personal.ensure_key_file()
    return Upgraded(db.shown_url(db.database_url()), before, after, created, tuple(restored), tuple(granted), head)


def status() -> Status:
    """Which database is configured and its schema revision, without creating an empty file."""
    url = db.database_url()
    path = db._sqlite_file(url)
    engine = db._engine(url)
    triggers: tuple = ()
    standing = None
    if path is not None and not path.exists():
        current = None  # not created yet: say so without creating an empty file
    else:
        try:
            current = db.current_revision(engine)
            triggers = tuple(db.trigger_problems(engine)) if current is not None else ()
            if engine.dialect.name == "postgresql" and current is not None:
                with engine.connect() as conn:
                    standing = roles.standing(conn)
        except DBAPIError as exc:
            raise (db.forbidden(url, exc) or db.unavailable(url, exc)) from None
        except Exception as exc:  # noqa: BLE001 - reported as unavailable
            raise db.unavailable(url, exc) from None
    return Status(db.shown_url(url), engine.dialect.name, current, db.head_revision(), triggers, standing)


def roles_sql(schema: str = "public", *, grants: bool = False) -> str:
    """The SQL that sets up an office's PostgreSQL roles (for a superuser, before ``db upgrade``),
    or with ``grants`` what ``db upgrade`` grants them on this version's tables (for review)."""
    if not grants:
        return roles.create_roles_sql(schema)
    names = sorted(set(tables.SQLModel.metadata.tables) | {"alembic_version"})
    return "-- applied by `icv-permits db upgrade` (as the owner) whenever the roles exist:\n" + roles.grants_sql(schema, names)


def open_store(url: str | None = None):
    """The office's store (SQLite by default, ``ICV_PERMITS_DATABASE_URL`` otherwise), schema checked."""
    return db.open_store(url)


def sqlite_folder(url: str | None = None) -> Path | None:
    """The folder of the configured database (or ``url``) when it is an SQLite file; ``None`` for
    PostgreSQL or an in-memory database."""
    path = db._sqlite_file(url or db.database_url())
    return path.parent if path is not None else None
