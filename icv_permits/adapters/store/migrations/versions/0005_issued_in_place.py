"""Notices and plates never change in place beyond what the workflow does (a notice superseded,
a validity shortened); never deleted. What records a submission's versions, engine runs, reviews
and a notice's vehicles and drivers is append-only.

Triggers, for every role including the owner (``icv_permits/adapters/store/triggers.py`` holds the
same statements, to find them missing, disabled or altered and to restore them):

- ``submission_version``, ``engine_run``, ``review``, ``notice_vehicle``, ``notice_driver``: no
  UPDATE, no DELETE;
- ``notice``: no DELETE; an UPDATE only from status ``active`` to ``superseded`` (or keeping the
  status) with ``valid_until`` no later than before, every other column unchanged — what ``_issue``
  does when a re-application supersedes a notice;
- ``plate``: no DELETE; an UPDATE only of ``valid_until``, no later than before — what ``_issue``
  does to the plates of a superseded notice;
- PostgreSQL: TRUNCATE of each refused; the functions raise ``insufficient_privilege`` as the log's
  ``icv_append_only`` does.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

APPEND_ONLY = ("submission_version", "engine_run", "review", "notice_vehicle", "notice_driver")
NOTICE_KEPT = ("id", "number", "entity_id", "submission_id", "version_id", "kind", "issued", "valid_from", "sections",
               "configurations", "replaces_id", "created_at")
PLATE_KEPT = ("id", "number", "notice_id", "vehicle_id", "valid_from", "renews_id", "issued_at")
SHORTER = "NEW.valid_until <= OLD.valid_until AND typeof(NEW.valid_until) = typeof(OLD.valid_until)"
NOTICE_WHY = "an issued notice changes only when it is superseded (status active to superseded, valid_until no later)"
PLATE_WHY = "an issued plate changes only by a valid_until no later"

PG_FUNCTIONS = {
    "icv_office_append_only": """
            BEGIN
              RAISE EXCEPTION '% refused on %: what the office issued is kept as it was issued', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
            END """,
    "icv_notice_in_place": """
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
            END """,
    "icv_plate_in_place": """
            BEGIN
              IF TG_OP <> 'UPDATE' THEN
                RAISE EXCEPTION '% refused on plate: an issued plate is never removed', TG_OP USING ERRCODE = 'insufficient_privilege';
              END IF;
              IF NOT COALESCE((to_jsonb(NEW) - 'valid_until') = (to_jsonb(OLD) - 'valid_until') AND NEW.valid_until <= OLD.valid_until, false) THEN
                RAISE EXCEPTION 'UPDATE refused on plate %: an issued plate changes only by a valid_until no later', OLD.number USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END """,
}


def _sqlite_triggers() -> list[tuple[str, str]]:
    out = []
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            name = f"{table}_no_{verb.lower()}"
            out.append((name, f"CREATE TRIGGER {name} BEFORE {verb} ON {table} "
                              f"BEGIN SELECT RAISE(ABORT, '{verb} refused on {table}: what the office issued is kept as it was issued'); END"))
    for table, kept, why in (("notice", NOTICE_KEPT, NOTICE_WHY), ("plate", PLATE_KEPT, PLATE_WHY)):
        out.append((f"{table}_no_delete", f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                                          f"BEGIN SELECT RAISE(ABORT, 'DELETE refused on {table}: an issued {table} is never removed'); END"))
        rule = [f"NEW.{c} IS OLD.{c}" for c in kept]
        if table == "notice":
            rule.append("(NEW.status IS OLD.status OR (OLD.status = 'active' AND NEW.status = 'superseded'))")
        rule.append(SHORTER)
        out.append((f"{table}_in_place", f"CREATE TRIGGER {table}_in_place BEFORE UPDATE ON {table} WHEN NOT COALESCE({' AND '.join(rule)}, 0) "
                                         f"BEGIN SELECT RAISE(ABORT, 'UPDATE refused on {table}: {why}'); END"))
    return out


def _pg_triggers() -> list[tuple[str, str, str]]:
    out = []
    for table in APPEND_ONLY:
        out.append((f"{table}_append_only", table, f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                                                   f"FOR EACH ROW EXECUTE FUNCTION icv_office_append_only()"))
        out.append((f"{table}_no_truncate", table, f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                                                  f"FOR EACH STATEMENT EXECUTE FUNCTION icv_office_append_only()"))
    for table in ("notice", "plate"):
        out.append((f"{table}_in_place", table, f"CREATE TRIGGER {table}_in_place BEFORE UPDATE OR DELETE ON {table} "
                                                f"FOR EACH ROW EXECUTE FUNCTION icv_{table}_in_place()"))
        out.append((f"{table}_no_truncate", table, f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                                                  f"FOR EACH STATEMENT EXECUTE FUNCTION icv_office_append_only()"))
    return out


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for _name, sql in _sqlite_triggers():
            op.execute(sql)
        return
    for name, body in PG_FUNCTIONS.items():
        op.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for _name, _table, sql in _pg_triggers():
        op.execute(sql)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name, _sql in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for name, table, _sql in _pg_triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for name in PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
