"""Customers and articles going from Ordna to Fortnox through the push outbox, over real HTTP
against the sandbox (fortnox-settings.md §8: sync_updated_customers, customer_sync_tag,
sync_updated_articles, disable_article_creation; docs/sync.md "Registers going to Fortnox").
Every body sent is checked against Fortnox's schema, as the sandbox checks it too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.articles.models import Article
from app.auth.models import Subgroup
from app.customers.models import Customer
from app.extensions import db
from app.integrations.fortnox import pushing, services, sync
from app.integrations.models import (
    FortnoxLink,
    FortnoxRegisterPush,
    IntegrationError,
    IntegrationState,
    PushStatus,
)
from app.jobs import InlineQueue
from app.schedule import TIMETABLE
from fortnox_sandbox.schema import validate_request
from tests import factories
from tests.conftest import work_off


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


REGISTER_PATHS = ("/3/customers*", "/3/articles*")


# --- helpers ----------------------------------------------------------------------------------


def in_fortnox(sandbox, tenant, kind: str, number: str) -> dict[str, Any] | None:
    """The customer or article as Fortnox has it (None: Fortnox has none)."""
    response = sandbox.accountant("GET", f"tenants/{tenant}/api/{kind}s/{number}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()["Customer" if kind == "customer" else "Article"]


def pushes(kind: str | None = None) -> list[FortnoxRegisterPush]:
    db.session.expire_all()
    query = select(FortnoxRegisterPush).order_by(FortnoxRegisterPush.id)
    if kind:
        query = query.where(FortnoxRegisterPush.kind == kind)
    return list(db.session.scalars(query))


def writes(sandbox) -> list[dict[str, Any]]:
    """The register writes Ordna made (POST and PUT of customers and articles)."""
    found = []
    for method in ("POST", "PUT"):
        for path in REGISTER_PATHS:
            found += sandbox.requests_log(method=method, path=path)
    return sorted(found, key=lambda entry: entry["time"])


def assert_bodies_valid(sandbox, using: str | None = None) -> int:
    """Every register body Ordna sent is valid against Fortnox's schema (the official file
    and the sandbox's own description, or the one named). Returns how many were checked."""
    sent = writes(sandbox)
    for entry in sent:
        errors = validate_request(entry["method"], entry["path"], entry["body"], using=using)
        assert errors == [], (entry["method"], entry["path"], entry["body"], errors)
    return len(sent)


def new_customer(office, number: str, name: str, **fields: Any) -> int:
    """Create a customer through the API; its id."""
    response = office.post("/customers", json={"customer_number": number, "name": name, **fields})
    assert response.status_code == 201, response.json
    return int(response.json["id"])


