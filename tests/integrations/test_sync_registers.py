"""Syncing the customer and article registers and the prices from Fortnox, over real HTTP
against the sandbox (fortnox-settings.md §8; integration-health.md "Sync run log"): what comes
in, what is updated or left alone, the customer history, the price snapshot (download and
restore), refused records, paging, and a second run that costs one call and writes nothing."""

from __future__ import annotations

import io
import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.articles.models import Article
from app.auth.models import Subgroup
from app.customers.models import Customer
from app.extensions import db
from app.integrations.fortnox import services, sync_registers
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens
from app.integrations.models import (
    ArticleSnapshot,
    CustomerChange,
    FortnoxLink,
    IntegrationError,
    SyncCursor,
    SyncRunStatus,
)
from fortnox_sandbox.resources import article_defaults
from tests import factories
from tests.integrations.test_sync import last_run, run


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


# The seeded sandbox tenant (fortnox_sandbox/seed.py): articles 100, 101, 200, 201 and the
# inactive 900; customers 1, 2 and 3.
SEEDED_ACTIVE_ARTICLES = {"100", "101", "200", "201"}


def articles() -> dict[str, Article]:
    db.session.expire_all()
    return {a.article_number: a for a in db.session.scalars(select(Article))}


def customers() -> dict[str, Customer]:
    db.session.expire_all()
    return {c.customer_number: c for c in db.session.scalars(select(Customer))}


def links(kind: str) -> set[str]:
    return set(db.session.scalars(select(FortnoxLink.key).where(FortnoxLink.kind == kind)))


def api_calls(sandbox, path="/3/articles"):
    return [c for c in sandbox.requests_log(method="GET") if c["path"] == path]


@contextmanager
def statements():
    """Every SQL statement run while the block runs."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        seen.append(statement.strip())

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def writes(seen, *tables):
    """The INSERT, UPDATE and DELETE statements of ``seen`` on ``tables``."""
    return [
        statement
        for statement in seen
        if statement.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and any(re.search(rf"\b{table}\b", statement) for table in tables)
    ]


def fortnox_article(sandbox, tenant, **article):
    response = sandbox.accountant("POST", f"tenants/{tenant}/articles", {"Article": article})
    assert response.status_code == 201, response.text
    return response.json()["Article"]


def fortnox_customer(sandbox, tenant, **customer):
    response = sandbox.accountant("POST", f"tenants/{tenant}/customers", {"Customer": customer})
    assert response.status_code == 201, response.text
    return response.json()["Customer"]


# --- articles -----------------------------------------------------------------------------------


def test_articles_come_in_inactive_ones_never_and_a_second_run_is_one_call_writing_nothing(
    api, sandbox, tenant, connect
):
    integration = connect()
    factories.article("200", name="Gammalt filter", unit="st", price=Decimal("100"))
    started = run(api, "articles")
    first = last_run()
    assert first.id == started["run_id"] and first.status == SyncRunStatus.FINISHED
    assert first.counts["articles"] == {
        "fetched": 5, "created": 3, "updated": 1, "unchanged": 0, "skipped": 1, "failed": 0,
    }  # fmt: skip
    ours = articles()
    assert set(ours) == SEEDED_ACTIVE_ARTICLES  # 900 is inactive in Fortnox
    assert (ours["100"].name, ours["100"].unit, ours["100"].price) == (
        "Arbetstid",
        "tim",
        Decimal("650.00"),
    )
    assert ours["200"].name == "Filter F7 592x592"  # the name follows Fortnox…
    assert ours["200"].price == Decimal("100.00")  # …the price only under sync_prices
    assert links("article") == SEEDED_ACTIVE_ARTICLES
    texts = [line["text"] for line in first.log]
    assert "Hämtar artiklar… 5 av 5" in texts
    assert first.log[-1]["text"].startswith("Hämtade 5 artiklar på ")

    stamps = {number: a.updated_at for number, a in ours.items()}
    sandbox.clear_requests()
    with statements() as seen:
        run(api, "articles")
    written = writes(seen, "articles", "fortnox_links", "article_snapshots")
    second = last_run()
    assert second.status == SyncRunStatus.FINISHED
    counts = second.counts["articles"]
    assert counts["created"] == counts["updated"] == counts["failed"] == 0
    assert len(api_calls(sandbox)) == 1  # one list call, with the cursor
    assert "lastmodified" in api_calls(sandbox)[0]["query"]
    assert written == []
    assert {number: a.updated_at for number, a in articles().items()} == stamps

    # A change in Fortnox comes in with the next sync; an article made inactive stays here.
    sandbox.accountant(
        "PUT", f"tenants/{tenant}/articles/101", {"Article": {"Description": "Restid, bil"}}
    )
    sandbox.accountant("POST", f"tenants/{tenant}/articles/201/deactivate")
    run(api, "articles")
    third = last_run().counts["articles"]
    # (The cursor is to the minute: what changed in the same minute as the last run comes
    # again, as "unchanged" or, for the inactive 900, "skipped".)
    assert third["updated"] == 1 and third["created"] == 0 and third["skipped"] >= 1
    ours = articles()
    assert ours["101"].name == "Restid, bil"
    assert "201" in ours
    assert integration.id == db.session.scalar(select(FortnoxLink.integration_id).limit(1))


def seed_articles(sandbox, tenant, count):
    """``count`` articles P00000… straight into the sandbox tenant's state (no POSTs)."""
    state = sandbox.app.extensions["fortnox_sandbox"]
    with state.lock:
        register = state.tenant(tenant).registers["articles"]
        prices = state.tenant(tenant).registers["prices"]
        now = state.clock.time()
        for n in range(count):
            number = f"P{n:05d}"
            register[number] = {
                **article_defaults(),
                "ArticleNumber": number,
                "Description": f"Reservdel {n}",
                "Unit": "st",
                "_modified": now,
            }
            prices[f"A/{number}/0"] = {
                "PriceList": "A", "ArticleNumber": number, "FromQuantity": 0.0,
                "Price": float(n), "Percent": 0.0, "Date": None, "_modified": now,
            }  # fmt: skip


