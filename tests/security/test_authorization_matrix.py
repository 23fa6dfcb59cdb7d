"""Who may do what, generated from the URL map (issue #17): every route and method, on the
web and the API, for anonymous, a technician (of the order's subgroup), a technician of
another subgroup, a technician without subgroup, office and admin — with the expected status
of each in ONE table (`EXPECTED`). A route without a row fails `test_every_route_has_a_rule`.

Path parameters are real ids of objects made for each role afresh (so one role's delete does
not change what the next one sees): an order of subgroup Väst with a drawn signature, its
customer, facility, service object and an article, the organisation's Fortnox integration
with a sync run, an open error and an article snapshot, a job and an API token of the
technician, and the technician's user. Requests carry no form fields or an empty JSON
object: a role that may act gets past the role and object checks to the form's own answer
(422, or a redirect); a role that may not is refused before that (302 to sign-in / 401,
403, or 404 for an object it must not know of)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.auth.models import ApiToken, Subgroup, User
from app.auth.services import create_api_token
from app.db import utcnow
from app.extensions import db
from app.integrations.models import (
    ArticleSnapshot,
    FortnoxIntegration,
    IntegrationError,
    SyncRun,
    SyncRunStatus,
)
from app.jobs import enqueue
from app.orders.services import create_order, sign_order
from tests import factories
from tests.signatures import drawn_png

ROLES = ("anonymous", "technician", "technician_other", "technician_none", "office", "admin")

# (anonymous, technician, technician of another subgroup, technician without subgroup,
#  office, admin). Web: 302 for anonymous is the redirect to the sign-in page.
# fmt: off
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    "DELETE /api/v1/customers/<int:customer_id>": (401, 403, 403, 403, 409, 409),
    "GET /": (302, 200, 200, 200, 200, 200),
    "GET /api/v1/articles": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/articles/<int:article_id>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/custom-fields": (401, 403, 403, 403, 403, 200),
    "GET /api/v1/customers": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/customers/<int:customer_id>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/facilities": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/facilities/<int:facility_id>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/integrations/fortnox": (401, 403, 403, 403, 403, 200),
    "GET /api/v1/integrations/fortnox/settings": (401, 403, 403, 403, 403, 200),
    "GET /api/v1/integrations/fortnox/sync/<int:run_id>": (401, 403, 403, 403, 200, 200),
    "GET /api/v1/jobs/<job_id>": (401, 200, 404, 404, 404, 200),
    "GET /api/v1/openapi.json": (200, 200, 200, 200, 200, 200),
    "GET /api/v1/orders": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/orders/<int:order_id>": (401, 200, 403, 403, 200, 200),
    "GET /api/v1/orders/<int:order_id>/fortnox-preview": (401, 409, 403, 403, 409, 409),
    "GET /api/v1/orders/<int:order_id>/protocol.pdf": (401, 200, 403, 403, 200, 200),
    "GET /api/v1/service-objects": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/service-objects/<int:service_object_id>": (401, 200, 200, 200, 200, 200),
    "GET /api/v1/subgroups": (401, 403, 403, 403, 403, 200),
    "GET /api/v1/users": (401, 403, 403, 403, 403, 200),
    "GET /articles": (302, 200, 200, 200, 200, 200),
    "GET /articles/<int:article_id>/edit": (302, 403, 403, 403, 200, 200),
    "GET /articles/export.csv": (302, 200, 200, 200, 200, 200),
    "GET /articles/export.xlsx": (302, 200, 200, 200, 200, 200),
    "GET /articles/new": (302, 403, 403, 403, 200, 200),
    "GET /articles/suggest": (302, 200, 200, 200, 200, 200),
    "GET /custom-fields": (302, 403, 403, 403, 403, 200),
    "GET /customers": (302, 200, 200, 200, 200, 200),
    "GET /customers/<int:customer_id>": (302, 200, 200, 200, 200, 200),
    "GET /customers/<int:customer_id>/edit": (302, 200, 200, 200, 200, 200),
    "GET /customers/<int:customer_id>/facilities/new": (302, 200, 200, 200, 200, 200),
    "GET /customers/<int:customer_id>/options": (302, 200, 200, 200, 200, 200),
    "GET /customers/new": (302, 200, 200, 200, 200, 200),
    "GET /customers/search": (302, 200, 200, 200, 200, 200),
    "GET /facilities/<int:facility_id>/edit": (302, 200, 200, 200, 200, 200),
    "GET /facilities/<int:facility_id>/service-objects/new": (302, 200, 200, 200, 200, 200),
    "GET /integration/errors/<int:error_id>": (302, 200, 200, 200, 200, 200),
    "GET /login": (200, 302, 302, 302, 302, 302),
    "GET /orders": (302, 200, 200, 200, 200, 200),
    "GET /orders/<int:order_id>": (302, 200, 403, 403, 200, 200),
    "GET /orders/<int:order_id>/fortnox-preview": (302, 409, 403, 403, 409, 409),
    "GET /orders/<int:order_id>/fortnox-state": (302, 200, 403, 403, 200, 200),
    "GET /orders/<int:order_id>/fortnox.pdf": (302, 404, 403, 403, 404, 404),
    "GET /orders/<int:order_id>/protocol.pdf": (302, 200, 403, 403, 200, 200),
    "GET /orders/<int:order_id>/signature.png": (302, 200, 403, 403, 200, 200),
    "GET /orders/fortnox-states": (302, 200, 200, 200, 200, 200),
    "GET /orders/mine": (302, 200, 200, 200, 200, 200),
    "GET /orders/new": (302, 200, 200, 200, 200, 200),
    "GET /orders/unsent": (302, 200, 200, 200, 200, 200),
    "GET /profile": (302, 200, 200, 200, 200, 200),
    "GET /service-objects/<int:service_object_id>/edit": (302, 200, 200, 200, 200, 200),
    "GET /settings/integration": (302, 403, 403, 403, 403, 200),
    "GET /settings/integration/callback": (302, 302, 302, 302, 302, 302),
    "GET /settings/integration/runs": (302, 403, 403, 403, 200, 200),
    "GET /settings/integration/snapshots": (302, 403, 403, 403, 403, 200),
    "GET /settings/integration/snapshots/<int:snapshot_id>.xlsx": (302, 403, 403, 403, 403, 200),
    "GET /settings/integration/sync/<int:run_id>": (302, 403, 403, 403, 200, 200),
    "GET /settings/integration/sync/<int:run_id>.json": (302, 403, 403, 403, 200, 200),
    "GET /settings/protocol": (302, 403, 403, 403, 403, 200),
    "GET /static/<path:filename>": (200, 200, 200, 200, 200, 200),
    "GET /subgroups": (302, 403, 403, 403, 403, 200),
    "GET /users": (302, 403, 403, 403, 403, 200),
    "GET /users/<int:user_id>/edit": (302, 403, 403, 403, 403, 200),
    "GET /users/new": (302, 403, 403, 403, 403, 200),
    "PATCH /api/v1/articles/<int:article_id>": (401, 403, 403, 403, 200, 200),
    "PATCH /api/v1/customers/<int:customer_id>": (401, 200, 200, 200, 200, 200),
    "PATCH /api/v1/facilities/<int:facility_id>": (401, 200, 200, 200, 200, 200),
    "PATCH /api/v1/orders/<int:order_id>": (401, 200, 403, 403, 200, 200),
    "PATCH /api/v1/service-objects/<int:service_object_id>": (401, 200, 200, 200, 200, 200),
    "POST /api/v1/articles": (401, 403, 403, 403, 422, 422),
    "POST /api/v1/custom-fields": (401, 403, 403, 403, 403, 422),
    "POST /api/v1/customers": (401, 422, 422, 422, 422, 422),
    "POST /api/v1/facilities": (401, 422, 422, 422, 422, 422),
    "POST /api/v1/integrations/fortnox/connect": (401, 403, 403, 403, 403, 200),
    "POST /api/v1/integrations/fortnox/sync": (401, 403, 403, 403, 409, 409),
    "POST /api/v1/orders": (401, 422, 422, 422, 422, 422),
    "POST /api/v1/orders/<int:order_id>/comments": (401, 201, 403, 403, 201, 201),
    "POST /api/v1/orders/<int:order_id>/send": (401, 403, 403, 403, 409, 409),
    "POST /api/v1/orders/<int:order_id>/sign": (401, 200, 403, 403, 200, 200),
    "POST /api/v1/service-objects": (401, 422, 422, 422, 422, 422),
    "POST /api/v1/subgroups": (401, 403, 403, 403, 403, 422),
    "POST /api/v1/users": (401, 403, 403, 403, 403, 422),
    "POST /articles/<int:article_id>/edit": (302, 403, 403, 403, 422, 422),
    "POST /articles/new": (302, 403, 403, 403, 422, 422),
    "POST /custom-fields": (302, 403, 403, 403, 403, 422),
    "POST /customers/<int:customer_id>/delete": (302, 403, 403, 403, 302, 302),
    "POST /customers/<int:customer_id>/edit": (302, 422, 422, 422, 422, 422),
    "POST /customers/<int:customer_id>/facilities/new": (302, 422, 422, 422, 422, 422),
    "POST /customers/new": (302, 422, 422, 422, 422, 422),
    "POST /facilities/<int:facility_id>/edit": (302, 422, 422, 422, 422, 422),
    "POST /facilities/<int:facility_id>/service-objects/new": (302, 422, 422, 422, 422, 422),
    "POST /integration/errors/<int:error_id>/resolve": (302, 403, 403, 403, 403, 302),
    "POST /integration/errors/<int:error_id>/restart-feed": (302, 403, 403, 403, 302, 302),
    "POST /login": (422, 302, 302, 302, 302, 302),
    "POST /logout": (302, 302, 302, 302, 302, 302),
    # A blank post has no `version` (counted stale, issue #17): the technician's differs in
    # nothing saved and goes through; staff's would clear the subgroup, so it is a 409.
    "POST /orders/<int:order_id>": (302, 302, 403, 403, 409, 409),
    # The order page's other buttons save what is typed the same way, then need their own
    # field: the customer's name, a comment, an address (the order has no contact person).
    "POST /orders/<int:order_id>/comments": (302, 422, 403, 403, 409, 409),
    "POST /orders/<int:order_id>/protocol": (302, 422, 403, 403, 409, 409),
    # No list to add a row to, no status to move to: refused before anything is read.
    "POST /orders/<int:order_id>/rows": (302, 400, 403, 403, 400, 400),
    "POST /orders/<int:order_id>/send": (302, 403, 403, 403, 302, 302),
    "POST /orders/<int:order_id>/sign": (302, 422, 403, 403, 409, 409),
    "POST /orders/<int:order_id>/status": (302, 400, 403, 403, 400, 400),
    "POST /orders/new": (302, 422, 422, 422, 422, 422),
    "POST /orders/new/from-fortnox": (302, 422, 422, 422, 422, 422),
    "POST /orders/send": (302, 403, 403, 403, 302, 302),
    "POST /orders/unsent/retry": (302, 403, 403, 403, 302, 302),
    "POST /profile": (302, 302, 302, 302, 302, 302),
    "POST /profile/fortnox": (302, 403, 403, 403, 302, 302),
    "POST /profile/tokens": (302, 200, 200, 200, 200, 200),
    "POST /profile/tokens/<int:token_id>/delete": (302, 302, 404, 404, 404, 404),
    "POST /service-objects/<int:service_object_id>/edit": (302, 422, 422, 422, 422, 422),
    "POST /settings/integration/clear": (302, 403, 403, 403, 403, 302),
    "POST /settings/integration/connect": (302, 403, 403, 403, 403, 302),
    "POST /settings/integration/disconnect": (302, 403, 403, 403, 403, 409),
    "POST /settings/integration/schedule": (302, 403, 403, 403, 403, 302),
    "POST /settings/integration/settings": (302, 403, 403, 403, 403, 422),
    "POST /settings/integration/snapshots/<int:snapshot_id>/restore": (302, 403, 403, 403, 403, 302),  # noqa: E501
    "POST /settings/integration/sync": (302, 403, 403, 403, 302, 302),
    "POST /settings/protocol": (302, 403, 403, 403, 403, 302),
    "POST /subgroups": (302, 403, 403, 403, 403, 422),
    "POST /users/<int:user_id>/edit": (302, 403, 403, 403, 403, 422),
    "POST /users/new": (302, 403, 403, 403, 403, 422),
    "PUT /api/v1/integrations/fortnox/settings": (401, 403, 403, 403, 403, 200),
}
# fmt: on

# A body that passes validation, where the answer with an empty one (422) would hide whether
# the role and object checks let the caller through.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/orders/<int:order_id>/comments": {"text": "Kontrollerad"},
    "POST /api/v1/orders/<int:order_id>/sign": {"customer_name": "Kund Kundsson"},
}


_png: list[bytes] = []


def _signature() -> bytes:
    if not _png:
        _png.append(drawn_png((200, 100)))
    return _png[0]


def _noop_job() -> None:
    """A job for `GET /api/v1/jobs/<job_id>` to show (owned by the technician)."""


@dataclass
class People:
    west: Subgroup
    south: Subgroup
    users: dict[str, User]


@pytest.fixture
def people(app: Flask, make_user) -> People:  # type: ignore[no-untyped-def]
    west, south = Subgroup(name="Väst"), Subgroup(name="Syd")
    db.session.add_all([west, south])
    db.session.commit()
    users = {
        "technician": make_user("technician", subgroup=west),
        "technician_other": make_user("technician", subgroup=south),
        "technician_none": make_user("technician"),
        "office": make_user("office"),
        "admin": make_user("admin"),
    }
    return People(west, south, users)


_world_counter = {"n": 0}


def make_world(people: People) -> dict[str, Any]:
    """Fresh objects; returns the value for each path parameter name."""
    _world_counter["n"] += 1
    n = _world_counter["n"]
    technician = people.users["technician"]
    customer = factories.customer(name=f"Kund {n}", customer_number=str(5000 + n))
    facility = factories.facility(customer, name=f"Anläggning {n}")
    service_object = factories.service_object(facility, name=f"Maskin {n}")
    article = factories.article(str(7000 + n), name=f"Artikel {n}")
    order = create_order(
        {"kind": "service", "customer_id": customer.id, "subgroup_id": people.west.id},
        by=people.users["office"],
    )
    db.session.flush()
    sign_order(order, by=technician, customer_name="Kund Kundsson", signature=_signature())
    integration = db.session.query(FortnoxIntegration).filter_by(subgroup_id=None).first()
    if integration is None:
        integration = FortnoxIntegration(subgroup_id=None, settings={})
        db.session.add(integration)
        db.session.flush()
    run = SyncRun(
        integration_id=integration.id,
        trigger="manual",
        parts=["articles"],
        status=SyncRunStatus.FINISHED,
        finished_at=utcnow(),
    )
    error = IntegrationError(integration_id=integration.id, operation="sync", message="Fel")
    snapshot = ArticleSnapshot(integration_id=integration.id, reason="test", articles=[])
    db.session.add_all([run, error, snapshot])
    db.session.flush()
    token = create_api_token(technician, f"token {n}")
    db.session.commit()
    token_id = db.session.scalar(
        select(ApiToken.id).where(ApiToken.token_hash == ApiToken.hash(token))
    )
    job_id = enqueue(_noop_job, owner_id=technician.id)
    return {
        "order_id": order.id,
        "customer_id": customer.id,
        "facility_id": facility.id,
        "service_object_id": service_object.id,
        "article_id": article.id,
        "run_id": run.id,
        "error_id": error.id,
        "snapshot_id": snapshot.id,
        "token_id": token_id,
        "user_id": technician.id,
        "job_id": job_id,
        "filename": "app.css",
        "_token": token,
    }


def _rules(app: Flask) -> list[str]:
    keys = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            keys.append(f"{method} {rule.rule}")
    return sorted(keys)


def _path(rule: str, values: dict[str, Any]) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule)


def _signed_in_clients(app: Flask, people: People) -> dict[str, Any]:
    clients = {"anonymous": app.test_client()}
    for role, user in people.users.items():
        client = app.test_client()
        response = client.post("/login", data={"email": user.email, "password": "secret-password"})
        assert response.status_code == 302
        clients[role] = client
    return clients


def _tokens(people: People) -> dict[str, str | None]:
    tokens: dict[str, str | None] = {"anonymous": None}
    for role, user in people.users.items():
        tokens[role] = create_api_token(user, "matrix")
    db.session.commit()
    return tokens


class Callers:
    """Each role's signed-in web client and API token, made once and reused (signed in again
    after a sign-out)."""

    def __init__(self, app: Flask, people: People) -> None:
        self.app, self.people = app, people
        self.clients = _signed_in_clients(app, people)
        self.tokens = _tokens(people)

    def signed_out(self) -> None:
        self.clients = _signed_in_clients(self.app, self.people)


def _status(app: Flask, key: str, people: People, callers: Callers) -> tuple[int, ...]:
    method, rule = key.split(" ", 1)
    statuses: list[int] = []
    is_api = rule.startswith("/api/")
    clients, tokens = callers.clients, callers.tokens
    values = make_world(people)
    for role in ROLES:
        # A fresh world when the previous role's request may have changed it (it got through:
        # not refused nor invalid), so what one role did is never what the next one sees.
        if (
            method != "GET"
            and statuses
            and statuses[-1] < 400
            and ROLES[len(statuses) - 1] != "anonymous"
        ):
            values = make_world(people)
        path = _path(rule, values)
        if is_api:
            assert tokens is not None
            headers = {"Authorization": f"Bearer {tokens[role]}"} if tokens[role] else {}
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = BODIES.get(key, {})
            response = app.test_client().open(path, method=method, **kwargs)
        else:
            assert clients is not None
            response = clients[role].open(path, method=method, data={} if method != "GET" else None)
        statuses.append(response.status_code)
        db.session.rollback()
    if key == "POST /logout":
        callers.signed_out()
    return tuple(statuses)


def test_every_route_has_a_rule(app):
    """A new route without a row in EXPECTED fails here (and a row for a route that is gone)."""
    routes = set(_rules(app))
    assert sorted(routes - set(EXPECTED)) == [], "routes without a rule in EXPECTED"
    assert sorted(set(EXPECTED) - routes) == [], "rules for routes that do not exist"


def test_every_route_answers_each_role_as_the_table_says(app, people):
    """One pass over the table (one database for all: each role still gets fresh objects
    wherever a request may change them); every difference is listed at once."""
    wrong = {}
    callers = Callers(app, people)
    for key in sorted(EXPECTED):
        actual = _status(app, key, people, callers)
        if actual != EXPECTED[key]:
            wrong[key] = {"expected": EXPECTED[key], "actual": actual}
    assert wrong == {}, "\n".join(f"{k}: {v}" for k, v in wrong.items()) + f"\nroles: {ROLES}"