class HeldQueue(InlineQueue):
    """A job queue that keeps jobs until :meth:`run_all` (a worker that is not running yet)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def enqueue(self, func, *args, options=None, owner_id=None, **kwargs):  # type: ignore[no-untyped-def]
        self.held.append((func, args, kwargs))
        return f"held-{len(self.held)}"

    def run_all(self) -> None:
        held, self.held = self.held, []
        for func, args, kwargs in held:
            InlineQueue.enqueue(self, func, *args, **kwargs)


@pytest.fixture
def held_queue(app):
    queue = HeldQueue()
    previous = app.extensions["jobs"]
    app.extensions["jobs"] = queue
    yield queue
    app.extensions["jobs"] = previous


# --- customers --------------------------------------------------------------------------------


@pytest.mark.parametrize("on", [True, False])
def test_a_customer_saved_here_goes_to_fortnox_at_once_only_with_sync_updated_customers(
    api, sandbox, tenant, connect, on
):
    connect(sync_updated_customers=on)
    office = api("office")
    created = office.post(
        "/customers",
        json={"customer_number": "7001", "name": "Verkstad Öst AB", "city": "Umeå"},
    )
    assert created.status_code == 201, created.json
    # The seeded Fortnox customer 1 exists there too: ours overwrites it (no create).
    factories.customer(customer_number="1", name="Kylteknik Ordna-namn AB", phone="090-1")
    edited = office.patch(f"/customers/{created.json['id']}", json={"city": "Luleå"})
    assert edited.status_code == 200, edited.json

    ours, seeded = (
        in_fortnox(sandbox, tenant, "customer", "7001"),
        in_fortnox(sandbox, tenant, "customer", "1"),
    )
    if on:
        assert ours is not None and (ours["Name"], ours["City"]) == ("Verkstad Öst AB", "Luleå")
        assert (seeded["Name"], seeded["Phone1"]) == ("Kylteknik Ordna-namn AB", "090-1")
        assert {(p.key, p.status) for p in pushes()} == {
            ("7001", PushStatus.DONE),
            ("1", PushStatus.DONE),
        }
        links = set(
            db.session.scalars(select(FortnoxLink.key).where(FortnoxLink.kind == "customer"))
        )
        assert {"7001", "1"} <= links
        # Customer 1 existed in Fortnox: updated in place, never created.
        assert not sandbox.requests_log(method="POST", path="/3/customers")[1:]
        assert assert_bodies_valid(sandbox) >= 4
    else:
        assert ours is None and seeded["Name"] == "Kyltekniker i Norr AB"
        assert pushes() == [] and writes(sandbox) == []


def test_the_web_form_pushes_too_and_a_new_number_becomes_a_new_fortnox_customer(
    client, login, sandbox, tenant, connect
):
    connect(sync_updated_customers=True)
    login("office")
    response = client.post(
        "/customers/new",
        data={"customer_number": "7002", "name": "Formverkstan AB", "active": "y"},
    )
    assert response.status_code == 302
    assert in_fortnox(sandbox, tenant, "customer", "7002")["Name"] == "Formverkstan AB"
    customer = db.session.scalar(select(Customer).where(Customer.customer_number == "7002"))
    response = client.post(
        f"/customers/{customer.id}/edit",
        data={"customer_number": "7003", "name": "Formverkstan i Piteå AB", "active": "y",
              "zip_code": "94133", "city": "Piteå", "version": str(customer.version)},
    )  # fmt: skip
    assert response.status_code == 302
    renumbered = in_fortnox(sandbox, tenant, "customer", "7003")
    assert (renumbered["Name"], renumbered["ZipCode"]) == ("Formverkstan i Piteå AB", "94133")
    assert in_fortnox(sandbox, tenant, "customer", "7002")["Name"] == "Formverkstan AB"
    assert assert_bodies_valid(sandbox) >= 2


def test_customer_sync_tag_sends_a_customer_when_the_tag_is_added_and_re_adding_re_sends(
    api, sandbox, tenant, connect
):
    connect(customer_sync_tag="Fortnox")  # sync_updated_customers off
    office = api("office")
    customer_id = new_customer(office, "7010", "Utan tagg AB")
    office.patch(f"/customers/{customer_id}", json={"city": "Kiruna"})
    assert in_fortnox(sandbox, tenant, "customer", "7010") is None and pushes() == []

    office.patch(f"/customers/{customer_id}", json={"tags": ["fortnox"]})  # tags match by case
    assert in_fortnox(sandbox, tenant, "customer", "7010")["City"] == "Kiruna"
    # The accountant changes Fortnox's copy; an edit here does not send (the setting is off)…
    sandbox.accountant("PUT", f"tenants/{tenant}/customers/7010", {"Customer": {"City": "Boden"}})
    office.patch(f"/customers/{customer_id}", json={"name": "Med tagg AB"})
    assert in_fortnox(sandbox, tenant, "customer", "7010")["City"] == "Boden"
    # …removing the tag sends nothing, and adding it back re-sends the customer as it is here.
    office.patch(f"/customers/{customer_id}", json={"tags": []})
    assert len(pushes()) == 1
    office.patch(f"/customers/{customer_id}", json={"tags": ["Fortnox", "VIP"]})
    again = in_fortnox(sandbox, tenant, "customer", "7010")
    assert (again["Name"], again["City"]) == ("Med tagg AB", "Kiruna")
    assert [p.status for p in pushes()] == [PushStatus.DONE, PushStatus.DONE]
    assert assert_bodies_valid(sandbox) >= 2


def test_with_a_sync_tag_only_tagged_customers_follow_their_edits(api, sandbox, tenant, connect):
    connect(sync_updated_customers=True, customer_sync_tag="Fortnox")
    office = api("office")
    tagged = office.post(
        "/customers", json={"customer_number": "7020", "name": "Taggad AB", "tags": ["Fortnox"]}
    ).json
    plain = office.post("/customers", json={"customer_number": "7021", "name": "Otaggad AB"}).json
    office.patch(f"/customers/{tagged['id']}", json={"phone": "0920-111"})
    office.patch(f"/customers/{plain['id']}", json={"phone": "0920-222"})
    assert in_fortnox(sandbox, tenant, "customer", "7020")["Phone1"] == "0920-111"
    assert in_fortnox(sandbox, tenant, "customer", "7021") is None
    assert {p.key for p in pushes()} == {"7020"}


def test_a_customer_goes_to_its_subgroups_integration(api, sandbox, tenant, connect):
    """Two companies: the organisation-wide integration and one for the subgroup Väst; a
    customer of Väst goes to Väst's company only, one without a subgroup to the other."""
    connect(sync_updated_customers=True)
    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.commit()
    west_tenant = sandbox.create_tenant("Väst AB", "556999-0001")
    issued = sandbox.issue_tokens(west_tenant)
    integration = services.get_or_create_integration(west.id)
    integration.encrypted_tokens = _encrypted(issued)
    services.update_settings(integration, {"sync_updated_customers": True})
    db.session.commit()

    office = api("office")
    new_customer(office, "7030", "Väst-kund AB", subgroup_id=west.id)
    new_customer(office, "7031", "Allmän kund AB")
    assert in_fortnox(sandbox, west_tenant, "customer", "7030")["Name"] == "Väst-kund AB"
    assert in_fortnox(sandbox, tenant, "customer", "7030") is None
    assert in_fortnox(sandbox, tenant, "customer", "7031")["Name"] == "Allmän kund AB"
    assert in_fortnox(sandbox, west_tenant, "customer", "7031") is None


