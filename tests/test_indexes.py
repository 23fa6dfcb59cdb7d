"""Every search and look-up the app runs is answered from an index that fits it (issue #18;
migration 0010): PostgreSQL trigram indexes for the substring searches, functional indexes
for the case-insensitive numbers, an index for the customer register's order.

Each test makes the app run its real SQL (a page, a suggestion, an API list or a service
call), records the statements, and asks PostgreSQL for their plans with sequential scans
disabled, so the check does not hinge on the size of a test table: a plan shows an index
only where the index exists and the statement's expression fits it. Drop an index, or
change an expression (ilike, or lower() gone), and the index leaves the plan."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, text

from app.articles.services import articles_by_numbers, find_article_by_number, search_articles
from app.customers.services import choose_customer, find_customers
from app.extensions import db
from app.orders.services import search_orders
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.postgres]

ROWS = 10_000  # customers, articles and orders each
CITIES = ("Borås", "Göteborg", "Malmö", "Umeå")
POPULATE = [
    f"""INSERT INTO customers (customer_number, name, city, active, custom_fields, created_at,
                               updated_at)
        SELECT (10000 + n)::text, 'Verkstad ' || n || ' AB',
               (ARRAY{list(CITIES)})[1 + n % {len(CITIES)}], n % 50 <> 49, '{{}}', now(), now()
        FROM generate_series(0, {ROWS - 1}) AS n""",
    f"""INSERT INTO articles (article_number, name, price, active, hidden, created_at,
                              updated_at)
        SELECT 'ART-' || lpad(n::text, 5, '0'), 'Reservdel ' || n, 100, true, false, now(), now()
        FROM generate_series(0, {ROWS - 1}) AS n""",
    f"""INSERT INTO orders (kind, number, status, customer_id, orderer, customer_order_number,
                            description, custom_fields, fortnox_state, fortnox_reference,
                            created_at, updated_at)
        SELECT 'service', 1001 + n, 'draft', (SELECT min(id) FROM customers) + n % {ROWS},
               'Beställare ' || n, 'PO-' || lpad(n::text, 5, '0'), 'Byte av filter ' || n,
               '{{}}', 'not_sent', 'ordna-test-' || n, now(), now()
        FROM generate_series(0, {ROWS - 1}) AS n""",
    # the rare words the searches look for
    "UPDATE customers SET name = 'Kylmontage Quist AB' WHERE customer_number = '10000'",
    "UPDATE articles SET name = 'Kompressorolja Zeta' WHERE article_number = 'ART-00007'",
    "UPDATE orders SET description = 'Läckande xylofonventil' WHERE number = 1500",
]


def _populate() -> None:
    """10 000 customers, articles and orders (SQL, in a second), vacuumed and with statistics:
    tables of that size have the plans of real ones."""
    for statement in POPULATE:
        db.session.execute(text(statement))
    db.session.commit()
    # VACUUM also moves the new rows out of the trigram indexes' pending lists, as a table
    # in service has them.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE customers, articles, orders"))


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    _populate()
    return app


@contextmanager
def recorded() -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) the app sends while the block runs."""
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def _index_names(node: dict[str, Any]) -> set[str]:
    names = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        names |= _index_names(child)
    return names