def test_more_than_500_articles_come_in_page_by_page(api, sandbox, tenant, connect):
    connect()
    seed_articles(sandbox, tenant, 1200)
    sandbox.clear_requests()
    with statements() as seen:
        run(api, "articles")
    done = last_run()
    assert done.counts["articles"]["created"] == 1204
    calls = api_calls(sandbox)
    # Page 1 first (it tells how many there are), then 2 and 3 (fetched side by side).
    assert (calls[0]["query"]["page"], calls[0]["query"]["limit"]) == ("1", "500")
    assert sorted((c["query"]["page"], c["query"]["limit"]) for c in calls) == [
        ("1", "500"),
        ("2", "500"),
        ("3", "500"),
    ]
    progress = [line["text"] for line in done.log if line["text"].startswith("Hämtar")]
    # A line per page written; pages 2 and 3 are written together when both have come by the
    # time page 1 is written (test_pages_that_came_meanwhile_are_written_together).
    assert progress in (
        [
            "Hämtar artiklar… 500 av 1\u00a0205",
            "Hämtar artiklar… 1\u00a0000 av 1\u00a0205",
            "Hämtar artiklar… 1\u00a0205 av 1\u00a0205",
        ],
        ["Hämtar artiklar… 500 av 1\u00a0205", "Hämtar artiklar… 1\u00a0205 av 1\u00a0205"],
    )
    # Not a statement per article: per batch one query for our articles, one for the links
    # and an insert of each (and the links counted once at the end).
    register = [s for s in seen if re.search(r"\b(articles|fortnox_links)\b", s)]
    assert len(register) <= len(progress) * 4 + 1
    assert len(writes(seen, "articles", "fortnox_links")) == len(progress) * 2
    ours = articles()
    assert len(ours) == 1204 and ours["P01199"].price == Decimal("1199.00")


def test_pages_that_came_meanwhile_are_written_together(api, sandbox, tenant, connect, monkeypatch):
    """The writer fell behind (page 1 took a second to write): pages 2 and 3, fetched
    meanwhile, are written as one batch — one query, one insert, one commit, one line."""
    connect()
    seed_articles(sandbox, tenant, 1200)
    write_page = sync_registers._articles_page
    calls = []

    def slow_first(context, items, *args):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        if len(calls) == 1:
            time.sleep(1.0)
        return write_page(context, items, *args)

    monkeypatch.setattr(sync_registers, "_articles_page", slow_first)
    with statements() as seen:
        run(api, "articles")
    done = last_run()
    assert done.counts["articles"]["created"] == 1204
    assert calls == [500, 705]
    progress = [line["text"] for line in done.log if line["text"].startswith("Hämtar")]
    assert progress == [
        "Hämtar artiklar… 500 av 1\u00a0205",
        "Hämtar artiklar… 1\u00a0205 av 1\u00a0205",
    ]
    assert len(writes(seen, "articles", "fortnox_links")) == 2 * 2
    assert len(articles()) == 1204