def _encrypted(issued: Any) -> str:
    from app.integrations.fortnox.tokens import Tokens, encrypt_tokens

    tokens = Tokens(
        issued.access_token,
        issued.refresh_token,
        datetime.now(UTC) + timedelta(seconds=issued.expires_in),
        issued.scope,
    )
    return encrypt_tokens(tokens, services.token_key())


# --- articles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("on", [True, False])
def test_an_article_saved_here_goes_to_fortnox_only_with_sync_updated_articles(
    api, sandbox, tenant, connect, on
):
    connect(sync_updated_articles=on)
    office = api("office")
    created = office.post(
        "/articles", json={"article_number": "P-1", "name": "Packning", "price": "45.00"}
    )
    assert created.status_code == 201, created.json
    office.patch(f"/articles/{created.json['id']}", json={"name": "Packning 40 mm"})
    factories.article("100", name="Arbetstid montör")  # seeded in Fortnox: updated in place
    if on:
        assert in_fortnox(sandbox, tenant, "article", "P-1")["Description"] == "Packning 40 mm"
        assert in_fortnox(sandbox, tenant, "article", "100")["Description"] == "Arbetstid montör"
        assert [p.status for p in pushes("article")] == [PushStatus.DONE] * 3
        # Prices follow only under sync_prices: the seeded price of 100 is Fortnox's own.
        assert in_fortnox(sandbox, tenant, "article", "100")["SalesPrice"] != 250.0
        assert assert_bodies_valid(sandbox) >= 3
    else:
        assert in_fortnox(sandbox, tenant, "article", "P-1") is None
        assert in_fortnox(sandbox, tenant, "article", "100")["Description"] != "Arbetstid montör"
        assert pushes() == [] and writes(sandbox) == []


