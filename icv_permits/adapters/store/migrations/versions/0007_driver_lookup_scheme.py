"""Each driver's lookup names the scheme it was made with, so that lookups can be made slower.

Until now ``driver.id_lookup`` was a plain HMAC-SHA256 of the ID number under the office's key:
with a copy of the store and the key, every birth date could be tried in a second. Lookups are now
made through a memory-hard derivation (``store/personal.py``: scrypt keyed by the office key) whose
parameters the scheme name records (``scrypt:n=…,r=…,p=…``).

- ``driver.lookup_scheme`` — how ``id_lookup`` was made; every row already there is tagged
  ``hmac-sha256``. ``submit`` looks a driver up under the current scheme and, while rows of older
  schemes remain, under theirs too; a row found under an older scheme is re-keyed (its ``id_lookup``
  made anew, its scheme updated), so the driver is recognised across the change (REC-03).
- ``driver.former_lookup`` — the lookup a re-keyed row had before: the versions submitted before
  name it (``submission_version.driver_lookups``, append-only), and a decision on one of them still
  finds its drivers.

Nothing is re-keyed by the migration itself: it never sees an ID number.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('driver', sa.Column('lookup_scheme', sa.String(length=40), nullable=False, server_default='hmac-sha256'))
    op.add_column('driver', sa.Column('former_lookup', sa.String(length=64), nullable=True))
    op.create_index('ix_driver_former_lookup', 'driver', ['former_lookup'], unique=True)
    op.create_index('ix_driver_lookup_scheme', 'driver', ['lookup_scheme'])


def downgrade() -> None:
    op.drop_index('ix_driver_lookup_scheme', table_name='driver')
    op.drop_index('ix_driver_former_lookup', table_name='driver')
    # ALTER TABLE … DROP COLUMN in place (SQLite 3.35+): a batch copy of the table would break the
    # foreign keys of notice_driver
    op.drop_column('driver', 'former_lookup')
    op.drop_column('driver', 'lookup_scheme')