def test_paging_that_fails_midway_keeps_what_came_and_the_next_run_finishes(
    api, sandbox, tenant, connect
):
    integration = connect()
    seed_articles(sandbox, tenant, 1200)
    # Page 1 comes; the pages after it are refused (an answer Fortnox does not retry).
    sandbox.add_fault("latency", method="GET", path_pattern="/3/articles", latency_ms=1)
    sandbox.add_fault("status", method="GET", path_pattern="/3/articles", status=400, count=None)
    run(api, "articles")
    sandbox.clear_faults()
    failed = last_run()
    assert failed.status == SyncRunStatus.FAILED
    # Page 1 (the seeded 100…900, one inactive, and P00000…P00494) was committed.
    assert failed.counts["articles"]["created"] == 499
    assert len(articles()) == 499
    cursor = db.session.get(SyncCursor, (integration.id, "articles"))
    assert cursor is None or cursor.lastmodified is None  # the cursor stayed
    error = db.session.scalar(
        select(IntegrationError).where(IntegrationError.operation == "sync:articles")
    )
    assert error is not None and error.resolved_at is None

    run(api, "articles")
    done = last_run()
    assert done.status == SyncRunStatus.FINISHED
    assert done.counts["articles"]["created"] == 705
    assert done.counts["articles"]["unchanged"] == 499
    assert len(articles()) == 1204
    db.session.expire_all()
    assert db.session.get(IntegrationError, error.id).resolution == "auto"


# --- refused records ----------------------------------------------------------------------------


def test_a_record_we_refuse_is_named_in_the_run_and_the_rest_goes_on(api, sandbox, tenant, connect):
    connect()
    long_name = "Bostadsrättsföreningen " + "Långa namnet " * 20  # Fortnox allows 1024
    fortnox_customer(sandbox, tenant, CustomerNumber="77", Name=long_name)
    state = sandbox.app.extensions["fortnox_sandbox"]
    with state.lock:  # a negative price, as Fortnox may hold one; ours are never negative
        state.tenant(tenant).registers["prices"]["A/101/0"]["Price"] = -5.0
        state.tenant(tenant).registers["articles"]["101"]["_modified"] = state.clock.time()
    run(api, "customers", "articles")
    done = last_run()
    assert done.status == SyncRunStatus.FINISHED
    assert done.counts["customers"]["failed"] == 1 and done.counts["customers"]["created"] == 3
    assert done.counts["articles"]["failed"] == 1 and done.counts["articles"]["created"] == 3
    texts = [line["text"] for line in done.log]
    assert any(t.startswith("Misslyckades: Kund 77 – Namn är ") for t in texts)
    assert "Misslyckades: Artikel 101 – Negativt pris (-5.00) går inte" in texts
    assert "77" not in customers() and "101" not in articles()
    assert {"1", "2", "3"} <= set(customers()) and "100" in articles()
    assert "77" not in links("customer") and "101" not in links("article")


# --- customers ----------------------------------------------------------------------------------


def test_customers_come_in_and_existing_ones_stay_without_sync_updated_customers(
    api, sandbox, tenant, connect
):
    connect(customer_sync_tag="fortnox")  # the tag limits what is sent, never what comes in
    factories.customer(customer_number="1", name="Gammalt namn AB", city="Umeå")
    run(api, "customers")
    done = last_run()
    assert done.counts["customers"] == {
        "fetched": 3, "created": 2, "updated": 0, "unchanged": 1, "skipped": 0, "failed": 0,
    }  # fmt: skip
    ours = customers()
    assert ours["1"].name == "Gammalt namn AB" and ours["1"].email is None
    linden = ours["2"]
    assert (
        linden.name, linden.organisation_number, linden.address1, linden.zip_code, linden.city,
        linden.email, linden.subgroup_id,
    ) == (
        "Bostadsrättsföreningen Linden", "769600-0002", "Lindvägen 12", "41255", "Göteborg",
        "styrelsen@linden.example", None,
    )  # fmt: skip
    assert db.session.scalar(select(CustomerChange.id)) is None
    assert links("customer") == {"1", "2", "3"}
    assert "Hämtar kunder… 3 av 3" in [line["text"] for line in done.log]


