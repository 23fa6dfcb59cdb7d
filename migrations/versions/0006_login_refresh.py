"""login refresh

"Hämta från Fortnox vid första inloggningen varje dag" (integration-health.md): a per-user
setting (on by default) and the day, in the organisation's time, its sync last started.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fortnox_refresh_on_login', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('last_login_refresh_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_login_refresh_on')
        batch_op.drop_column('fortnox_refresh_on_login')
