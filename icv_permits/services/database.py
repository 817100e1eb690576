"""The store's database: create or migrate it, and say which one is used and how current it is."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from icv_permits.adapters.store import db, personal, roles, tables
from icv_permits.core.errors import InputError, Problem
from icv_permits.core.i18n import N_


@dataclass(frozen=True)
class Upgraded:
    url: str  # as shown (no password)
    before: str | None
    after: str
    key: personal.KeySettled  # what was done about the office's secret key
    triggers_restored: tuple = ()  # the triggers (the log's, the office's) put back now
    granted: tuple = ()  # the PostgreSQL roles given their rights now (none without roles)
    head: object = None  # the log's head row put back now, or left missing with records (adapters/store/head.py)

    @property
    def key_created(self) -> Path | None:
        """The secret key file made now, if one was."""
        return self.key.source.path if self.key.action == "created" else None


@dataclass(frozen=True)
class KeyStatus:
    """Where the office key comes from — never the key itself: its source, the fingerprint that
    names it (the same on every workstation of an office), and what is wrong with it, if anything
    (``problem``: ``missing``, ``beside_database``, ``unreadable``)."""

    source: personal.KeySource
    fingerprint: str | None
    problem: str | None
    legacy: Path | None  # a key file an older version left beside the default database
    scheme: str  # how new lookups are made (personal.KDF)

    def to_json(self) -> dict:
        return {**self.source.to_json(), "fingerprint": self.fingerprint, "problem": self.problem,
                "legacy_file": str(self.legacy) if self.legacy else None, "lookup_scheme": self.scheme}


@dataclass(frozen=True)
class Status:
    url: str  # as shown (no password)
    backend: str
    schema: str | None  # None: not created yet
    head: str
    triggers: tuple = ()  # the triggers (the log's, the office's) missing, disabled or altered
    standing: object = None  # PostgreSQL: who this connection is (roles.Standing)
    key: KeyStatus | None = None
    tables_missing: tuple = ()  # tables of the schema the database lacks (dropped behind the migrations' back)

    @property
    def schema_current(self) -> bool:
        return self.schema == self.head

    @property
    def up_to_date(self) -> bool:
        return self.schema == self.head and not self.triggers and not self.tables_missing

    @property
    def newer_than_this_version(self) -> bool:
        return self.schema is not None and self.schema not in db.known_revisions()

    def to_json(self) -> dict:
        return {"url": self.url, "backend": self.backend, "schema": self.schema, "head": self.head, "up_to_date": self.up_to_date,
                "triggers": [p.to_json() for p in self.triggers], "tables_missing": list(self.tables_missing),
                "role": self.standing.to_json() if self.standing is not None else None,
                "guarantees": self.guarantees, "key": self.key.to_json() if self.key is not None else None}

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
    """Create or migrate the configured database to this version's schema, and settle the office's
    secret key: refused beside the SQLite database, moved from there if an older version left it
    there, created for the default database only (another database — an office's — uses the key
    its administrator made with ``db keygen`` and gave every workstation)."""
    url = db.database_url()
    key = personal.settle_key(url, default_database=not os.environ.get(db.URL_ENV))
    before, after, restored, granted, head = db.upgrade_reporting()
    return Upgraded(db.shown_url(url), before, after, key, tuple(restored), tuple(granted), head)


KEY_ENV, KEY_FILE_ENV = personal.KEY_ENV, personal.KEY_FILE_ENV  # the office key, or the file holding it


def default_key_file() -> Path:
    """Where the key lives unless configured: the user's configuration folder, never the data folder."""
    return personal.default_key_file()


def key_status(url: str | None = None) -> KeyStatus:
    """Where the key comes from and whether it can be used with the database ``url``; reads the key
    only to name it by its fingerprint."""
    url = url or db.database_url()
    src = personal.key_source()
    legacy = personal.legacy_key_file()
    legacy = legacy if legacy.exists() and (src.path is None or legacy.resolve() != src.path.resolve()) else None
    fingerprint = problem = None
    if src.path is not None and personal.beside_database(src.path, url) is not None:
        problem = "beside_database"
    elif src.kind == "none":
        problem = "missing"
    else:
        try:
            fingerprint = personal.Keys.load(url).fingerprint
        except InputError:
            problem = "unreadable"
    return KeyStatus(src, fingerprint, problem, legacy, personal.KDF.scheme)


def keygen(out: str) -> Path | str:
    """A new office key: written to the file ``out`` (owner-only; never over an existing file, never
    beside the SQLite database), or returned as text when ``out`` is ``-`` (for a secret manager)."""
    if out == "-":
        return personal.new_key_text()
    path = Path(out).expanduser()
    personal.refuse_beside_database(path, db.database_url())
    try:
        return personal.write_key_file(path)
    except FileExistsError:
        raise InputError([Problem(str(path), N_("a file is already there: a key is never overwritten (the records made with it would no longer be recognised); choose another path"),
                                  {}, "key_exists")]) from None


def status() -> Status:
    """Which database is configured and its schema revision, without creating an empty file."""
    url = db.database_url()
    path = db._sqlite_file(url)
    engine = db._engine(url)
    triggers: tuple = ()
    missing: tuple = ()
    standing = None
    if path is not None and not path.exists():
        current = None  # not created yet: say so without creating an empty file
    else:
        try:
            current = db.current_revision(engine)
            triggers = tuple(db.trigger_problems(engine)) if current is not None else ()
            missing = tuple(db.missing_tables(engine)) if current is not None else ()
            if engine.dialect.name == "postgresql" and current is not None:
                with engine.connect() as conn:
                    standing = roles.standing(conn)
        except DBAPIError as exc:
            raise (db.forbidden(url, exc) or db.unavailable(url, exc)) from None
        except Exception as exc:  # noqa: BLE001 - reported as unavailable
            raise db.unavailable(url, exc) from None
    return Status(db.shown_url(url), engine.dialect.name, current, db.head_revision(), triggers, standing, key_status(url), missing)


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