def test_sync_updated_customers_overwrites_field_by_field_and_keeps_the_history(
    api, client, login, sandbox, tenant, connect
):
    # Ours from before the integration was connected: saving it now would send it to Fortnox
    # (sync_updated_customers, tests/integrations/test_register_push.py).
    mine = factories.customer(
        customer_number="1", name="Gammalt namn AB", city="Umeå", phone="070-000 00"
    )
    connect(sync_updated_customers=True)
    run(api, "customers")
    done = last_run()
    assert done.counts["customers"]["updated"] == 1 and done.counts["customers"]["created"] == 2
    customer = customers()["1"]
    assert customer.name == "Kyltekniker i Norr AB" and customer.phone == "090-123 45"
    assert customer.email == "faktura@kyltekniker.example" and customer.city == "Umeå"
    changes = {
        c.field: (c.before, c.after, c.sync_run_id)
        for c in db.session.scalars(
            select(CustomerChange).where(CustomerChange.customer_id == mine.id)
        )
    }
    assert changes == {
        "name": ("Gammalt namn AB", "Kyltekniker i Norr AB", done.id),
        "organisation_number": (None, "556000-0001", done.id),
        "address1": (None, "Industrivägen 4", done.id),
        "zip_code": (None, "90132", done.id),
        "email": (None, "faktura@kyltekniker.example", done.id),
        "phone": ("070-000 00", "090-123 45", done.id),
    }  # city was the same: no history row

    login("office")
    page = client.get(f"/customers/{mine.id}").get_data(as_text=True)
    assert "Historik" in page and "Gammalt namn AB" in page and "070-000 00" in page
    assert "Synkning från Fortnox" in page

    # Nothing changed in Fortnox: nothing is overwritten and no history is added.
    run(api, "customers")
    assert last_run().counts["customers"]["updated"] == 0
    assert len(db.session.scalars(select(CustomerChange)).all()) == 6
    # A change in Fortnox overwrites ours again.
    sandbox.accountant("PUT", f"tenants/{tenant}/customers/1", {"Customer": {"City": "Luleå"}})
    run(api, "customers")
    assert customers()["1"].city == "Luleå"
    newest = db.session.scalars(
        select(CustomerChange).order_by(CustomerChange.id.desc()).limit(1)
    ).one()
    assert (newest.field, newest.before, newest.after) == ("city", "Umeå", "Luleå")


def test_set_subgroup_on_sync_gives_new_customers_the_integrations_subgroup(
    api, sandbox, tenant, app
):
    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.commit()
    issued = sandbox.issue_tokens(tenant)
    integration = services.get_or_create_integration(west.id)
    integration.encrypted_tokens = encrypt_tokens(
        Tokens(
            issued.access_token,
            issued.refresh_token,
            datetime.now(UTC) + timedelta(seconds=issued.expires_in),
            issued.scope,
        ),
        services.token_key(),
    )
    services.update_settings(integration, {"set_subgroup_on_sync": True})
    db.session.commit()
    factories.customer(customer_number="1", name="Kyltekniker i Norr AB")
    response = api("office").post(
        "/integrations/fortnox/sync", json={"parts": ["customers"], "subgroup_id": west.id}
    )
    assert response.status_code == 202, response.json
    ours = customers()
    assert ours["2"].subgroup_id == west.id and ours["3"].subgroup_id == west.id
    assert ours["1"].subgroup_id is None  # an existing customer keeps its own


# --- prices and the snapshot --------------------------------------------------------------------