def test_under_sync_prices_the_price_goes_with_the_article(api, sandbox, tenant, connect):
    connect(sync_updated_articles=True, sync_prices=True)
    article = factories.article("P-2", name="Filterkassett", price=Decimal("389.50"))
    assert in_fortnox(sandbox, tenant, "article", "P-2")["SalesPrice"] == 389.5
    api("office").patch(f"/articles/{article.id}", json={"price": "400"})
    assert in_fortnox(sandbox, tenant, "article", "P-2")["SalesPrice"] == 400.0
    assert assert_bodies_valid(sandbox) >= 2


def test_disable_article_creation_keeps_every_article_out_of_fortnox(
    api, sandbox, tenant, connect, held_queue
):
    integration = connect(sync_updated_articles=True, disable_article_creation=True)
    office = api("office")
    created = office.post("/articles", json={"article_number": "P-3", "name": "Remskiva"}).json
    office.patch(f"/articles/{created['id']}", json={"name": "Remskiva 2"})
    factories.article("100", name="Arbetstid ändrad här")
    assert pushes() == [] and held_queue.held == []
    # A push recorded before the setting was turned on is not sent either.
    services.update_settings(integration, {"disable_article_creation": False})
    db.session.commit()
    office.patch(f"/articles/{created['id']}", json={"name": "Remskiva 3"})
    assert len(held_queue.held) == 1
    services.update_settings(
        db.session.get(type(integration), integration.id), {"disable_article_creation": True}
    )
    db.session.commit()
    held_queue.run_all()
    assert [p.status for p in pushes()] == [PushStatus.SKIPPED]
    assert in_fortnox(sandbox, tenant, "article", "P-3") is None
    assert in_fortnox(sandbox, tenant, "article", "100")["Description"] == "Arbetstid"
    assert writes(sandbox) == []


# --- the outbox -------------------------------------------------------------------------------


def test_ten_saves_make_one_push_that_sends_the_latest_state(
    api, sandbox, tenant, connect, held_queue
):
    connect(sync_updated_customers=True)
    office = api("office")
    customer_id = new_customer(office, "7040", "Namn 0")
    for n in range(1, 10):
        response = office.patch(f"/customers/{customer_id}", json={"name": f"Namn {n}"})
        assert response.status_code == 200
    [push] = pushes()
    assert push.status == PushStatus.PENDING and push.key == "7040"
    assert len(held_queue.held) == 1  # one job for the one push
    held_queue.run_all()
    assert in_fortnox(sandbox, tenant, "customer", "7040")["Name"] == "Namn 9"
    assert len(sandbox.requests_log(method="POST", path="/3/customers")) == 1
    assert [p.status for p in pushes()] == [PushStatus.DONE]
    # The job run again (a duplicate delivery) finds nothing to do.
    assert pushing.run_push(push.id)["status"] == "not_claimed"


def test_a_save_while_the_push_is_being_sent_queues_another_that_waits_for_it(
    api, sandbox, tenant, connect, held_queue
):
    connect(sync_updated_customers=True)
    office = api("office")
    customer_id = new_customer(office, "7042", "Första namnet")
    [first] = pushes()
    # A worker has claimed it (and may have read the customer already).
    first.status, first.claim_token = PushStatus.SENDING, "worker-1"
    first.lease_until = datetime.now(UTC) + timedelta(minutes=2)
    db.session.commit()
    office.patch(f"/customers/{customer_id}", json={"name": "Andra namnet"})
    first, second = pushes()
    assert (first.status, second.status) == (PushStatus.SENDING, PushStatus.PENDING)
    # Never two workers on one record: the second waits while the first is being sent.
    assert pushing.run_push(second.id)["status"] == "not_claimed"
    second = pushes()[1]
    assert second.status == PushStatus.PENDING and second.next_attempt_at > datetime.now(UTC)
    first.status, first.lease_until = PushStatus.DONE, None  # the first worker finished
    second.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    held_queue.run_all()
    assert in_fortnox(sandbox, tenant, "customer", "7042")["Name"] == "Andra namnet"
    assert [p.status for p in pushes()] == [PushStatus.DONE, PushStatus.DONE]


