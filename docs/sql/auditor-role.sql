-- Read-only access to the decision log for auditors (PostgreSQL).
-- Run once per office database, as the role that owns the icv-permits tables (or a superuser),
-- after `icv-permits db upgrade`. Replace the schema name if the tables are not in "public".
--
--   psql "$DATABASE" -v schema=public -f docs/sql/auditor-role.sql
--
-- Auditors then log in with their own role:  CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE icv_auditor;
\if :{?schema}
\else
  \set schema public
\endif
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'icv_auditor') THEN
    CREATE ROLE icv_auditor NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA :"schema" TO icv_auditor;
GRANT SELECT ON :"schema".decision_log, :"schema".log_head, :"schema".pack_snapshot, :"schema".alembic_version TO icv_auditor;
-- no INSERT, UPDATE, DELETE or TRUNCATE: the role can read and verify, never write. Even the
-- owner's UPDATE/DELETE/TRUNCATE are refused by the triggers of migration 0002; only an owner
-- who first disables those triggers (ALTER TABLE … DISABLE TRIGGER) can alter the log, and
-- `icv-permits audit verify` shows any such change.
