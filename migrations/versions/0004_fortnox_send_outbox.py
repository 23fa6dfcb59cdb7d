"""fortnox send outbox

The outbox that gives exactly-once sends: a step per send (a retry resumes after the last one
done), a lease and a next-attempt time for the sweeper, at most one open send per order (a
partial unique index), and no cascade from the integration (the history survives). Orders get
a random send reference (ExternalInvoiceReference1), filled in for the orders already there.
An integration's tokens move to a row of their own, and at most one integration covers the
whole organisation. Links record which customers and articles an integration's Fortnox
company is known to have, and a ledger of the hours reported as attendance transactions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:39:45.883389

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fortnox_tokens',
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('encrypted', sa.Text(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_tokens_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('integration_id', name=op.f('pk_fortnox_tokens'))
    )
    op.execute(
        "INSERT INTO fortnox_tokens (integration_id, encrypted, updated_at) "
        "SELECT id, encrypted_tokens, created_at FROM fortnox_integrations "
        "WHERE encrypted_tokens IS NOT NULL"
    )
    with op.batch_alter_table('fortnox_integrations', schema=None) as batch_op:
        batch_op.drop_column('encrypted_tokens')
    op.create_index(
        'uq_fortnox_integrations_organisation', 'fortnox_integrations',
        [sa.text('(subgroup_id IS NULL)')], unique=True,
        postgresql_where=sa.text('subgroup_id IS NULL'), sqlite_where=sa.text('subgroup_id IS NULL'),
    )

    with op.batch_alter_table('fortnox_sends', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step', sa.Enum('start', 'document', 'invoice', 'emailed', 'protocol', 'hours', 'done', name='send_step', native_enum=False, create_constraint=True, length=32), nullable=False, server_default='start'))
        batch_op.add_column(sa.Column('invoice_number', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('lease_until', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_fortnox_sends_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('uq_fortnox_sends_open_order', ['order_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'sending')"), sqlite_where=sa.text("status IN ('pending', 'sending')"))
        batch_op.drop_constraint(batch_op.f('fk_fortnox_sends_integration_id_fortnox_integrations'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_fortnox_sends_integration_id_fortnox_integrations'), 'fortnox_integrations', ['integration_id'], ['id'])

    op.create_table('fortnox_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('confirmed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_links_integration_id_fortnox_integrations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fortnox_links')),
    sa.UniqueConstraint('integration_id', 'kind', 'key', name=op.f('uq_fortnox_links_integration_id_kind_key'))
    )

    op.create_table('fortnox_time_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.String(length=30), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('cause_code', sa.String(length=10), nullable=False),
    sa.Column('hours', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('transaction_id', sa.String(length=30), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['integration_id'], ['fortnox_integrations.id'], name=op.f('fk_fortnox_time_reports_integration_id_fortnox_integrations')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_fortnox_time_reports_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fortnox_time_reports'))
    )
    op.create_index('ix_fortnox_time_reports_key', 'fortnox_time_reports', ['order_id', 'employee_id', 'date'], unique=False)

    op.add_column('orders', sa.Column('fortnox_reference', sa.String(length=80), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        random_hex = "substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)"
    else:
        random_hex = "lower(hex(randomblob(12)))"
    op.execute(f"UPDATE orders SET fortnox_reference = 'ordna-' || {random_hex}")
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('fortnox_reference', existing_type=sa.String(length=80), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_orders_fortnox_reference'), ['fortnox_reference'])


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_fortnox_reference'), type_='unique')
        batch_op.drop_column('fortnox_reference')

    with op.batch_alter_table('fortnox_sends', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_fortnox_sends_integration_id_fortnox_integrations'), type_='foreignkey')
        batch_op.create_foreign_key(batch_op.f('fk_fortnox_sends_integration_id_fortnox_integrations'), 'fortnox_integrations', ['integration_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_index('uq_fortnox_sends_open_order', postgresql_where=sa.text("status IN ('pending', 'sending')"), sqlite_where=sa.text("status IN ('pending', 'sending')"))
        batch_op.drop_index('ix_fortnox_sends_due')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('claim_token')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('invoice_number')
        batch_op.drop_constraint('send_step', type_='check')
        batch_op.drop_column('step')

    op.drop_index('ix_fortnox_time_reports_key', table_name='fortnox_time_reports')
    op.drop_table('fortnox_time_reports')
    op.drop_table('fortnox_links')
    op.drop_index('uq_fortnox_integrations_organisation', table_name='fortnox_integrations')
    with op.batch_alter_table('fortnox_integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encrypted_tokens', sa.TEXT(), nullable=True))
    op.execute(
        "UPDATE fortnox_integrations SET encrypted_tokens = (SELECT encrypted FROM fortnox_tokens "
        "WHERE fortnox_tokens.integration_id = fortnox_integrations.id)"
    )
    op.drop_table('fortnox_tokens')
