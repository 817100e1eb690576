"""The triggers that keep records as they were written: what they must be, which are missing,
disabled or altered, and how to put them back.

Two groups (``Trigger.guards``):

- ``log``: migrations 0002 and 0004 keep the decision log append-only: no UPDATE or DELETE of a
  record or a pack snapshot, a record only after the head, the head moved only to the next record;
- ``office``: migration 0005 keeps what the office issued as it was issued. ``submission_version``,
  ``engine_run``, ``review``, ``notice_vehicle`` and ``notice_driver`` are append-only; a ``notice``
  is never deleted and changes in place only as superseding changes it (status ``active`` →
  ``superseded``, ``valid_until`` never later than before, nothing else); a ``plate`` is never
  deleted and changes only by a ``valid_until`` no later than before. On PostgreSQL ``TRUNCATE`` of
  each is refused too. Nothing in the workflow does more (``services/office.py``: ``_issue`` is the
  only UPDATE of a notice or a plate).

An owner of the tables can drop or disable them (to change the log or the office's records without a
trace), so ``audit verify`` and ``db status`` look for each one, and ``db upgrade`` restores any that
is not as the migrations made it (idempotent: nothing is done when all are in place). The office
group is expected only once the schema has reached 0005, so a database migrated to an earlier
revision is not told its triggers are missing. The statements here are the migrations' own,
repeated: ``tests/test_audit_insider.py`` and ``tests/test_audit_reconcile.py`` prove a migrated
database has exactly these. On SQLite the office's in-place triggers name the columns they keep (a
column added to ``notice`` or ``plate`` later must be added to them by its migration); on PostgreSQL
their functions compare the whole row."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLES = ("decision_log", "pack_snapshot", "log_head")

_APPEND_ONLY_BODY = """
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
            END """

_IN_ORDER_BODY = """
            BEGIN
              IF NOT EXISTS (SELECT 1 FROM log_head h WHERE h.id = 1 AND h.seq + 1 = NEW.seq AND h.hash = NEW.prev_hash) THEN
                RAISE EXCEPTION 'decision_log is append-only: a record must follow the head' USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END """

_HEAD_BODY = """
            BEGIN
              IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1
                 OR NOT EXISTS (SELECT 1 FROM decision_log d WHERE d.seq = NEW.seq AND d.hash = NEW.hash) THEN
                RAISE EXCEPTION 'log_head moves only to the next record: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END """

# ---------------------------------------------------------------- the office's group (migration 0005)

OFFICE_APPEND_ONLY = ("submission_version", "engine_run", "review", "notice_vehicle", "notice_driver")
OFFICE_SINCE = "0005"  # the migration that makes the office's group

_OFFICE_BODY = """
            BEGIN
              RAISE EXCEPTION '% refused on %: what the office issued is kept as it was issued', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END """

_NOTICE_BODY = """
            BEGIN
              IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION '% refused on notice: an issued notice is never removed', TG_OP USING ERRCODE = 'insufficient_privilege';
              END IF;
              IF NOT COALESCE((to_jsonb(NEW) - 'status' - 'valid_until') = (to_jsonb(OLD) - 'status' - 'valid_until')
                              AND (NEW.status = OLD.status OR (OLD.status = 'active' AND NEW.status = 'superseded'))
                              AND NEW.valid_until <= OLD.valid_until, false) THEN
                RAISE EXCEPTION 'UPDATE refused on notice %: an issued notice changes only when it is superseded (status active to superseded, valid_until no later)', OLD.number USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END """

_PLATE_BODY = """
            BEGIN
              IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION '% refused on plate: an issued plate is never removed', TG_OP USING ERRCODE = 'insufficient_privilege';
              END IF;
              IF NOT COALESCE((to_jsonb(NEW) - 'valid_until') = (to_jsonb(OLD) - 'valid_until') AND NEW.valid_until <= OLD.valid_until, false) THEN
                RAISE EXCEPTION 'UPDATE refused on plate %: an issued plate changes only by a valid_until no later', OLD.number USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END """

# SQLite: the columns an in-place UPDATE must leave as they are, and what may change
NOTICE_KEPT = ("id", "number", "entity_id", "submission_id", "version_id", "kind", "issued", "valid_from", "sections",
               "configurations", "replaces_id", "created_at")
PLATE_KEPT = ("id", "number", "notice_id", "vehicle_id", "valid_from", "renews_id", "issued_at")
_SHORTER = "NEW.valid_until <= OLD.valid_until AND typeof(NEW.valid_until) = typeof(OLD.valid_until)"
_NOTICE_RULE = "(NEW.status IS OLD.status OR (OLD.status = 'active' AND NEW.status = 'superseded'))"
_WHY = {"notice": "an issued notice changes only when it is superseded (status active to superseded, valid_until no later)",
        "plate": "an issued plate changes only by a valid_until no later"}

