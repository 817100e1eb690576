"""The decision log: hash-chained records, the log head, pack snapshots; append-only triggers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

GENESIS = "sha256:" + "0" * 64


def upgrade() -> None:
    op.create_table('decision_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=71), nullable=False),
    sa.Column('hash', sa.String(length=71), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('decision_id'),
    sa.UniqueConstraint('hash')
    )
    op.create_table('log_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=71), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pack_snapshot',
    sa.Column('revision', sa.String(length=80), nullable=False),
    sa.Column('pack_id', sa.String(length=100), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('revision')
    )
    op.execute(sa.text("INSERT INTO log_head (id, seq, hash) VALUES (1, 0, :h)").bindparams(h=GENESIS))
    if op.get_context().dialect.name == "sqlite":
        for table in ("decision_log", "pack_snapshot"):
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")
    else:
        op.execute("""
            CREATE FUNCTION icv_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
            END $$""")
        for table in ("decision_log", "pack_snapshot"):
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION icv_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION icv_append_only()")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table in ("decision_log", "pack_snapshot"):
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    else:
        for table in ("decision_log", "pack_snapshot"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS icv_append_only()")
    op.drop_table('pack_snapshot')
    op.drop_table('log_head')
    op.drop_table('decision_log')
