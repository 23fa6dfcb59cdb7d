"""The OAuth 2 authorization-code flow, token lifetimes and scopes (FACTS.md §1)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import requests

from fortnox_sandbox.testing import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SandboxServer,
    TokenSet,
    tenant_of,
)

from .conftest import error_code

REDIRECT = "http://127.0.0.1:5000/integrations/fortnox/callback"
AUTH = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "companyinformation order invoice customer",
        "state": "csrf-123",
        "access_type": "offline",
        "response_type": "code",
    }
    params.update(overrides)
    return params


def redirect_query(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_request(sandbox: SandboxServer, auth: tuple[str, str] = AUTH, **form: str):
    return requests.post(f"{sandbox.oauth_url}/token", data=form, auth=auth)


def approve_on_consent_page(sandbox: SandboxServer, company: dict[str, str]) -> dict[str, str]:
    page = requests.get(f"{sandbox.oauth_url}/auth", params=authorize_params())
    assert page.status_code == 200
    assert "Godkänn" in page.text and "Neka" in page.text
    hidden = dict(re.findall(r"name='(\w+)' value='([^']*)'", page.text))
    answer = requests.post(
        f"{sandbox.oauth_url}/auth",
        data={**hidden, **company, "decision": "approve"},
        allow_redirects=False,
    )
    return redirect_query(answer)


def test_full_flow_through_the_consent_page(sandbox: SandboxServer) -> None:
    query = approve_on_consent_page(
        sandbox, {"CompanyName": "Kyl & Värme AB", "OrganizationNumber": "556123-4567"}
    )
    assert query["state"] == "csrf-123"

    answer = token_request(
        sandbox, grant_type="authorization_code", code=query["code"], redirect_uri=REDIRECT
    )

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["scope"] == "companyinformation customer invoice order"
    assert body["refresh_token"]
    info = requests.get(
        f"{sandbox.api_url}/companyinformation",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    ).json()["CompanyInformation"]
    assert info["CompanyName"] == "Kyl & Värme AB"
    assert info["OrganizationNumber"] == "556123-4567"
    # FACTS.md §1: the access token is a JWT whose tenantId is the DatabaseNumber.
    assert tenant_of(body["access_token"]) == info["DatabaseNumber"]


def test_deny_redirects_with_access_denied_and_state(sandbox: SandboxServer) -> None:
    answer = requests.post(
        f"{sandbox.oauth_url}/auth",
        data={**authorize_params(), "decision": "deny"},
        allow_redirects=False,
    )

    query = redirect_query(answer)
    assert query["error"] == "access_denied" and query["state"] == "csrf-123"
    assert "code" not in query


def test_auto_approve_redirects_at_once(sandbox: SandboxServer) -> None:
    sandbox.set_auto_approve(True)

    answer = requests.get(
        f"{sandbox.oauth_url}/auth", params=authorize_params(), allow_redirects=False
    )

    assert set(redirect_query(answer)) == {"code", "state"}


def test_authorize_request_errors(sandbox: SandboxServer) -> None:
    unknown_client = requests.get(
        f"{sandbox.oauth_url}/auth", params=authorize_params(client_id="nobody")
    )
    foreign_redirect = requests.get(
        f"{sandbox.oauth_url}/auth",
        params=authorize_params(redirect_uri="https://evil.example/cb"),
    )
    bad_scope = requests.get(
        f"{sandbox.oauth_url}/auth",
        params=authorize_params(scope="order everything"),
        allow_redirects=False,
    )
    no_state = requests.get(
        f"{sandbox.oauth_url}/auth", params=authorize_params(state=""), allow_redirects=False
    )

    assert unknown_client.status_code == 400
    assert foreign_redirect.status_code == 400 and "Location" not in foreign_redirect.headers
    assert redirect_query(bad_scope)["error"] == "invalid_scope"
    assert redirect_query(no_state)["error"] == "invalid_request"


def test_codes_work_once_and_only_for_ten_minutes(sandbox: SandboxServer) -> None:
    sandbox.set_auto_approve(True)

    def new_code() -> str:
        answer = requests.get(
            f"{sandbox.oauth_url}/auth", params=authorize_params(), allow_redirects=False
        )
        return redirect_query(answer)["code"]

    code = new_code()
    first = token_request(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    again = token_request(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert first.status_code == 200
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    late = new_code()
    sandbox.advance_clock(601)
    expired = token_request(
        sandbox, grant_type="authorization_code", code=late, redirect_uri=REDIRECT
    )
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


def test_code_exchange_needs_the_same_redirect_uri_and_the_client_secret(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_auto_approve(True)
    answer = requests.get(
        f"{sandbox.oauth_url}/auth", params=authorize_params(), allow_redirects=False
    )
    code = redirect_query(answer)["code"]

    wrong_secret = token_request(
        sandbox, (DEFAULT_CLIENT_ID, "guess"), grant_type="authorization_code", code=code,
        redirect_uri=REDIRECT,
    )  # fmt: skip
    wrong_redirect = token_request(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "/x"
    )

    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    assert wrong_redirect.status_code == 400
    assert wrong_redirect.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_a_spent_refresh_token_is_invalid_grant(
    sandbox: SandboxServer, tokens: TokenSet
) -> None:
    first = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens.refresh_token
    assert rotated["access_token"] != tokens.access_token

    spent = token_request(sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token)
    assert spent.status_code == 400
    assert spent.json()["error"] == "invalid_grant"

    # The rotated one works once more, for the same tenant.
    second = token_request(
        sandbox, grant_type="refresh_token", refresh_token=rotated["refresh_token"]
    )
    assert second.status_code == 200
    assert tenant_of(second.json()["access_token"]) == tokens.tenant


def test_access_tokens_expire_after_an_hour(sandbox: SandboxServer, tokens: TokenSet) -> None:
    url = f"{sandbox.api_url}/companyinformation"

    sandbox.advance_clock(3590)
    assert requests.get(url, headers=tokens.headers).status_code == 200
    sandbox.advance_clock(11)
    expired = requests.get(url, headers=tokens.headers)

    assert expired.status_code == 401
    assert error_code(expired) == 2000310
    refreshed = token_request(
        sandbox, grant_type="refresh_token", refresh_token=tokens.refresh_token
    )
    assert refreshed.status_code == 200
    headers = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert requests.get(url, headers=headers).status_code == 200


def test_missing_or_unknown_bearer_token(sandbox: SandboxServer) -> None:
    missing = requests.get(f"{sandbox.api_url}/orders")
    unknown = requests.get(
        f"{sandbox.api_url}/orders", headers={"Authorization": "Bearer not-a-token"}
    )

    assert missing.status_code == 401 and error_code(missing) == 2000311
    assert unknown.status_code == 401 and error_code(unknown) == 2000310


def test_scopes_are_enforced_per_resource(sandbox: SandboxServer) -> None:
    only_customers = sandbox.obtain_tokens(scopes=("customer",))

    customers = requests.get(f"{sandbox.api_url}/customers", headers=only_customers.headers)
    orders = requests.get(f"{sandbox.api_url}/orders", headers=only_customers.headers)
    cost_centers = requests.get(f"{sandbox.api_url}/costcenters", headers=only_customers.headers)

    assert customers.status_code == 200
    assert orders.status_code == 403 and error_code(orders) == 2000663
    assert cost_centers.status_code == 403


def test_createinvoice_needs_the_invoice_scope_too(sandbox: SandboxServer) -> None:
    orders_only = sandbox.obtain_tokens(scopes=("order",))
    created = requests.post(
        f"{sandbox.api_url}/orders",
        json={"Order": {"CustomerNumber": "1"}},
        headers=orders_only.headers,
    )
    number = created.json()["Order"]["DocumentNumber"]

    answer = requests.put(
        f"{sandbox.api_url}/orders/{number}/createinvoice", headers=orders_only.headers
    )

    assert answer.status_code == 403


def test_client_credentials_for_service_accounts(sandbox: SandboxServer) -> None:
    sandbox.set_auto_approve(True)
    consent = requests.get(
        f"{sandbox.oauth_url}/auth",
        params=authorize_params(account_type="service"),
        allow_redirects=False,
    )
    code = redirect_query(consent)["code"]
    tenant = tenant_of(
        token_request(
            sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        ).json()["access_token"]
    )

    answer = requests.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "client_credentials"},
        auth=AUTH,
        headers={"TenantId": str(tenant)},
    )

    assert answer.status_code == 200
    assert "refresh_token" not in answer.json()
    assert tenant_of(answer.json()["access_token"]) == tenant


def test_client_credentials_need_service_consent(sandbox: SandboxServer, tokens: TokenSet) -> None:
    answer = requests.post(
        f"{sandbox.oauth_url}/token",
        data={"grant_type": "client_credentials"},
        auth=AUTH,
        headers={"TenantId": str(tokens.tenant)},
    )

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
