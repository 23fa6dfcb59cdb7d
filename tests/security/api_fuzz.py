"""The generated campaign over the JSON API (issue #17 "no 500 for any input"), shared by the
quick pass in `make test` (tests/security/test_api_fuzz.py) and the long one in `make soak`
(tests/soak/test_api_fuzz_soak.py).

schemathesis reads the app's own OpenAPI document (/api/v1/openapi.json, served through the
WSGI app in-process: no network) and generates requests for every operation in it — valid
ones and invalid ones (wrong types, out-of-range numbers, unknown fields, odd Unicode, NUL
bytes) — so an endpoint added later is fuzzed without anyone writing a test for it. Every
answer must not be a 5xx and must match what the document says (status, content type, body
schema).

The requests are an administrator's (Bearer API token), so role checks do not turn every
case into a 403; the database holds one of each record (`seed`), and half of the generated
cases have their path ids and body ids (and article numbers) steered to those records, so
they reach past "404 not found" and "no such customer" into the services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.auth.models import Subgroup
from app.auth.services import create_api_token, create_user
from app.config import TestConfig
from app.db import utcnow
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens
from app.integrations.models import FortnoxIntegration, SyncRun, SyncRunStatus
from app.jobs import enqueue
from app.orders.services import create_order
from tests import factories
from tests.conftest import _empty_tables, make_app

OPENAPI_PATH = "/api/v1/openapi.json"

# What every answer must satisfy: no 5xx; a status the operation documents (each documents
# `default`, the error body, so this holds for any 4xx); the documented content type; a body
# that matches the documented schema of its status.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Operations left out of the campaign, each with its reason ("METHOD /path" as in the
# document). The seed connects subgroup Väst's integration (tokens that no Fortnox knows), so
# the Fortnox preview of the seeded order maps it with the settings; the organisation-wide
# one stays unconnected. Connecting (POST /integrations/fortnox/connect) stays in: it only
# builds the consent URL and records an OAuthState row, nothing leaves the app.
_FORTNOX_CALLS = {
    # Starts a send job (run inline in tests) that calls Fortnox for a connected integration:
    # needs the sandbox (tests/integrations/test_send.py, the send soak).
    "POST /api/v1/orders/{order_id}/send": "calls Fortnox; needs the sandbox",
    # Starts a sync job that reads every register from Fortnox for a connected integration:
    # needs the sandbox (tests/integrations/test_sync.py).
    "POST /api/v1/integrations/fortnox/sync": "calls Fortnox; needs the sandbox",
}
EXCLUDED_QUICK: dict[str, str] = {
    **_FORTNOX_CALLS,
    # WeasyPrint lays out a whole PDF (~0.5 s) for every case that names the seeded order:
    # too slow for `make test`. Its only input is the id (the converter's 1 … 2³¹−1, as for
    # every other order path); the soak campaign covers it.
    "GET /api/v1/orders/{order_id}/protocol.pdf": "PDF rendering is slow; in the soak run",
}
EXCLUDED_SOAK: dict[str, str] = dict(_FORTNOX_CALLS)


@dataclass(frozen=True)
class Seed:
    """What was made before the campaign: the administrator's API token, the record of each
    path parameter by its name, and the values body fields may name (ids of records that
    exist, an article number that does)."""

    token: str
    path: dict[str, Any]
    body: dict[str, Any]
    technician_token: str = ""  # the subgroup Väst technician's (assigned the seeded order)


# The seed of the running module (`fuzz_world` sets it): the hooks read it when they draw a
# case, after the fixture has made the records.
CURRENT: dict[str, Seed] = {}


def _noop_job() -> str:
    """A finished job for GET /api/v1/jobs/{job_id} to find."""
    return "ok"


def seed() -> Seed:
    """One record of each kind the API's paths and bodies name."""
    admin = create_user(
        email="fuzz-admin@example.com", name="Fuzz Admin", password="secret-password", role="admin"
    )
    subgroup = Subgroup(name="Väst")
    db.session.add(subgroup)
    db.session.flush()
    technician = create_user(
        email="fuzz-tech@example.com",
        name="Fuzz Tekniker",
        password="secret-password",
        role="technician",
        subgroup=subgroup,
    )
    customer = factories.customer(
        name="Fuzz Kund AB", customer_number="9001", contacts=[{"name": "Eva Ek"}]
    )
    facility = factories.facility(customer, name="Fuzz Anläggning")
    service_object = factories.service_object(facility, name="Fuzz Maskin")
    article = factories.article("F001", name="Fuzz Artikel")
    order = create_order(
        {
            "kind": "service",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "subgroup_id": subgroup.id,
            "assigned_user_id": technician.id,
            "description": "Fuzz",
            "actions": [{"description": "Bytte filter", "hours": 1}],
            "article_rows": [{"article_number": "F001", "quantity": 2}],
            "service_objects": [{"service_object_id": service_object.id}],
        },
        by=admin,
    )
    # Väst's integration is connected (the order's preview maps it), the organisation-wide
    # one is not: see _FORTNOX_CALLS.
    integration = FortnoxIntegration(subgroup_id=subgroup.id, settings={})
    integration.encrypted_tokens = encrypt_tokens(
        Tokens("fuzz-access", "fuzz-refresh", utcnow() + timedelta(hours=1), "invoice"),
        services.token_key(),
    )
    db.session.add_all([integration, FortnoxIntegration(subgroup_id=None, settings={})])
    db.session.flush()
    run = SyncRun(
        integration_id=integration.id,
        trigger="manual",
        parts=["articles"],
        status=SyncRunStatus.FINISHED,
        finished_at=utcnow(),
    )
    db.session.add(run)
    token = create_api_token(admin, "fuzz")
    technician_token = create_api_token(technician, "fuzz")
    db.session.commit()
    job_id = enqueue(_noop_job, owner_id=admin.id)
    return Seed(
        token=token,
        technician_token=technician_token,
        path={
            "customer_id": customer.id,
            "facility_id": facility.id,
            "service_object_id": service_object.id,
            "article_id": article.id,
            "order_id": order.id,
            "run_id": run.id,
            "job_id": job_id,
        },
        body={
            "customer_id": customer.id,
            "facility_id": facility.id,
            "service_object_id": service_object.id,
            "contact_id": customer.contacts[0].id,
            "subgroup_id": subgroup.id,
            "assigned_user_id": technician.id,
            "technician_id": technician.id,
            "user_id": technician.id,
            "article_number": article.article_number,
        },
    )


