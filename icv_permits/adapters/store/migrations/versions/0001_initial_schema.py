"""Initial schema: entities, vehicles, drivers, submissions and versions, engine runs, reviews,
notices, their vehicles and drivers, plates, counters.

Revision ID: 0001
Revises: 
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counter',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('driver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_lookup', sa.String(length=64), nullable=False),
    sa.Column('id_masked', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id_lookup')
    )
    op.create_table('entity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('credit_code')
    )
    op.create_table('vehicle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vin', sa.String(length=17), nullable=False),
    sa.Column('brand_model', sa.String(length=500), nullable=True),
    sa.Column('configuration', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vin')
    )
    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=500), nullable=True),
    sa.Column('activity', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_state'), ['state'], unique=False)

    op.create_table('submission_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('application_digest', sa.String(length=80), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('masked_fields', sa.Text(), nullable=False),
    sa.Column('driver_lookups', sa.Text(), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=16), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('submission_id', 'number')
    )
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_version_submission_id'), ['submission_id'], unique=False)

    op.create_table('engine_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('pack_id', sa.String(length=100), nullable=False),
    sa.Column('pack_revision', sa.String(length=80), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['submission_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('engine_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engine_run_version_id'), ['version_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('issued', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sections', sa.Text(), nullable=False),
    sa.Column('configurations', sa.Text(), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], ),
    sa.ForeignKeyConstraint(['replaces_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['submission_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_valid_until'), ['valid_until'], unique=False)

    op.create_table('notice_driver',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['driver_id'], ['driver.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('notice_id', 'driver_id', 'vehicle_id')
    )
    with op.batch_alter_table('notice_driver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_driver_driver_id'), ['driver_id'], unique=False)

    op.create_table('notice_vehicle',
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('notice_id', 'vehicle_id')
    )
    with op.batch_alter_table('notice_vehicle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_vehicle_vehicle_id'), ['vehicle_id'], unique=False)

    op.create_table('plate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('vehicle_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('renews_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['renews_id'], ['plate.id'], ),
    sa.ForeignKeyConstraint(['vehicle_id'], ['vehicle.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('plate', schema=None) as batch_op:
        batch_op.create_index('ix_plate_notice_vehicle', ['notice_id', 'vehicle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plate_valid_until'), ['valid_until'], unique=False)

    op.create_table('review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('engine_run_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=False),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('against_engine', sa.Boolean(), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['engine_run_id'], ['engine_run.id'], ),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['submission_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_submission_id'), ['submission_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_submission_id'))

    op.drop_table('review')
    with op.batch_alter_table('plate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plate_valid_until'))
        batch_op.drop_index('ix_plate_notice_vehicle')

    op.drop_table('plate')
    with op.batch_alter_table('notice_vehicle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_vehicle_vehicle_id'))

    op.drop_table('notice_vehicle')
    with op.batch_alter_table('notice_driver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_driver_driver_id'))

    op.drop_table('notice_driver')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_valid_until'))
        batch_op.drop_index(batch_op.f('ix_notice_entity_id'))

    op.drop_table('notice')
    with op.batch_alter_table('engine_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engine_run_version_id'))

    op.drop_table('engine_run')
    with op.batch_alter_table('submission_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_version_submission_id'))

    op.drop_table('submission_version')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_state'))
        batch_op.drop_index(batch_op.f('ix_submission_entity_id'))

    op.drop_table('submission')
    op.drop_table('vehicle')
    op.drop_table('entity')
    op.drop_table('driver')
    op.drop_table('counter')
