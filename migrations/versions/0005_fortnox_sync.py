"""fortnox sync

Syncing with Fortnox: a cursor per register and integration, the small registers (cost
centers, terms and ways of delivery) as rows per integration instead of a JSON blob on the
integration, article snapshots before prices are overwritten, the history of overwritten
customer fields, a heartbeat on sync runs and at most one running per integration, and the
order state "cancelled in Fortnox".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 14:08:10.196539

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _organisation_index():
    """SQLite's batch mode rebuilds the table from reflection, which cannot see expression
    indexes: put back the one that allows a single organisation-wide integration (0004)."""
    op.execute("DROP INDEX IF EXISTS uq_fortnox_integrations_organisation")
    op.create_index(
        'uq_fortnox_integrations_organisation', 'fortnox_integrations',
        [sa.text('(subgroup_id IS NULL)')], unique=True,
        postgresql_where=sa.text('subgroup_id IS NULL'), sqlite_where=sa.text('subgroup_id IS NULL'),
    )


def upgrade():
    op.create_table('fortnox_register_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('register', sa.String(length=30), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_register_items_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fortnox_register_items')),
    sa.UniqueConstraint('integration_id', 'register', 'code', name=op.f('uq_fortnox_register_items_integration_id_register_code'))
    )
    op.create_table('fortnox_sync_cursors',
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('register', sa.String(length=30), nullable=False),
    sa.Column('lastmodified', sa.String(length=20), nullable=True),
    sa.Column('synced_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_sync_cursors_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('integration_id', 'register', name=op.f('pk_fortnox_sync_cursors'))
    )
    op.create_table('article_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=True),
    sa.Column('sync_run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('articles', sa.JSON(), nullable=False),
    sa.Column('restored_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('restored_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_article_snapshots_integration_id_fortnox_integrations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['restored_by_id'], ['users.id'], name=op.f('fk_article_snapshots_restored_by_id_users')),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_article_snapshots_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article_snapshots'))
    )
    op.create_table('customer_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sync_run_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_changes_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sync_run_id'], ['sync_runs.id'], name=op.f('fk_customer_changes_sync_run_id_sync_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_customer_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_changes'))
    )
    with op.batch_alter_table('customer_changes', schema=None) as batch_op:
        batch_op.create_index('ix_customer_changes_customer', ['customer_id', 'changed_at'], unique=False)

    with op.batch_alter_table('fortnox_integrations', schema=None) as batch_op:
        batch_op.drop_column('registers')
    _organisation_index()

    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.create_index('uq_sync_runs_running', ['integration_id'], unique=True, postgresql_where=sa.text("status = 'running'"), sqlite_where=sa.text("status = 'running'"))

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('order_fortnox_state', type_='check')
        batch_op.create_check_constraint(
            'order_fortnox_state',
            "fortnox_state IN ('not_sent', 'queued', 'sending', 'sent', 'failed', 'invoiced', "
            "'cancelled')",
        )


def downgrade():
    op.execute("UPDATE orders SET fortnox_state = 'sent' WHERE fortnox_state = 'cancelled'")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('order_fortnox_state', type_='check')
        batch_op.create_check_constraint(
            'order_fortnox_state',
            "fortnox_state IN ('not_sent', 'queued', 'sending', 'sent', 'failed', 'invoiced')",
        )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_sync_runs_running', postgresql_where=sa.text("status = 'running'"), sqlite_where=sa.text("status = 'running'"))
        batch_op.drop_column('error')
        batch_op.drop_column('heartbeat_at')

    with op.batch_alter_table('fortnox_integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registers', sa.JSON(), nullable=False, server_default='{}'))
    _organisation_index()

    with op.batch_alter_table('customer_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_changes_customer')

    op.drop_table('customer_changes')
    op.drop_table('article_snapshots')
    op.drop_table('fortnox_sync_cursors')
    op.drop_table('fortnox_register_items')
