"""The sync's bulk writes (sync_registers._insert_each, Links.add): a page's new records in one
statement on PostgreSQL and on SQLite, one that collides with a record made here meanwhile left
out and named, defaults filled in as an INSERT would."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.articles.models import Article
from app.extensions import db
from app.integrations.fortnox import services, sync_registers
from app.integrations.models import FortnoxLink
from tests import factories
from tests.test_query_counts import counted


def test_new_articles_go_in_at_once_and_a_colliding_number_is_refused(app):
    factories.article("B-2", name="Gjord här under tiden", price=Decimal("5"))
    rows = [
        {"article_number": n, "name": f"Från Fortnox {n}", "unit": "st", "price": Decimal("9.5")}
        for n in ("B-1", "B-2", "B-3")
    ]
    refused: list[tuple[str, str]] = []
    with counted() as seen:
        inserted = sync_registers._insert_each(Article, rows, "article_number", refused)
    db.session.commit()
    # The whole page in one statement, from one JSON text.
    inserts = [s for s in seen if s.startswith("INSERT")]
    assert len(inserts) == 1, inserts
    assert (
        "json_array_elements" if db.engine.dialect.name == "postgresql" else "json_each"
    ) in inserts[0]
    assert [row["article_number"] for row in inserted] == ["B-1", "B-3"]
    assert refused == [("B-2", "Numret finns redan här")]
    articles = {a.article_number: a for a in db.session.scalars(select(Article))}
    assert articles["B-2"].name == "Gjord här under tiden"  # ours stays
    made = articles["B-3"]
    assert (made.name, made.unit, made.price) == ("Från Fortnox B-3", "st", Decimal("9.50"))
    # The defaults an INSERT gives, here too.
    assert made.active is True and made.hidden is False and made.version == 1
    assert made.created_at is not None and made.created_at.tzinfo is not None


def test_links_are_added_once_whatever_a_send_linked_meanwhile(app):
    integration = services.get_or_create_integration(None)
    db.session.commit()
    links = sync_registers.Links(integration.id, "article")
    db.session.add(FortnoxLink(integration_id=integration.id, kind="article", key="L-2"))
    db.session.commit()  # a send linked it after the part read the links
    links.add(["L-1", "L-2", "L-3"])
    links.add(["L-1"])
    db.session.commit()
    keys = db.session.scalars(
        select(FortnoxLink.key).where(FortnoxLink.integration_id == integration.id)
    ).all()
    assert sorted(keys) == ["L-1", "L-2", "L-3"]