PG_FUNCTIONS = {
    "icv_append_only": _APPEND_ONLY_BODY,
    "icv_log_in_order": _IN_ORDER_BODY,
    "icv_head_follows_log": _HEAD_BODY,
    "icv_office_append_only": _OFFICE_BODY,
    "icv_notice_in_place": _NOTICE_BODY,
    "icv_plate_in_place": _PLATE_BODY,
}
"""PostgreSQL trigger functions by name, with their bodies as the migrations wrote them."""



def _pg_function_sql(name: str) -> str:
    return f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${PG_FUNCTIONS[name]}$$"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    sql: str  # how the migration creates it
    events: frozenset[str] = frozenset()  # PostgreSQL: the events it fires on
    level: str = "row"  # PostgreSQL: row | statement
    function: str = ""  # PostgreSQL: the trigger function
    guards: str = "log"  # log | office


@dataclass(frozen=True)
class TriggerProblem:
    trigger: str
    table: str
    state: str  # missing | disabled | altered
    guards: str = "log"  # log | office

    def to_json(self) -> dict:
        return {"trigger": self.trigger, "table": self.table, "state": self.state, "guards": self.guards}


def _sqlite_refuse(table: str, verb: str) -> Trigger:
    name = f"{table}_no_{verb.lower()}"
    return Trigger(name, table, f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")


def _pg(name: str, table: str, events: tuple[str, ...], level: str, function: str, guards: str = "log") -> Trigger:
    when = " OR ".join(events)
    return Trigger(name, table, f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH {level.upper()} EXECUTE FUNCTION {function}()",
                   frozenset(e.lower() for e in events), level, function, guards)


def _log(dialect: str) -> list[Trigger]:
    """The triggers migrations 0002 and 0004 create on ``dialect`` (exactly their statements)."""
    if dialect == "sqlite":
        out = [_sqlite_refuse(table, verb) for table in ("decision_log", "pack_snapshot") for verb in ("UPDATE", "DELETE")]
        out += [
            Trigger("decision_log_in_order", "decision_log",
                    "CREATE TRIGGER decision_log_in_order BEFORE INSERT ON decision_log "
                    "WHEN NEW.seq IS NOT (SELECT seq + 1 FROM log_head WHERE id = 1) OR NEW.prev_hash IS NOT (SELECT hash FROM log_head WHERE id = 1) "
                    "BEGIN SELECT RAISE(ABORT, 'decision_log is append-only: a record must follow the head'); END"),
            Trigger("log_head_follows_log", "log_head",
                    "CREATE TRIGGER log_head_follows_log BEFORE UPDATE ON log_head "
                    "WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1 OR NEW.hash IS NOT (SELECT hash FROM decision_log WHERE seq = NEW.seq) "
                    "BEGIN SELECT RAISE(ABORT, 'log_head moves only to the next record'); END"),
            Trigger("log_head_no_insert", "log_head",
                    "CREATE TRIGGER log_head_no_insert BEFORE INSERT ON log_head "
                    "BEGIN SELECT RAISE(ABORT, 'log_head is append-only: INSERT refused'); END"),
            Trigger("log_head_no_delete", "log_head",
                    "CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head "
                    "BEGIN SELECT RAISE(ABORT, 'log_head is append-only: DELETE refused'); END"),
        ]
        return out
    out = []
    for table in ("decision_log", "pack_snapshot"):
        out.append(_pg(f"{table}_append_only", table, ("UPDATE", "DELETE"), "row", "icv_append_only"))
        out.append(_pg(f"{table}_no_truncate", table, ("TRUNCATE",), "statement", "icv_append_only"))
    out.append(_pg("decision_log_in_order", "decision_log", ("INSERT",), "row", "icv_log_in_order"))
    out.append(_pg("log_head_follows_log", "log_head", ("INSERT", "UPDATE", "DELETE"), "row", "icv_head_follows_log"))
    out.append(_pg("log_head_no_truncate", "log_head", ("TRUNCATE",), "statement", "icv_append_only"))
    return out


def sqlite_in_place(table: str) -> str:
    """The SQLite trigger that refuses an UPDATE of ``notice`` or ``plate`` beyond superseding."""
    kept = NOTICE_KEPT if table == "notice" else PLATE_KEPT
    rule = " AND ".join([f"NEW.{c} IS OLD.{c}" for c in kept] + ([_NOTICE_RULE] if table == "notice" else []) + [_SHORTER])
    return (f"CREATE TRIGGER {table}_in_place BEFORE UPDATE ON {table} WHEN NOT COALESCE({rule}, 0) "
            f"BEGIN SELECT RAISE(ABORT, 'UPDATE refused on {table}: {_WHY[table]}'); END")


def _office(dialect: str) -> list[Trigger]:
    """The triggers migration 0005 creates on ``dialect`` (exactly its statements)."""
    out = []
    if dialect == "sqlite":
        for table in OFFICE_APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                name = f"{table}_no_{verb.lower()}"
                out.append(Trigger(name, table, f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                                                f"BEGIN SELECT RAISE(ABORT, '{verb} refused on {table}: what the office issued is kept as it was issued'); END",
                                   guards="office"))
        for table in ("notice", "plate"):
            out.append(Trigger(f"{table}_no_delete", table, f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                                                            f"BEGIN SELECT RAISE(ABORT, 'DELETE refused on {table}: an issued {table} is never removed'); END",
                               guards="office"))
            out.append(Trigger(f"{table}_in_place", table, sqlite_in_place(table), guards="office"))
        return out
    for table in OFFICE_APPEND_ONLY:
        out.append(_pg(f"{table}_append_only", table, ("UPDATE", "DELETE"), "row", "icv_office_append_only", "office"))
        out.append(_pg(f"{table}_no_truncate", table, ("TRUNCATE",), "statement", "icv_office_append_only", "office"))
    for table in ("notice", "plate"):
        out.append(_pg(f"{table}_in_place", table, ("UPDATE", "DELETE"), "row", f"icv_{table}_in_place", "office"))
        out.append(_pg(f"{table}_no_truncate", table, ("TRUNCATE",), "statement", "icv_office_append_only", "office"))
    return out


def expected(dialect: str, *, office: bool = True) -> list[Trigger]:
    """The triggers the migrations create on ``dialect``: the log's (0002, 0004) and, with
    ``office``, the office's (0005)."""
    return _log(dialect) + (_office(dialect) if office else [])


def office_expected(conn: Connection) -> bool:
    """Whether the schema has reached the migration that makes the office's group (a revision this
    version does not know is newer, so it has)."""
    from sqlalchemy import inspect

    from icv_permits.adapters.store.db import REVISIONS

    if not inspect(conn).has_table("alembic_version"):
        return False
    rows = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    earlier = set(REVISIONS[:REVISIONS.index(OFFICE_SINCE)])
    return any(r not in earlier for r in rows)


def _norm(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip().rstrip(";").strip().lower()


_PG_DEF = re.compile(r"create trigger \S+ before (.+?) on \S+ for each (row|statement) execute function (\S+)$")


def problems(conn: Connection) -> list[TriggerProblem]:
    """Each expected trigger that is missing, disabled (PostgreSQL: ``tgenabled`` 'D', or 'R': fires
    only for replication) or not as the migration made it (another statement, another function, or
    a function that no longer does what it did)."""
    dialect = conn.dialect.name
    wanted = expected(dialect, office=office_expected(conn))
    out = []
    if dialect == "sqlite":
        found = {name: (table, sql) for name, table, sql in
                 conn.execute(text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))}
        for trig in wanted:
            if trig.name not in found:
                out.append(TriggerProblem(trig.name, trig.table, "missing", trig.guards))
            elif found[trig.name][0] != trig.table or _norm(found[trig.name][1]) != _norm(trig.sql):
                out.append(TriggerProblem(trig.name, trig.table, "altered", trig.guards))
        return out
    rows = conn.execute(text(
        "SELECT t.tgname, c.relname, t.tgenabled, p.proname, p.prosrc, pg_get_triggerdef(t.oid) "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())")).all()
    found = {(r[0], r[1]): r for r in rows}
    for trig in wanted:
        row = found.get((trig.name, trig.table))
        if row is None:
            out.append(TriggerProblem(trig.name, trig.table, "missing", trig.guards))
            continue
        enabled = str(row[2]) in ("O", "A")
        m = _PG_DEF.match(_norm(row[5]))
        same = (m is not None and set(m.group(1).split(" or ")) == trig.events and m.group(2) == trig.level
                and m.group(3).split(".")[-1] == f"{trig.function}()"
                and row[3] == trig.function and _norm(row[4]) == _norm(PG_FUNCTIONS[trig.function]))
        if not same:
            out.append(TriggerProblem(trig.name, trig.table, "altered", trig.guards))
        elif not enabled:
            out.append(TriggerProblem(trig.name, trig.table, "disabled", trig.guards))
    return out


def restore(conn: Connection) -> list[TriggerProblem]:
    """Recreate every trigger that is missing, disabled or altered (and its function); returns what
    was restored."""
    todo = problems(conn)
    if not todo:
        return []
    dialect = conn.dialect.name
    by_name = {t.name: t for t in expected(dialect)}
    if dialect != "sqlite":
        for name in sorted({by_name[p.trigger].function for p in todo}):
            conn.execute(text(_pg_function_sql(name)))
    for p in todo:
        trig = by_name[p.trigger]
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trig.name}" + ("" if dialect == "sqlite" else f" ON {trig.table}"))
        conn.exec_driver_sql(trig.sql)
    return todo
