"""scale indexes

At 100 000 orders (issue #18): the indexes the searches and lists use.

- functional b-tree indexes for the case-insensitive number look-ups:
  lower(articles.article_number), lower(customers.customer_number);
- the customer register's order (name, id) and the order search's plain number;
- on PostgreSQL, trigram (pg_trgm) GIN indexes for the substring searches, on exactly the
  expressions the services run, lower(column) LIKE '%…%': articles (number, name),
  customers (name, number, city), orders (customer's order number, orderer, description).
  SQLite has no trigram indexes; it keeps scanning there, as the embedded default may.

On PostgreSQL every index is built with CREATE INDEX CONCURRENTLY outside the migration's
transaction, so an upgrade of a large database never locks writes while the indexes build.
An index left invalid by an interrupted build is dropped and built again on the next upgrade.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# (name, table, expressions) built on every database
BTREE = [
    ('ix_articles_article_number_lower', 'articles', 'lower(article_number)'),
    ('ix_customers_customer_number_lower', 'customers', 'lower(customer_number)'),
    ('ix_customers_name_id', 'customers', 'name, id'),
    ('ix_orders_number', 'orders', 'number'),
]
# (name, table, column) as gin (lower(column) gin_trgm_ops), PostgreSQL only
TRIGRAM = [
    ('ix_articles_article_number_trgm', 'articles', 'article_number'),
    ('ix_articles_name_trgm', 'articles', 'name'),
    ('ix_customers_name_trgm', 'customers', 'name'),
    ('ix_customers_customer_number_trgm', 'customers', 'customer_number'),
    ('ix_customers_city_trgm', 'customers', 'city'),
    ('ix_orders_customer_order_number_trgm', 'orders', 'customer_order_number'),
    ('ix_orders_orderer_trgm', 'orders', 'orderer'),
    ('ix_orders_description_trgm', 'orders', 'description'),
]


def _is_postgresql():
    return op.get_bind().dialect.name == 'postgresql'


def upgrade():
    if not _is_postgresql():
        for name, table, expressions in BTREE:
            op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} ({expressions})')
        return
    statements = [
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} ({expressions})'
        for name, table, expressions in BTREE
    ] + [
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} '
        f'USING gin (lower({column}) gin_trgm_ops)'
        for name, table, column in TRIGRAM
    ]
    names = [name for name, _table, _expr in BTREE + TRIGRAM]
    with op.get_context().autocommit_block():
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        invalid = op.get_bind().execute(
            sa.text(
                'SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid '
                'WHERE NOT i.indisvalid AND c.relname = ANY(:names)'
            ),
            {'names': names},
        ).scalars().all()
        for name in invalid:
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {name}')
        for statement in statements:
            op.execute(statement)


def downgrade():
    names = [name for name, _table, _expr in BTREE + TRIGRAM]
    if not _is_postgresql():
        for name in names:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        return
    with op.get_context().autocommit_block():
        for name in names:
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {name}')
