"""The schema comes from `flask db upgrade` on an empty database, and the models agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.extensions import db


def test_upgrade_built_every_table_of_the_models(app):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models differ from migrations; run `flask db migrate`: {diff}"


def test_order_number_sequences_are_seeded_by_the_migration(app):
    from sqlalchemy import select

    from app.orders.models import OrderNumberSequence

    rows = db.session.execute(select(OrderNumberSequence.kind, OrderNumberSequence.next_number))
    assert {(k.value, n) for k, n in rows} == {("service", 1001), ("work", 1001), ("sales", 1001)}
