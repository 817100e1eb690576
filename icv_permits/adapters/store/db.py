"""Where the store lives and how to open it.

``ICV_PERMITS_DATABASE_URL`` chooses the database: an SQLAlchemy URL such as
``postgresql+psycopg://user:pass@host/db`` for a regulator's office, or ``sqlite:///path``. Without
it, an SQLite file ``icv-permits.db`` in the user data directory (platformdirs) is used.

Every command but ``db upgrade`` first checks that the database's schema is exactly the one this
version of the tool knows (Alembic's head) and refuses otherwise (exit 2).
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from icv_permits.core.errors import InputError, LogBroken, Problem
from icv_permits.core.i18n import N_

URL_ENV = "ICV_PERMITS_DATABASE_URL"
DATA_DIR_ENV = "ICV_PERMITS_DATA_DIR"
MIGRATIONS = Path(__file__).parent / "migrations"

EXIT_NOT_FOUND = 4
EXIT_CONFLICT = 5
EXIT_UNAVAILABLE = 6
EXIT_FORBIDDEN = 7


class NotFound(InputError):
    """Exit 4: no such submission, notice or entity."""

    exit_code = EXIT_NOT_FOUND


class Conflict(InputError):
    """Exit 5: someone else changed it first, or its state does not allow this."""

    exit_code = EXIT_CONFLICT


class Broken(LogBroken):
    """Exit 4: what the log holds is not what was recorded (a pack snapshot that fails its revision)."""


class Unavailable(InputError):
    """Exit 6: the database cannot be reached."""

    exit_code = EXIT_UNAVAILABLE


class Forbidden(InputError):
    """Exit 7: the database refused this to the connected role (an auditor submitting, an office
    login altering the log or migrating): nothing was written."""

    exit_code = EXIT_FORBIDDEN


def forbidden(url: str, exc: DBAPIError) -> Forbidden | None:
    """A :class:`Forbidden` for a refusal of privilege (SQLSTATE 42501: permission denied, must
    be owner, or one of the log's triggers refusing); ``None`` for any other error."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) != "42501":
        return None
    first = (str(orig).strip().splitlines() or [""])[0][:300]
    user = make_url(url).username or "—"
    return Forbidden([Problem(shown_url(url), N_("the database refused this to role {role}: {error_text}"), {"role": user, "error_text": first}, "forbidden")])


def altered(url: str, exc: DBAPIError) -> Unavailable | None:
    """An :class:`Unavailable` for a table or column that is not there (SQLite's "no such table",
    PostgreSQL's SQLSTATE 42P01 and 42703): a database changed behind the migrations' back, which
    ``db status`` describes; ``None`` for any other error."""
    orig = getattr(exc, "orig", None)
    first = (str(orig or exc).strip().splitlines() or [""])[0][:300]
    if getattr(orig, "sqlstate", None) not in ("42P01", "42703") and not first.startswith(("no such table", "no such column")):
        return None
    return Unavailable([Problem(shown_url(url), N_("the database is not as its migrations made it ({error_text}): `icv-permits db status` shows what differs"),
                                {"error_text": first}, "altered")])


MAX_ROW_ID = 2**31 - 1
"""The largest id or sequence number a row can have: both backends store them as INTEGER, whose
PostgreSQL range ends here (SQLite's at 2**63 − 1)."""


def row_id(value: int, field: str, msgid: str, code: str) -> int:
    """``value`` if a row could have it as its id or sequence number; otherwise :class:`NotFound`
    (``field``: the message) before any query — a larger number overflows the driver or the
    column type."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROW_ID:
        raise NotFound([Problem(field, msgid, {"value": str(value)[:40]}, code)])
    return value


def insert_missing(s, table, values: dict, keys: list[str]) -> None:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` on SQLite and PostgreSQL: creates a row unless it
    exists, without the race of a look-up followed by an insert (two offices' clerks submitting
    for the same new entity at once)."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    s.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=keys))


def data_dir() -> Path:
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    from platformdirs import user_data_dir

    return Path(user_data_dir("icv-permits", appauthor=False))


def database_url() -> str:
    return os.environ.get(URL_ENV) or f"sqlite:///{data_dir() / 'icv-permits.db'}"


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("icv_immediate", default=False)


def _sqlite_setup(engine: Engine) -> None:
    """Foreign keys on, WAL, a busy timeout; write transactions begin IMMEDIATE (take the write
    lock before reading, so a read-check-write sequence cannot interleave with another writer)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception:  # noqa: BLE001 - e.g. a read-only file system: keep the default journal
            pass
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


_ENGINES: dict[str, Engine] = {}


def _engine(url: str) -> Engine:
    if url not in _ENGINES:
        _ENGINES[url] = _new_engine(url)
    return _ENGINES[url]


def _new_engine(url: str) -> Engine:
    try:
        u = make_url(url)
    except ArgumentError:
        raise InputError([Problem(URL_ENV, N_("not a database URL: {value}"), {"value": shown_url(url)}, "bad_url")]) from None
    if u.drivername.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_setup(engine)
        return engine
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif not u.drivername.startswith("postgresql"):
        raise InputError([Problem(URL_ENV, N_("unsupported database {value}: use sqlite:/// or postgresql+psycopg://"),
                                  {"value": u.drivername}, "bad_url")])
    try:
        # UTF-8 whatever PGCLIENTENCODING or the URL says: the log's hashes are over UTF-8 bytes,
        # which verify reads as the server sends them, and the text is Chinese
        return create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": 10, "client_encoding": "utf8"})
    except (ImportError, ArgumentError) as exc:
        raise InputError([Problem(URL_ENV, N_("cannot use {value}: {error_text}"), {"value": shown_url(url), "error_text": str(exc)[:200]}, "bad_url")]) from None


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return cfg


REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
"""The migrations this version ships, oldest first (``tests/test_store_cli.py`` checks them against
Alembic's scripts). Opening a store compares its ``alembic_version`` with the last one directly,
so the commands that only read or write records never import Alembic (about 0.2 s)."""


def head_revision() -> str:
    return REVISIONS[-1]


def known_revisions() -> set[str]:
    return set(REVISIONS)


def unavailable(url: str, exc: Exception) -> Unavailable:
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    return Unavailable([Problem(shown_url(url), N_("cannot reach the database: {error_text}"), {"error_text": first}, "unavailable")])


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database (``None``: not migrated), as Alembic records it."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    if len(rows) > 1:
        raise OperationalError("SELECT version_num FROM alembic_version", None, Exception("several schema heads recorded"))
    return rows[0] if rows else None


class Store:
    """An opened store: an engine whose schema has been checked."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as s:
                yield s
        except DBAPIError as exc:
            refused = forbidden(self.url, exc) or altered(self.url, exc)
            if refused is None:
                raise
            raise refused from None

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """This store seen through one read transaction: every read through the store it yields
        sees the database as it was at the first one (PostgreSQL: REPEATABLE READ, read only; SQLite:
        one read transaction, a snapshot in WAL mode). For reading the log and the tables that must
        agree with it while the office keeps working: a decision committed meanwhile is in neither."""
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield Store(conn, self.url)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        token = _immediate.set(True)
        try:
            with Session(self.engine, expire_on_commit=False) as s:
                try:
                    yield s
                    s.commit()
                except BaseException:
                    s.rollback()
                    raise
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise Conflict([Problem("", N_("the database is busy with another change; try again"), {}, "busy")]) from None
            raise altered(self.url, exc) or unavailable(self.url, exc) from None
        except DBAPIError as exc:
            refused = forbidden(self.url, exc) or altered(self.url, exc)
            if refused is None:
                raise
            raise refused from None
        finally:
            _immediate.reset(token)


def _sqlite_file(url: str) -> Path | None:
    try:
        u = make_url(url)
    except ArgumentError:
        return None
    if u.drivername.startswith("sqlite") and u.database and u.database != ":memory:" and not u.database.startswith("file:"):
        return Path(u.database)
    return None


def _not_migrated(url: str) -> InputError:
    return InputError([Problem(shown_url(url), N_("the database has no icv-permits tables yet: run `icv-permits db upgrade` first"), {}, "not_migrated")])


def open_store(url: str | None = None, *, check_schema: bool = True) -> Store:
    url = url or database_url()
    path = _sqlite_file(url)
    if check_schema and path is not None and not path.exists():
        raise _not_migrated(url)  # never create an empty database file just to refuse it
    engine = _engine(url)
    if check_schema:
        try:
            current = current_revision(engine)
        except DBAPIError as exc:
            raise (forbidden(url, exc) or unavailable(url, exc)) from None
        except SQLAlchemyError as exc:
            raise unavailable(url, exc) from None
        head = head_revision()
        if current is None:
            raise _not_migrated(url)
        if current != head:
            if current in known_revisions():
                raise InputError([Problem(shown_url(url), N_("the database schema is at {current}, older than {head}: run `icv-permits db upgrade`"),
                                          {"current": current, "head": head}, "schema_old")])
            raise InputError([Problem(shown_url(url), N_("the database schema {current} is newer than this icv-permits knows ({head}): upgrade icv-permits"),
                                      {"current": current, "head": head}, "schema_new")])
    return Store(engine, url)


def upgrade(url: str | None = None, revision: str = "head") -> tuple[str | None, str]:
    """Apply migrations and put back any trigger missing (the log's, and the office's of migration
    0005); returns (revision before, revision after)."""
    before, after, _, _, _ = upgrade_reporting(url, revision)
    return before, after


def upgrade_reporting(url: str | None = None, revision: str = "head") -> tuple[str | None, str, list, list, object]:
    """:func:`upgrade`, also returning the triggers it restored, the roles granted their rights
    (PostgreSQL, when the office's roles exist: :mod:`.roles`) and what became of a missing log
    head (:func:`.head.restore`: put back only while the log is empty; ``None`` when it is there)."""
    from alembic import command

    from icv_permits.adapters.store import head as log_head
    from icv_permits.adapters.store import roles

    url = url or database_url()
    path = _sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError([Problem(str(path.parent), N_("cannot create the folder for the database: {error_text}"),
                                      {"error_text": exc.strerror or type(exc).__name__}, "bad_path")]) from None
    engine = _engine(url)
    try:
        before = current_revision(engine)
        if before is not None and before not in known_revisions():
            raise InputError([Problem(shown_url(url), N_("the database schema {current} is newer than this icv-permits knows ({head}): upgrade icv-permits"),
                                      {"current": before, "head": head_revision()}, "schema_new")])
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            restored = restore_triggers(conn)
            head = log_head.restore(conn)
            granted = roles.apply_grants(conn)
        return before, current_revision(engine), restored, granted, head
    except OperationalError as exc:
        raise unavailable(url, exc) from None
    except DBAPIError as exc:
        raise (forbidden(url, exc) or unavailable(url, exc)) from None


def restore_triggers(conn) -> list:
    """Put back the triggers (``triggers.py``: the log's, and the office's once the schema has them)
    where they are missing, disabled or altered (once the log's tables exist); nothing when they are
    all in place."""
    from icv_permits.adapters.store import triggers

    if not inspect(conn).has_table("decision_log"):
        return []
    return triggers.restore(conn)


def missing_tables(engine: Engine) -> list[str]:
    """The tables of this version's schema that the database lacks (a migrated database lacks
    none unless someone dropped one behind the migrations' back)."""
    from icv_permits.adapters.store.tables import metadata

    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
    return sorted(name for name in metadata.tables if name not in present)


def trigger_problems(engine: Engine) -> list:
    """The triggers (the log's, the office's) that are missing, disabled or altered (none before the
    log's tables exist)."""
    from icv_permits.adapters.store import triggers

    with engine.connect() as conn:
        if not inspect(conn).has_table("decision_log"):
            return []
        return triggers.problems(conn)


def forget_engines() -> None:
    """In a forked child: drop the parent's pooled connections without closing them."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose(close=False)


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a process forks)."""
    while _ENGINES:
        _ENGINES.popitem()[1].dispose()
