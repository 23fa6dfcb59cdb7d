"""optimistic locking

Hardening (issue #17): a version on orders, customers and articles, so a stale save is
refused instead of silently overwriting what someone else saved.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


TABLES = ('orders', 'customers', 'articles')


def upgrade():
    # Rows that exist are at version 1, as new rows start (the ORM's version counter).
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
