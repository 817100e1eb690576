"""The append-only triggers on the decision log's tables: what they must be, which are missing,
disabled or altered, and how to put them back.

Migration 0002 creates them; an owner can drop or disable them (to change the log without a trace),
so ``audit verify`` and ``db status`` look for each one, and ``db upgrade`` restores any that is not
as the migration made it (idempotent: nothing is done when all are in place)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLES = ("decision_log", "pack_snapshot")

PG_FUNCTION_BODY = """
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
            END """
PG_FUNCTION = f"CREATE OR REPLACE FUNCTION icv_append_only() RETURNS trigger LANGUAGE plpgsql AS $${PG_FUNCTION_BODY}$$"


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    sql: str  # how migration 0002 creates it


@dataclass(frozen=True)
class TriggerProblem:
    trigger: str
    table: str
    state: str  # missing | disabled | altered

    def to_json(self) -> dict:
        return {"trigger": self.trigger, "table": self.table, "state": self.state}


def expected(dialect: str) -> list[Trigger]:
    """The triggers migration 0002 creates on ``dialect`` (exactly its statements)."""
    out = []
    for table in TABLES:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                name = f"{table}_no_{verb.lower()}"
                out.append(Trigger(name, table, f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                                                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"))
        else:
            out.append(Trigger(f"{table}_append_only", table, f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                                              f"FOR EACH ROW EXECUTE FUNCTION icv_append_only()"))
            out.append(Trigger(f"{table}_no_truncate", table, f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                                                             f"FOR EACH STATEMENT EXECUTE FUNCTION icv_append_only()"))
    return out


def _norm(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip().rstrip(";").strip().lower()


def problems(conn: Connection) -> list[TriggerProblem]:
    """Each expected trigger that is missing, disabled (PostgreSQL: ``tgenabled`` 'D', or 'R': fires
    only for replication) or not as the migration made it (another statement, another function, or
    the function no longer refuses)."""
    dialect = conn.dialect.name
    out = []
    if dialect == "sqlite":
        found = {name: (table, sql) for name, table, sql in
                 conn.execute(text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"))}
        for trig in expected(dialect):
            if trig.name not in found:
                out.append(TriggerProblem(trig.name, trig.table, "missing"))
            elif found[trig.name][0] != trig.table or _norm(found[trig.name][1]) != _norm(trig.sql):
                out.append(TriggerProblem(trig.name, trig.table, "altered"))
        return out
    rows = conn.execute(text(
        "SELECT t.tgname, c.relname, t.tgenabled, p.proname, p.prosrc, pg_get_triggerdef(t.oid) "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE NOT t.tgisinternal AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())")).all()
    found = {(r[0], r[1]): r for r in rows}
    for trig in expected(dialect):
        row = found.get((trig.name, trig.table))
        if row is None:
            out.append(TriggerProblem(trig.name, trig.table, "missing"))
            continue
        enabled = str(row[2]) in ("O", "A")
        definition = _norm(row[5])
        m = re.match(r"create trigger \S+ before (.+?) on \S+ for each (row|statement) execute function (\S+)$", definition)
        events = ({"update", "delete"}, "row") if trig.name.endswith("_append_only") else ({"truncate"}, "statement")
        same = (m is not None and set(m.group(1).split(" or ")) == events[0] and m.group(2) == events[1]
                and m.group(3).split(".")[-1] == "icv_append_only()"
                and row[3] == "icv_append_only" and _norm(row[4]) == _norm(PG_FUNCTION_BODY))
        if not same:
            out.append(TriggerProblem(trig.name, trig.table, "altered"))
        elif not enabled:
            out.append(TriggerProblem(trig.name, trig.table, "disabled"))
    return out


def restore(conn: Connection) -> list[TriggerProblem]:
    """Recreate every trigger that is missing, disabled or altered; returns what was restored."""
    todo = problems(conn)
    if not todo:
        return []
    dialect = conn.dialect.name
    if dialect != "sqlite":
        conn.execute(text(PG_FUNCTION))
    by_name = {t.name: t for t in expected(dialect)}
    for p in todo:
        trig = by_name[p.trigger]
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trig.name}" + ("" if dialect == "sqlite" else f" ON {trig.table}"))
        conn.exec_driver_sql(trig.sql)
    return todo