def test_a_save_rolled_back_leaves_no_push_and_enqueues_nothing(
    app, sandbox, tenant, connect, held_queue
):
    from app.customers.services import create_customer

    connect(sync_updated_customers=True)
    create_customer({"customer_number": "7045", "name": "Ångrad AB"})
    db.session.rollback()
    db.session.commit()
    assert pushes() == [] and held_queue.held == []


def test_a_refusal_fails_the_push_with_the_reason_and_a_later_success_resolves_the_error(
    api, sandbox, tenant, connect
):
    integration = connect(sync_updated_customers=True)
    # Fortnox once had a customer 7050, since deleted: the number can never be used again.
    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/customers",
        {"Customer": {"CustomerNumber": "7050", "Name": "Gammal"}},
    )
    sandbox.accountant("DELETE", f"tenants/{tenant}/api/customers/7050")
    office = api("office")
    customer_id = new_customer(office, "7050", "Ny kund AB")

    [push] = pushes()
    assert push.status == PushStatus.FAILED and push.error_code == "2000637"
    assert "Kunden 7050 kunde inte skickas till Fortnox" in push.error_message
    assert "Kundnumret används redan i Fortnox" in push.error_message
    error = db.session.scalar(
        select(IntegrationError).where(IntegrationError.operation == "push:customer")
    )
    assert error is not None and error.resolved_at is None and error.fortnox_code == "2000637"
    assert error.message.startswith("1 kund kunde inte skickas till Fortnox.")
    assert db.session.get(type(integration), integration.id).state == IntegrationState.ERROR
    [shown] = api("admin").get("/integrations/fortnox").json["items"]
    assert [e["operation"] for e in shown["open_errors"]] == ["push:customer"]

    # Fixed as Fortnox says: another number. That push succeeds and resolves the error.
    office.patch(f"/customers/{customer_id}", json={"customer_number": "7051"})
    assert in_fortnox(sandbox, tenant, "customer", "7051")["Name"] == "Ny kund AB"
    assert [p.status for p in pushes()] == [PushStatus.FAILED, PushStatus.DONE]
    db.session.expire_all()
    error = db.session.get(IntegrationError, error.id)
    assert error.resolved_at is not None and error.resolution == "auto"
    assert db.session.get(type(integration), integration.id).state == IntegrationState.OK
    assert assert_bodies_valid(sandbox) >= 2


def test_a_refusal_of_one_customer_stays_open_while_another_succeeds(api, sandbox, tenant, connect):
    connect(sync_updated_customers=True)
    sandbox.add_fault(
        "status", method="POST", path_pattern="/3/customers", status=400, code=2000359,
        message="Ogiltigt tecken i fältet",
    )  # fmt: skip
    office = api("office")
    office.post("/customers", json={"customer_number": "7060", "name": "Trasig AB"})
    office.post("/customers", json={"customer_number": "7061", "name": "Hel AB"})
    statuses = {p.key: (p.status, p.error_message) for p in pushes()}
    assert statuses["7061"] == (PushStatus.DONE, None)
    assert statuses["7060"][0] == PushStatus.FAILED
    assert "Ogiltigt tecken i fältet (kod 2000359)" in statuses["7060"][1]
    error = db.session.scalar(
        select(IntegrationError).where(IntegrationError.operation == "push:customer")
    )
    assert error.resolved_at is None  # 7060 still stands failed


