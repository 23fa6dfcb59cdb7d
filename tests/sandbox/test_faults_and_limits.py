"""Rate limit (FACTS.md §2) and the injected faults of /_sandbox/faults."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from fortnox_sandbox.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SandboxServer

from .conftest import Api, error_code

ORDER = {"Order": {"CustomerNumber": "1", "OrderRows": [{"ArticleNumber": "100",
                                                         "DeliveredQuantity": "1"}]}}  # fmt: skip


def test_the_26th_request_in_five_seconds_is_429(sandbox: SandboxServer, api: Api) -> None:
    sandbox.control("POST", "clock", {"frozen": True})
    statuses = [api.get("/companyinformation").status_code for _ in range(26)]

    assert statuses[:25] == [200] * 25
    assert statuses[25] == 429
    limited = api.get("/customers")
    assert limited.status_code == 429 and error_code(limited) == 0
    assert "Retry-After" not in limited.headers

    sandbox.advance_clock(5.01)
    assert api.get("/companyinformation").status_code == 200


def test_the_limit_is_per_client_and_tenant_not_per_token(sandbox: SandboxServer, api: Api) -> None:
    sandbox.control("POST", "clock", {"frozen": True})
    for _ in range(25):
        api.get("/companyinformation")
    # Another company: its own budget.
    other = Api(
        sandbox,
        sandbox.obtain_tokens(company={"CompanyName": "B", "OrganizationNumber": "556000-0002"}),
    )
    assert other.get("/companyinformation").status_code == 200
    # A refreshed token of the same client+tenant shares the budget.
    refreshed = requests.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": api.tokens.refresh_token},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    ).json()
    answer = requests.get(
        f"{sandbox.api_url}/companyinformation",
        headers={"Authorization": f"Bearer {refreshed['access_token']}"},
    )
    assert answer.status_code == 429


def test_rate_limit_can_be_configured_off() -> None:
    from fortnox_sandbox.testing import serve

    with serve(SANDBOX_RATE_LIMIT=None) as server:
        api = Api(server, server.obtain_tokens())
        assert {api.get("/companyinformation").status_code for _ in range(30)} == {200}


def test_status_fault_hits_count_matching_requests(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("status", method="POST", path_pattern="/3/orders*", status=503, count=2)

    first, second = api.post("/orders", ORDER), api.post("/orders", ORDER)
    read = api.get("/orders")
    third = api.post("/orders", ORDER)

    assert (first.status_code, second.status_code) == (503, 503)
    assert error_code(first) == 1000003
    assert read.status_code == 200 and read.json()["Orders"] == []  # GET unaffected, none made
    assert third.status_code == 201


def test_latency_fault_delays_the_answer(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("latency", path_pattern="/3/customers", latency_ms=300)

    started = time.perf_counter()
    slow = api.get("/customers")
    slow_seconds = time.perf_counter() - started
    started = time.perf_counter()
    api.get("/customers")
    fast_seconds = time.perf_counter() - started

    assert slow.status_code == 200
    assert slow_seconds >= 0.3 > fast_seconds


def test_a_request_delayed_across_a_reset_is_not_run_or_logged(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.add_fault("latency", method="POST", path_pattern="/3/customers", latency_ms=800)
    with ThreadPoolExecutor(1) as pool:
        delayed = pool.submit(api.post, "/customers", {"Customer": {"Name": "Före reset"}})
        time.sleep(0.2)  # the request is asleep in the fault
        sandbox.reset()
        fresh = Api(sandbox, sandbox.obtain_tokens())  # the same company, a new tenant
        answer = delayed.result(timeout=5)

    # Not answered as if the old state were there (no 201, no "bad token" 401): 503.
    assert answer.status_code == 503 and error_code(answer) == 1000003
    assert "återställdes" in answer.json()["ErrorInformation"]["message"]
    names = [c["Name"] for c in fresh.get("/customers").json()["Customers"]]
    assert "Före reset" not in names
    assert sandbox.requests_log(path="/3/customers", method="POST") == []


def test_an_authorisation_delayed_across_a_reset_connects_nothing(sandbox: SandboxServer) -> None:
    sandbox.set_auto_approve(True)
    sandbox.add_fault("latency", path_pattern="/oauth-v1/auth", latency_ms=800)
    params = {"client_id": DEFAULT_CLIENT_ID, "redirect_uri": "http://127.0.0.1/cb",
              "scope": "customer", "state": "s", "response_type": "code"}  # fmt: skip
    with ThreadPoolExecutor(1) as pool:
        delayed = pool.submit(
            requests.get, f"{sandbox.oauth_url}/auth", params=params, allow_redirects=False
        )
        time.sleep(0.2)
        sandbox.reset()
        sandbox.set_auto_approve(True)  # the new state approves too: the old request must not
        answer = delayed.result(timeout=5)

    assert answer.status_code == 503 and answer.json()["error"] == "temporarily_unavailable"
    assert sandbox.tenants() == []
    assert sandbox.requests_log() == []


def test_rate_limit_fault(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("rate_limit", path_pattern="/3/invoices*")

    assert api.get("/invoices").status_code == 429
    assert api.get("/invoices").status_code == 200


def test_drop_after_create_creates_the_document_but_sends_no_answer(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.add_fault("drop_after_create", method="POST", path_pattern="/3/orders")

    with pytest.raises(requests.ConnectionError):
        api.post("/orders", ORDER)

    orders = api.get("/orders").json()["Orders"]
    assert [o["DocumentNumber"] for o in orders] == ["1"]
    logged = sandbox.requests_log(method="POST", path="/3/orders")
    assert logged[-1]["dropped"] is True and logged[-1]["status"] == 201


def test_revoke_fault_ends_the_authorisation(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("revoke", path_pattern="/3/orders")

    revoked = api.get("/orders")
    after = api.get("/customers")
    refresh = requests.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": api.tokens.refresh_token},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )

    assert revoked.status_code == 401 and error_code(revoked) == 2000310
    assert after.status_code == 401
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    # A new consent connects the same company (tenant) again.
    again = sandbox.obtain_tokens()
    assert again.tenant == api.tokens.tenant
    assert requests.get(f"{sandbox.api_url}/orders", headers=again.headers).status_code == 200


def test_faults_on_the_token_endpoint_answer_in_oauth_form(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.add_fault("status", path_pattern="/oauth-v1/token", status=503)

    answer = requests.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "refresh_token", "refresh_token": api.tokens.refresh_token},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )

    assert answer.status_code == 503 and answer.json()["error"] == "temporarily_unavailable"


def test_faults_are_listed_and_cleared(sandbox: SandboxServer, api: Api) -> None:
    sandbox.add_fault("status", status=500, count=None)
    assert [f["kind"] for f in sandbox.control("GET", "faults")["faults"]] == ["status"]
    assert api.get("/customers").status_code == 500
    assert api.get("/customers").status_code == 500  # count None: until cleared

    sandbox.clear_faults()

    assert api.get("/customers").status_code == 200
    bad = requests.post(f"{sandbox.base_url}/_sandbox/faults", json={"kind": "meteor"})
    assert bad.status_code == 400
