"""/_sandbox controls: tenants and their isolation, clock, request log, accountant actions."""

from __future__ import annotations

import base64
import json

import requests

from fortnox_sandbox.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxServer

from .conftest import Api, error_code

COMPANY_A = {"CompanyName": "Alfa Kyl AB", "OrganizationNumber": "556111-1111"}
COMPANY_B = {"CompanyName": "Beta Värme AB", "OrganizationNumber": "556222-2222"}


def test_tenants_are_isolated(sandbox: SandboxServer) -> None:
    alfa = Api(sandbox, sandbox.obtain_tokens(company=COMPANY_A))
    beta = Api(sandbox, sandbox.obtain_tokens(company=COMPANY_B))

    alfa.post("/customers", {"Customer": {"CustomerNumber": "A1", "Name": "Bara hos Alfa"}})
    alfa.post("/orders", {"Order": {"CustomerNumber": "A1"}})

    assert alfa.tokens.tenant != beta.tokens.tenant
    assert beta.get("/customers/A1").status_code == 404
    assert beta.get("/orders").json()["Orders"] == []
    assert beta.post("/orders", {"Order": {"CustomerNumber": "A1"}}).status_code == 400
    assert beta.get("/companyinformation").json()["CompanyInformation"]["CompanyName"] == (
        "Beta Värme AB"
    )
    # Document numbers are per tenant.
    assert (
        beta.post("/orders", {"Order": {"CustomerNumber": "1"}}).json()["Order"]["DocumentNumber"]
        == "1"
    )


def test_reconnecting_a_company_reuses_its_tenant(sandbox: SandboxServer) -> None:
    first = sandbox.obtain_tokens(company=COMPANY_A)
    Api(sandbox, first).post("/customers", {"Customer": {"CustomerNumber": "X", "Name": "X"}})

    second = sandbox.obtain_tokens(company=COMPANY_A)

    assert second.tenant == first.tenant
    assert Api(sandbox, second).get("/customers/X").status_code == 200
    assert [t["CompanyName"] for t in sandbox.tenants()] == ["Alfa Kyl AB"]


def test_tenants_can_be_created_and_given_tokens_directly(sandbox: SandboxServer) -> None:
    tenant = sandbox.create_tenant("Tom AB", "556333-3333", seed=False)
    tokens = sandbox.issue_tokens(tenant, scopes=("customer", "settings"))
    api = Api(sandbox, tokens)

    assert tokens.tenant == tenant
    assert api.get("/customers").json()["Customers"] == []
    # Units exist in every new company, seeded or not.
    assert "st" in [u["Code"] for u in api.get("/units").json()["Units"]]
    assert api.get("/orders").status_code == 403  # no order scope


def test_clock_controls(sandbox: SandboxServer) -> None:
    moved = sandbox.set_clock("2030-06-01T12:00:00+00:00")
    assert moved["now"].startswith("2030-06-01T12:00")
    advanced = sandbox.advance_clock(3600)
    assert advanced["now"].startswith("2030-06-01T13:00")
    frozen = sandbox.control("POST", "clock", {"frozen": True})
    assert sandbox.control("GET", "clock")["now"] == frozen["now"]
    assert sandbox.control("POST", "clock", {"reset": True})["offset_seconds"] < 1
    bad = requests.post(f"{sandbox.base_url}/_sandbox/clock", json={"now": "soon"})
    assert bad.status_code == 400


