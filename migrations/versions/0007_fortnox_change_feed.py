"""fortnox change feed

The Fortnox change feed (issue #15): offsets per topic, the listener's state, pending parts per integration.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.db


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fortnox_feed_offsets',
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('offset', sa.String(length=100), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('topic', name=op.f('pk_fortnox_feed_offsets'))
    )
    op.create_table('fortnox_feed_states',
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('pending', sa.JSON(), nullable=False),
    sa.Column('pending_since', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('last_event_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_poll_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('poll_round', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_feed_states_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('integration_id', name=op.f('pk_fortnox_feed_states'))
    )
    op.create_table('fortnox_feed_listener',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('connected', sa.Boolean(), nullable=False),
    sa.Column('since', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('restart_requested_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fortnox_feed_listener'))
    )


def downgrade():
    op.drop_table('fortnox_feed_listener')
    op.drop_table('fortnox_feed_states')
    op.drop_table('fortnox_feed_offsets')
