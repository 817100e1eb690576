"""The log appended by the database: a record must follow the head, the head moves only with a
record; on PostgreSQL an append function that takes the actor and the time from the server.

- ``decision_log`` refuses an INSERT whose ``seq`` is not the head's plus one or whose
  ``prev_hash`` is not the head's hash (no record slipped in mid-log or after a gap);
- ``log_head`` refuses INSERT, DELETE (and TRUNCATE) and every UPDATE but the step to a record
  that exists, one further on, with that record's hash (the tail cannot be cut by rewriting it);
- PostgreSQL: ``icv_log_append(kind, decision_id, body)``, SECURITY DEFINER, owned by the tables'
  owner: it locks the head, takes ``actor = session_user`` and ``recorded_at = clock_timestamp()``
  (read after the lock, so times follow the sequence), hashes the record exactly as
  :func:`icv_permits.core.log.record_hash` does, inserts it and moves the head. An office role
  granted EXECUTE on it and no INSERT on the log can append only through it.

The statements are repeated in :mod:`icv_permits.adapters.store.triggers`, which checks that they
are in place and restores them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE TRIGGER decision_log_in_order BEFORE INSERT ON decision_log "
    "WHEN NEW.seq IS NOT (SELECT seq + 1 FROM log_head WHERE id = 1) OR NEW.prev_hash IS NOT (SELECT hash FROM log_head WHERE id = 1) "
    "BEGIN SELECT RAISE(ABORT, 'decision_log is append-only: a record must follow the head'); END",
    "CREATE TRIGGER log_head_follows_log BEFORE UPDATE ON log_head "
    "WHEN NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq + 1 OR NEW.hash IS NOT (SELECT hash FROM decision_log WHERE seq = NEW.seq) "
    "BEGIN SELECT RAISE(ABORT, 'log_head moves only to the next record'); END",
    "CREATE TRIGGER log_head_no_insert BEFORE INSERT ON log_head "
    "BEGIN SELECT RAISE(ABORT, 'log_head is append-only: INSERT refused'); END",
    "CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head "
    "BEGIN SELECT RAISE(ABORT, 'log_head is append-only: DELETE refused'); END",
]

PG_IN_ORDER = """CREATE OR REPLACE FUNCTION icv_log_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NOT EXISTS (SELECT 1 FROM log_head h WHERE h.id = 1 AND h.seq + 1 = NEW.seq AND h.hash = NEW.prev_hash) THEN
                RAISE EXCEPTION 'decision_log is append-only: a record must follow the head' USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END $$"""

PG_HEAD = """CREATE OR REPLACE FUNCTION icv_head_follows_log() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1
                 OR NOT EXISTS (SELECT 1 FROM decision_log d WHERE d.seq = NEW.seq AND d.hash = NEW.hash) THEN
                RAISE EXCEPTION 'log_head moves only to the next record: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
              END IF;
              RETURN NEW;
            END $$"""

PG_APPEND = """CREATE OR REPLACE FUNCTION icv_log_append(p_kind text, p_decision_id text, p_body text)
            RETURNS TABLE (seq integer, recorded_at text, actor text, prev_hash text, hash text)
            LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
            #variable_conflict use_column
            DECLARE
              h_seq integer; h_hash text; v_at text; v_actor text; v_hash text;
            BEGIN
              IF p_body IS NULL OR jsonb_typeof(p_body::jsonb) <> 'object' THEN
                RAISE EXCEPTION 'a log record''s body is a JSON object' USING ERRCODE = 'invalid_parameter_value';
              END IF;
              SELECT l.seq, l.hash INTO h_seq, h_hash FROM log_head l WHERE l.id = 1 FOR UPDATE;
              v_actor := left(session_user::text, 100);
              v_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
              v_hash := 'sha256:' || encode(sha256(convert_to(
                  '{"actor":' || to_json(v_actor)::text || ',"body":' || p_body
                  || ',"decision_id":' || to_json(p_decision_id)::text || ',"kind":' || to_json(p_kind)::text
                  || ',"prev_hash":' || to_json(h_hash)::text || ',"recorded_at":' || to_json(v_at)::text
                  || ',"seq":' || (h_seq + 1)::text || '}', 'UTF8')), 'hex');
              INSERT INTO decision_log (seq, decision_id, kind, recorded_at, actor, body, prev_hash, hash)
                VALUES (h_seq + 1, p_decision_id, p_kind, (v_at)::timestamptz, v_actor, p_body, h_hash, v_hash);
              UPDATE log_head SET seq = h_seq + 1, hash = v_hash WHERE id = 1;
              RETURN QUERY SELECT h_seq + 1, v_at, v_actor, h_hash, v_hash;
            END $$"""

PG = [
    PG_IN_ORDER,
    PG_HEAD,
    PG_APPEND,
    "REVOKE ALL ON FUNCTION icv_log_append(text, text, text) FROM PUBLIC",
    "CREATE TRIGGER decision_log_in_order BEFORE INSERT ON decision_log FOR EACH ROW EXECUTE FUNCTION icv_log_in_order()",
    "CREATE TRIGGER log_head_follows_log BEFORE INSERT OR UPDATE OR DELETE ON log_head FOR EACH ROW EXECUTE FUNCTION icv_head_follows_log()",
    "CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head FOR EACH STATEMENT EXECUTE FUNCTION icv_append_only()",
]


def upgrade() -> None:
    for statement in (SQLITE if op.get_context().dialect.name == "sqlite" else PG):
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in ("decision_log_in_order", "log_head_follows_log", "log_head_no_insert", "log_head_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    op.execute("DROP TRIGGER IF EXISTS decision_log_in_order ON decision_log")
    op.execute("DROP TRIGGER IF EXISTS log_head_follows_log ON log_head")
    op.execute("DROP TRIGGER IF EXISTS log_head_no_truncate ON log_head")
    op.execute("DROP FUNCTION IF EXISTS icv_log_append(text, text, text)")
    op.execute("DROP FUNCTION IF EXISTS icv_head_follows_log()")
    op.execute("DROP FUNCTION IF EXISTS icv_log_in_order()")