def test_reset_forgets_everything(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("status", count=None)

    sandbox.reset()

    assert sandbox.tenants() == []
    assert sandbox.control("GET", "faults")["faults"] == []
    assert api.get("/customers").status_code == 401  # its token is gone too


def test_request_log_records_what_was_sent(sandbox: SandboxServer, api: Api) -> None:
    api.post("/orders", {"Order": {"CustomerNumber": "1", "YourReference": "Anna"}})
    api.post("/orders", {"Order": {"CustomerNumber": "1", "Bad": 1}})

    posts = sandbox.requests_log(method="POST", path="/3/orders")

    assert [(e["status"], e["body"]["Order"].get("YourReference")) for e in posts] == [
        (201, "Anna"),
        (400, None),
    ]
    assert posts[0]["tenant"] == api.tokens.tenant
    assert posts[0]["response"]["Order"]["DocumentNumber"] == "1"
    assert posts[1]["response"]["ErrorInformation"]["code"] == 2001399
    token_calls = sandbox.requests_log(path="/oauth-v1/token")
    assert token_calls and token_calls[0]["body"]["grant_type"] == "authorization_code"
    sandbox.clear_requests()
    assert sandbox.requests_log() == []


def test_request_log_keeps_the_headers_with_secrets_redacted(
    sandbox: SandboxServer, api: Api
) -> None:
    api.get("/customers", headers={"X-Request-Id": "abc-123"})

    (entry,) = sandbox.requests_log(path="/3/customers")
    (token_call,) = sandbox.requests_log(path="/oauth-v1/token")

    assert entry["headers"]["X-Request-Id"] == "abc-123"
    assert entry["headers"]["Accept"] == "application/json"
    assert entry["headers"]["Authorization"] == "Bearer <redacted>"
    assert token_call["headers"]["Authorization"] == "Basic <redacted>"
    assert token_call["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    credentials = f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()
    headers = json.dumps([entry["headers"], token_call["headers"]])
    assert api.tokens.access_token not in headers
    assert base64.b64encode(credentials).decode() not in headers


def test_accountant_invoices_sends_books_and_is_seen_by_the_api(
    sandbox: SandboxServer, api: Api
) -> None:
    tenant = api.tokens.tenant
    api.post("/orders", {"Order": {"CustomerNumber": "1", "OrderRows": [
        {"ArticleNumber": "100", "DeliveredQuantity": "1"}]}})  # fmt: skip

    invoiced = sandbox.accountant("POST", f"tenants/{tenant}/orders/1/invoice")
    number = invoiced.json()["Invoice"]["DocumentNumber"]
    sent = sandbox.accountant("POST", f"tenants/{tenant}/invoices/{number}/send")
    booked = sandbox.accountant("POST", f"tenants/{tenant}/invoices/{number}/book")
    twice = sandbox.accountant("POST", f"tenants/{tenant}/invoices/{number}/book")

    assert invoiced.status_code == sent.status_code == booked.status_code == 200
    assert twice.status_code == 400 and error_code(twice) == 2003125
    invoice = api.get(f"/invoices/{number}").json()["Invoice"]
    assert (invoice["Sent"], invoice["Booked"], invoice["OrderReference"]) == (True, True, "1")
    assert api.get("/orders/1").json()["Order"]["InvoiceReference"] == number


def test_accountant_registers_changes(sandbox: SandboxServer, api: Api) -> None:
    tenant = api.tokens.tenant

    created = sandbox.accountant(
        "POST", f"tenants/{tenant}/customers", {"Customer": {"Name": "Från bokföraren"}}
    )
    updated = sandbox.accountant(
        "PUT", f"tenants/{tenant}/articles/100", {"Article": {"Description": "Arbete"}}
    )
    deactivated = sandbox.accountant("POST", f"tenants/{tenant}/articles/200/deactivate")
    invalid = sandbox.accountant(
        "POST", f"tenants/{tenant}/customers", {"Customer": {"Name": "X", "Nope": 1}}
    )
    new_cost_center = {"CostCenter": {"Code": "77", "Description": "Ny"}}
    passthrough = sandbox.accountant("POST", f"tenants/{tenant}/api/costcenters", new_cost_center)

    assert created.status_code == 201 and updated.status_code == 200
    assert invalid.status_code == 400 and error_code(invalid) == 2001399
    assert passthrough.status_code == 201
    assert deactivated.json()["Article"]["Active"] is False
    assert api.get("/articles/100").json()["Article"]["Description"] == "Arbete"
    active = api.get("/articles", params={"filter": "active"}).json()["Articles"]
    assert "200" not in [a["ArticleNumber"] for a in active]
    rejected = api.post("/orders", {"Order": {"CustomerNumber": "1", "OrderRows": [
        {"ArticleNumber": "200", "DeliveredQuantity": "1"}]}})  # fmt: skip
    assert rejected.status_code == 400
    assert sandbox.accountant("GET", "tenants/999").status_code == 404


def test_capitalised_error_keys_and_403_for_bad_tokens_are_configurable() -> None:
    from fortnox_sandbox.testing import serve

    with serve(SANDBOX_ERROR_KEYS="capitalised", SANDBOX_AUTH_ERROR_STATUS=403) as server:
        api = Api(server, server.obtain_tokens())
        refused = api.post("/orders", {"Order": {"CustomerNumber": "1", "X": 1}})
        no_token = requests.get(f"{server.api_url}/orders")

    assert refused.json() == {
        "ErrorInformation": {"Error": 1, "Message": "Felaktigt fältnamn (X)", "Code": 2001399}
    }
    assert no_token.status_code == 403
