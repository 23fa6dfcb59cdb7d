"""fortnox register pushes

Registers going to Fortnox (issue #15): the outbox of customer and article pushes. At most one
pending push per integration, kind and key (a partial unique index), a lease and claim token
like the send outbox, and the index the sweeper reads.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fortnox_register_pushes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'done', 'failed', 'skipped', name='register_push_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_code', sa.String(length=30), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_register_pushes_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fortnox_register_pushes'))
    )
    op.create_index('ix_fortnox_register_pushes_due', 'fortnox_register_pushes', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_fortnox_register_pushes_key', 'fortnox_register_pushes', ['integration_id', 'kind', 'key'], unique=False)
    op.create_index(
        'uq_fortnox_register_pushes_pending', 'fortnox_register_pushes',
        ['integration_id', 'kind', 'key'], unique=True,
        postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_index(
        'uq_fortnox_register_pushes_pending', table_name='fortnox_register_pushes',
        postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"),
    )
    op.drop_index('ix_fortnox_register_pushes_key', table_name='fortnox_register_pushes')
    op.drop_index('ix_fortnox_register_pushes_due', table_name='fortnox_register_pushes')
    op.drop_table('fortnox_register_pushes')