def test_prices_follow_fortnox_after_a_snapshot_that_downloads_and_restores(
    api, client, login, sandbox, tenant, connect
):
    connect(sync_prices=True)
    factories.article("100", name="Arbetstid", unit="tim", price=Decimal("500"))
    factories.article("200", name="Filter F7 592x592", unit="st", price=Decimal("389"))
    factories.article("LOKAL", name="Bara här", unit="st", price=Decimal("12.50"))
    sandbox.clear_requests()
    run(api, "articles", "prices")
    done = last_run()
    assert done.status == SyncRunStatus.FINISHED
    ours = articles()
    assert ours["100"].price == Decimal("650.00") and ours["200"].price == Decimal("389.00")
    assert len(api_calls(sandbox)) == 1  # the prices came with the articles
    texts = [line["text"] for line in done.log]
    assert "Priserna kom med artiklarna i den här synkningen." in texts
    snapshot = db.session.scalars(select(ArticleSnapshot)).one()
    assert snapshot.sync_run_id == done.id
    # Taken before the overwrite: the old price, and nothing this run created.
    held = {row["article_number"]: row for row in snapshot.articles}
    assert set(held) == {"100", "200", "LOKAL"}
    assert held["100"] == {
        "article_number": "100", "name": "Arbetstid", "unit": "tim", "price": "500.00",
        "active": True, "hidden": False,
    }  # fmt: skip
    snapshot_at = [i for i, t in enumerate(texts) if t.startswith("Sparade en ögonblicksbild")]
    assert len(snapshot_at) == 1

    # A second run with nothing changed takes no second snapshot.
    run(api, "articles", "prices")
    assert len(db.session.scalars(select(ArticleSnapshot)).all()) == 1

    login("admin")
    page = client.get("/settings/integration/snapshots")
    assert page.status_code == 200
    assert f"/settings/integration/snapshots/{snapshot.id}.xlsx" in page.get_data(as_text=True)
    download = client.get(f"/settings/integration/snapshots/{snapshot.id}.xlsx")
    assert download.status_code == 200
    assert download.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(download.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Artikelnummer", "Benämning", "Enhet", "Pris", "Aktiv", "Dold"]
    assert ["100", "Arbetstid", "tim", 500, "Ja", "Nej"] in rows

    restored = client.post(f"/settings/integration/snapshots/{snapshot.id}/restore")
    assert restored.status_code == 302
    ours = articles()
    assert ours["100"].price == Decimal("500.00")
    assert set(ours) >= SEEDED_ACTIVE_ARTICLES | {"LOKAL"}  # a restore never deletes
    db.session.expire_all()
    snapshot = db.session.get(ArticleSnapshot, snapshot.id)
    assert snapshot.restored_at is not None and snapshot.restored_by_id is not None
    safety = db.session.scalars(
        select(ArticleSnapshot).order_by(ArticleSnapshot.id.desc()).limit(1)
    ).one()
    assert safety.id != snapshot.id  # the register just before the restore, kept too
    assert {r["article_number"]: r["price"] for r in safety.articles}["100"] == "650.00"


def test_the_prices_part_alone_and_without_sync_prices(api, sandbox, tenant, connect):
    integration = connect()
    factories.article("100", name="Arbetstid", unit="tim", price=Decimal("500"))
    sandbox.clear_requests()
    run(api, "prices")
    assert articles()["100"].price == Decimal("500.00")
    assert api_calls(sandbox) == []
    assert any("Synka priser" in line["text"] for line in last_run().log)

    services.update_settings(integration, {"sync_prices": True})
    db.session.commit()
    run(api, "prices")
    done = last_run()
    assert articles()["100"].price == Decimal("650.00")
    assert done.counts["prices"]["updated"] == 1
    assert db.session.scalars(select(ArticleSnapshot)).one().sync_run_id == done.id
    sandbox.clear_requests()
    run(api, "prices")
    assert len(api_calls(sandbox)) == 1 and last_run().counts["prices"]["updated"] == 0


def test_snapshots_are_for_admins_only(client, login):
    snapshot = ArticleSnapshot(reason="Test", articles=[])
    db.session.add(snapshot)
    db.session.commit()
    login("office")
    assert client.get("/settings/integration/snapshots").status_code == 403
    assert client.get(f"/settings/integration/snapshots/{snapshot.id}.xlsx").status_code == 403
    assert client.post(f"/settings/integration/snapshots/{snapshot.id}/restore").status_code == 403


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_restoring_a_snapshot_needs_the_csrf_token(client, make_user, app_config):
    factories.article("100", name="Arbetstid", unit="tim", price=Decimal("650"))
    snapshot = ArticleSnapshot(
        reason="Test",
        articles=[
            {"article_number": "100", "name": "Arbetstid", "unit": "tim", "price": "500.00",
             "active": True, "hidden": False},
        ],
    )  # fmt: skip
    db.session.add(snapshot)
    db.session.commit()
    user = make_user("admin")
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    signed_in = client.post(
        "/login", data={"email": user.email, "password": "secret-password", "csrf_token": token}
    )
    assert signed_in.status_code == 302
    refused = client.post(f"/settings/integration/snapshots/{snapshot.id}/restore")
    assert refused.status_code == 400
    assert articles()["100"].price == Decimal("650.00")
    page = client.get("/settings/integration/snapshots").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    accepted = client.post(
        f"/settings/integration/snapshots/{snapshot.id}/restore", data={"csrf_token": token}
    )
    assert accepted.status_code == 302
    assert articles()["100"].price == Decimal("500.00")