def test_a_5xx_is_retried_by_the_sweeper_not_a_failure(app, api, sandbox, tenant, connect):
    connect(sync_updated_customers=True)
    sandbox.add_fault("status", method="POST", path_pattern="/3/customers", status=502)
    api("office").post("/customers", json={"customer_number": "7070", "name": "Väntar AB"})
    [push] = pushes()
    assert push.status == PushStatus.PENDING and push.attempts == 1
    assert push.next_attempt_at > datetime.now(UTC)  # the send's back-off
    assert pushing.sweep() == 0  # not due yet
    push.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert pushing.sweep() == 1
    assert in_fortnox(sandbox, tenant, "customer", "7070")["Name"] == "Väntar AB"
    assert [p.status for p in pushes()] == [PushStatus.DONE]
    assert db.session.scalar(select(IntegrationError.id)) is None
    assert pushing.sweep() == 0


def test_the_sweeper_resumes_a_push_whose_worker_died_and_is_on_the_timetable(
    app, sandbox, tenant, connect, held_queue
):
    connect(sync_updated_customers=True)
    factories.customer(customer_number="7080", name="Övergiven AB")
    [push] = pushes()
    # The worker took it and was killed: the lease runs out.
    push.status = PushStatus.SENDING
    push.lease_until = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    app.extensions["jobs"] = InlineQueue()
    assert pushing.sweep() == 1
    assert in_fortnox(sandbox, tenant, "customer", "7080")["Name"] == "Övergiven AB"
    assert any(e.func.__name__ == "sweep_pushes" and e.interval == 60 for e in TIMETABLE)


def test_a_sync_from_fortnox_pushes_nothing_back(api, sandbox, tenant, connect):
    """No ping-pong: what comes in through the sync is written in bulk, never through the
    services that queue pushes."""
    connect(sync_updated_customers=True, sync_updated_articles=True, sync_prices=True)
    factories.customer(customer_number="1", name="Gammalt namn AB")  # pushed: overwrites Fortnox
    sandbox.accountant("PUT", f"tenants/{tenant}/customers/1", {"Customer": {"City": "Luleå"}})
    sandbox.clear_requests()
    before = len(pushes())
    run = sync.start_sync(
        services.integration_for_subgroup(None), ["customers", "articles", "prices"],
        trigger="manual", by=None,
    )  # fmt: skip
    db.session.commit()
    sync.enqueue_sync(run)
    db.session.expire_all()
    assert (
        db.session.scalar(select(Customer).where(Customer.customer_number == "1")).city == "Luleå"
    )
    assert db.session.scalar(select(Article).where(Article.article_number == "100")) is not None
    assert len(pushes()) == before
    assert writes(sandbox) == []


def test_pushes_through_a_real_rq_worker(api, sandbox, tenant, connect, rq_queue):
    connect(sync_updated_customers=True)
    office = api("office")
    customer_id = new_customer(office, "7090", "Kö 0")
    for n in range(1, 10):
        office.patch(f"/customers/{customer_id}", json={"name": f"Kö {n}"})
    assert [p.status for p in pushes()] == [PushStatus.PENDING]
    work_off(rq_queue)
    assert in_fortnox(sandbox, tenant, "customer", "7090")["Name"] == "Kö 9"
    assert [p.status for p in pushes()] == [PushStatus.DONE]


def test_the_bodies_sent_are_valid_against_the_official_schema(
    api, sandbox, tenant, connect, official_openapi
):
    connect(sync_updated_customers=True, sync_updated_articles=True, sync_prices=True)
    office = api("office")
    customer = office.post(
        "/customers",
        json={
            "customer_number": "7095", "name": "Fullständig AB",
            "organisation_number": "556677-8899",
            "address1": "Storgatan 1", "address2": "Box 12", "zip_code": "123 45 67 89 01",
            "city": "Umeå", "email": "info@fullstandig.test", "phone": "090-12 34 56",
        },
    ).json  # fmt: skip
    office.patch(f"/customers/{customer['id']}", json={"city": "Skellefteå"})
    article = office.post(
        "/articles", json={"article_number": "P-9", "name": "x" * 200, "price": "12.50"}
    ).json
    office.patch(f"/articles/{article['id']}", json={"price": "13"})
    assert in_fortnox(sandbox, tenant, "customer", "7095")["ZipCode"] == "123 45 67 "
    assert assert_bodies_valid(sandbox, using="official") >= 4