def _steered(value: Any, known: dict[str, Any]) -> Any:
    """``value`` (a JSON body) with every field named in ``known`` set to the known value,
    where the generated one has the same type (an id stays an id: a string sent for an id is
    left alone, it tests the refusal)."""
    if isinstance(value, dict):
        return {
            key: known[key]
            if key in known and type(item) is type(known[key])
            else _steered(item, known)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_steered(item, known) for item in value]
    return value


def load_schema(*, max_examples: int, excluded: dict[str, str]) -> BaseSchema:
    """The app's OpenAPI document as a schemathesis schema: ``max_examples`` generated cases
    per operation (plus the explicit and boundary cases of the examples and coverage phases),
    deterministic (the same cases on every run), valid and invalid input, every documented
    operation but ``excluded``.

    Loaded when the test module is collected, from an app of its own (the document needs no
    database), so each operation is a test of its own; the cases are sent to the test's `app`
    (`call`). schemathesis' fixture loader (`schemathesis.pytest.from_fixture`) would load it
    from the test's app instead, but it does not run under pytest 9.2 (it sets
    `Function._nodeid`, which pytest 9.2 no longer has)."""
    config = SchemathesisConfig.from_dict(
        {
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "database": "none",
                # Our Authorization header is sent as is (`call`): no generated tokens, which
                # would only make every case a 401.
                "with-security-parameters": False,
            },
        }
    )
    schema = schemathesis.openapi.from_wsgi(OPENAPI_PATH, create_app(TestConfig), config=config)
    schema = schema.exclude(
        func=lambda ctx: f"{ctx.operation.method.upper()} {ctx.operation.path}" in excluded
    )

    # Half of the cases name the seeded records instead of random ids, so the views and
    # services behind the lookups are reached too (a random id is almost always a 404 or 422).

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        steered = _steered(path_parameters, CURRENT["seed"].path)
        return st.sampled_from([path_parameters, steered])

    @schema.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        steered = _steered(body, CURRENT["seed"].body)
        return st.sampled_from([body, steered])

    return schema


@contextmanager
def fuzz_world() -> Iterator[tuple[Flask, Seed]]:
    """An app on the suite's test database with the seeded records, for all the operations of
    a module: the suite's `app` fixture, once per module instead of once per operation (its
    setup and teardown cost more than an operation's cases). Leaves the database empty, as
    every test does."""
    application = make_app()
    with application.app_context():
        try:
            CURRENT["seed"] = seed()
            yield application, CURRENT["seed"]
        finally:
            CURRENT.clear()
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def call(
    case: Any, app: Flask, found: Seed, checks: list[Any], *, as_technician: bool = False
) -> None:
    """Send ``case`` to ``app`` as the seeded administrator (or the seeded technician) and run
    ``checks`` on the answer.

    The session is removed first: the test's app context stays pushed, and Flask would reuse
    its session for every request, where production starts each request afresh."""
    db.session.remove()
    headers = auth_headers(found, as_technician=as_technician)
    case.call_and_validate(app=app, headers=headers, checks=checks)


def auth_headers(found: Seed, *, as_technician: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {found.technician_token if as_technician else found.token}"}