def plan_indexes(statement: str, parameters: Any) -> set[str]:
    """The indexes PostgreSQL's plan for `statement` reads, sequential scans disabled."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        try:
            raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
        finally:
            conn.exec_driver_sql("RESET enable_seqscan")
            conn.rollback()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return _index_names(plan[0]["Plan"])


def indexes_used(run: Callable[[], Any], *, where: str) -> set[str]:
    """The indexes of the plans of every statement `run` sends that contains `where`."""
    with recorded() as statements:
        run()
    wanted = [(s, p) for s, p in statements if where in s]
    assert wanted, f"no statement contains {where!r}: {[s for s, _ in statements]}"
    used: set[str] = set()
    for statement, parameters in wanted:
        used |= plan_indexes(statement, parameters)
    return used


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.status_code
    return response


# --- orders -----------------------------------------------------------------------------------


def test_the_order_search_reads_trigram_indexes_for_each_column(world, client, login):
    login("office")
    used = indexes_used(lambda: _ok(client.get("/orders?q=xylofon")), where="LIKE")
    assert {
        "ix_customers_name_trgm",
        "ix_customers_customer_number_lower",
        "ix_orders_customer_id",
        "ix_orders_customer_order_number_trgm",
        "ix_orders_orderer_trgm",
        "ix_orders_description_trgm",
    } <= used


def test_the_order_search_by_number_reads_the_number_index(world, client, login):
    login("office")
    used = indexes_used(lambda: _ok(client.get("/orders?q=2500")), where="LIKE")
    assert "ix_orders_number" in used


def test_the_united_order_search_finds_what_each_column_holds(world, make_user):
    user = make_user("office")

    def numbers(term: str) -> set[int]:
        return {o.number for o in db.session.scalars(search_orders(user, {"q": term}))}

    assert numbers("XYLOFON") == {1500}  # description, any case
    assert numbers("po-00003") == {1004}  # the customer's order number
    assert numbers("beställare 9999") == {11000}  # the orderer
    assert numbers("kylmontage quist") == {1001}  # the customer's name
    assert numbers("10000") == {1001, 10000}  # the customer's number exactly, or the order's
    assert numbers("2500") == {2500, 3501}  # the order's number, or "Beställare 2500"
    assert numbers("SO 1003") == {1003}


# --- customers --------------------------------------------------------------------------------


def test_the_customer_field_search_reads_trigram_indexes(world, client, login):
    login("office")
    response = _ok(client.get("/customers/search?q=kylmont"))
    assert [c["name"] for c in response.get_json()["items"]] == ["Kylmontage Quist AB"]
    used = indexes_used(lambda: _ok(client.get("/customers/search?q=quist")), where="LIKE")
    assert {
        "ix_customers_name_trgm",
        "ix_customers_customer_number_trgm",
        "ix_customers_city_trgm",
    } <= used


def test_find_customers_reads_trigram_indexes(world):
    used = indexes_used(lambda: find_customers("borå"), where="LIKE")
    assert {"ix_customers_name_trgm", "ix_customers_city_trgm"} <= used


def test_the_customer_register_search_reads_trigram_indexes(world, client, login, api):
    login("office")
    used = indexes_used(lambda: _ok(client.get("/customers?q=quist")), where="LIKE")
    assert {"ix_customers_name_trgm", "ix_customers_customer_number_trgm"} <= used
    reader = api("office")
    used = indexes_used(lambda: _ok(reader.get("/customers?q=quist")), where="LIKE")
    assert {"ix_customers_name_trgm", "ix_customers_customer_number_trgm"} <= used


def test_the_customer_register_is_read_in_its_order_from_an_index(world, client, login):
    login("office")
    used = indexes_used(lambda: _ok(client.get("/customers?page=3")), where="ORDER BY")
    assert "ix_customers_name_id" in used


def test_a_customer_number_is_looked_up_on_its_functional_index(world):
    used = indexes_used(
        lambda: choose_customer(None, "10003").customer, where="lower(customers.customer_number) ="
    )
    assert "ix_customers_customer_number_lower" in used


# --- articles ---------------------------------------------------------------------------------


def test_the_article_suggestions_read_trigram_indexes(world, client, login):
    login("technician")
    response = _ok(client.get("/articles/suggest?q=zeta"))
    assert [a["number"] for a in response.get_json()["items"]] == ["ART-00007"]
    used = indexes_used(lambda: _ok(client.get("/articles/suggest?q=kompressor")), where="LIKE")
    assert {"ix_articles_article_number_trgm", "ix_articles_name_trgm"} <= used


def test_the_article_register_search_reads_trigram_indexes(world, client, login, api):
    login("office")
    used = indexes_used(lambda: _ok(client.get("/articles?q=kompressor")), where="LIKE")
    assert {"ix_articles_article_number_trgm", "ix_articles_name_trgm"} <= used
    reader = api("office")
    used = indexes_used(lambda: _ok(reader.get("/articles?q=kompressor")), where="LIKE")
    assert {"ix_articles_article_number_trgm", "ix_articles_name_trgm"} <= used
    used = indexes_used(lambda: search_articles("00012"), where="LIKE")
    assert {"ix_articles_article_number_trgm", "ix_articles_name_trgm"} <= used


def test_an_article_number_is_looked_up_on_its_functional_index(world):
    def look_up() -> None:
        assert find_article_by_number("art-00042") is not None
        assert set(articles_by_numbers(["Art-00042", "ART-00043"])) == {"art-00042", "art-00043"}

    used = indexes_used(look_up, where="lower(articles.article_number)")
    assert "ix_articles_article_number_lower" in used
