"""PostgreSQL roles of an office: who may do what to the store, enforced by the server.

- **owner** (``icv_owner``, a login role): owns the tables and the log's functions; runs
  ``icv-permits db upgrade`` and ``audit import`` and nothing else. It could disable the log's
  triggers — which ``audit verify`` reports — so nobody works under it day to day.
- **office** (``icv_office``, a group: every clerk and regulator logs in with an own role that is a
  member): reads everything; writes the office tables; appends to the decision log only through
  ``icv_log_append`` (SECURITY DEFINER, migration 0004), which records ``session_user`` as the actor
  and the server's clock as the time. No INSERT, UPDATE or DELETE on the log or its head, no
  ALTER TABLE, so no trigger can be disabled.
- **auditor** (``icv_auditor``, a group): SELECT on every table, nothing else: verify, replay,
  explain, reconcile, export.

:func:`create_roles_sql` is run once by a superuser (or a role with CREATEROLE);
:func:`grants_sql` by the owner after every migration — ``db upgrade`` does it whenever the roles
exist, so a new table never stays unguarded. ``icv-permits db roles`` prints both.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

OWNER, OFFICE, AUDITOR = "icv_owner", "icv_office", "icv_auditor"

LOG_TABLES = ("decision_log", "log_head", "pack_snapshot", "alembic_version")
OFFICE_UPDATES = ("entity", "vehicle", "driver", "submission", "notice", "plate", "counter", "draft")
"""The office tables whose rows the workflow changes in place; the others only grow."""
OFFICE_DELETES = ("draft",)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_roles_sql(schema: str = "public") -> str:
    """The three roles (each created only if missing), and the owner's right to create tables in
    ``schema``. For a superuser, once per cluster and database."""
    s = _ident(schema)
    return f"""-- icv-permits roles: run once as a superuser (or a role with CREATEROLE), then `icv-permits db upgrade` as {OWNER}.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OWNER}') THEN CREATE ROLE {OWNER} LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{OFFICE}') THEN CREATE ROLE {OFFICE} NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{AUDITOR}') THEN CREATE ROLE {AUDITOR} NOLOGIN; END IF;
END $$;
GRANT USAGE, CREATE ON SCHEMA {s} TO {OWNER};
-- Set the owner's password (\\password {OWNER}); give each person an own login in one group:
--   CREATE ROLE zhang_wei LOGIN PASSWORD '…' IN ROLE {OFFICE};
--   CREATE ROLE li_na LOGIN PASSWORD '…' IN ROLE {AUDITOR};
"""


def grants_sql(schema: str, tables: list[str]) -> str:
    """What the office and auditor roles may do to ``tables`` of ``schema``: everything revoked
    first, then granted again (idempotent)."""
    s = _ident(schema)
    office_tables = [t for t in tables if t not in LOG_TABLES]
    lines = [
        f"GRANT USAGE ON SCHEMA {s} TO {OFFICE}, {AUDITOR};",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {OFFICE}, {AUDITOR};",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {OFFICE}, {AUDITOR};",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {OFFICE}, {AUDITOR};",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {OFFICE};",
        f"GRANT INSERT ON {s}.pack_snapshot TO {OFFICE};",
        f"REVOKE ALL ON FUNCTION {s}.icv_log_append(text, text, text) FROM PUBLIC;",
        f"GRANT EXECUTE ON FUNCTION {s}.icv_log_append(text, text, text) TO {OFFICE};",
    ]
    for t in office_tables:
        verbs = ["INSERT"] + (["UPDATE"] if t in OFFICE_UPDATES else []) + (["DELETE"] if t in OFFICE_DELETES else [])
        lines.append(f"GRANT {', '.join(verbs)} ON {s}.{_ident(t)} TO {OFFICE};")
    return "\n".join(lines) + "\n"


def existing(conn: Connection) -> set[str]:
    """Which of the office's group roles exist in this cluster."""
    return set(conn.execute(text("SELECT rolname FROM pg_roles WHERE rolname IN (:a, :b)"), {"a": OFFICE, "b": AUDITOR}).scalars())


def _tables(conn: Connection) -> list[str]:
    return sorted(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars())


def apply_grants(conn: Connection) -> list[str]:
    """Grant the office and auditor roles their rights on this schema's tables, when both roles
    exist (PostgreSQL only); returns the roles granted to (none where roles are not set up)."""
    if conn.dialect.name != "postgresql" or existing(conn) != {OFFICE, AUDITOR}:
        return []
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    for statement in grants_sql(schema, _tables(conn)).splitlines():
        conn.exec_driver_sql(statement)
    return [OFFICE, AUDITOR]


@dataclass(frozen=True)
class Standing:
    """Who this connection is, as far as the log's protection goes."""

    user: str
    kind: str  # owner | office | auditor | other | superuser
    roles_set_up: bool  # the office and auditor roles exist

    def to_json(self) -> dict:
        return {"user": self.user, "kind": self.kind, "roles_set_up": self.roles_set_up}


def standing(conn: Connection) -> Standing:
    """The connected role: a superuser, the owner of the log's table, a member of the office or
    auditor group, or none of these."""
    user, superuser = conn.execute(text("SELECT session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)")).one()
    set_up = existing(conn) == {OFFICE, AUDITOR}
    owner = conn.execute(text("SELECT pg_has_role(session_user, tableowner, 'USAGE') FROM pg_tables "
                              "WHERE schemaname = current_schema() AND tablename = 'decision_log'")).scalar()
    if superuser:
        kind = "superuser"
    elif owner:
        kind = "owner"
    elif set_up and conn.execute(text(f"SELECT pg_has_role(session_user, '{OFFICE}', 'USAGE')")).scalar():
        kind = "office"
    elif set_up and conn.execute(text(f"SELECT pg_has_role(session_user, '{AUDITOR}', 'USAGE')")).scalar():
        kind = "auditor"
    else:
        kind = "other"
    return Standing(str(user), kind, set_up)
