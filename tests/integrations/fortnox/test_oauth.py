"""The OAuth helpers against the sandbox's /oauth-v1, over real HTTP (FACTS.md §1)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxAuthorizationRevoked,
    FortnoxServerError,
)
from app.integrations.fortnox.oauth import (
    authorization_url,
    check_transport,
    exchange_code,
    refresh,
)
from app.integrations.fortnox.tokens import MemoryTokenStore
from fortnox_sandbox.testing import SandboxServer

try:  # tests/ as packages, or plain directories (pytest's default "prepend" import mode)
    from . import client_fixtures as fx
except ImportError:
    import client_fixtures as fx

sandbox_server = fx.sandbox_server
sandbox = fx.sandbox


def test_authorization_url_asks_for_offline_access_with_every_parameter() -> None:
    url = authorization_url(
        "https://apps.fortnox.se/oauth-v1",
        "my-client",
        "https://ordna.example/cb",
        ["order", "invoice"],
        "csrf-1",
    )

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://apps.fortnox.se/oauth-v1/auth"
    assert parse_qs(parts.query) == {
        "client_id": ["my-client"],
        "redirect_uri": ["https://ordna.example/cb"],
        "scope": ["order invoice"],
        "state": ["csrf-1"],
        "access_type": ["offline"],
        "response_type": ["code"],
    }


def test_full_code_exchange_gives_working_tokens(sandbox: SandboxServer) -> None:
    clock = fx.SimClock(sandbox)
    code = fx.authorization_code(sandbox, state="state-xyz")

    before = clock.now()
    tokens = exchange_code(
        sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, code, fx.REDIRECT_URI, clock=clock.now
    )

    assert tokens.access_token and tokens.refresh_token
    assert set(tokens.scope.split()) == set(fx.SCOPES)
    # FACTS.md §1: one hour, counted from when the answer arrived on our clock.
    assert before + timedelta(minutes=59) < tokens.expires_at <= clock.now() + timedelta(hours=1)
    exchange = sandbox.requests_log(method="POST", path="/oauth-v1/token")
    assert [e["status"] for e in exchange] == [200]
    assert exchange[0]["body"]["grant_type"] == "authorization_code"
    # Client credentials go in HTTP Basic (the sandbox refuses them anywhere else), never
    # in the body.
    assert "client_secret" not in exchange[0]["body"]
    # …and the tokens open the API.
    client = fx.make_client(sandbox, MemoryTokenStore(tokens), clock=clock)
    assert client.company_information()["CompanyName"] == "Sandlådan AB"


def test_a_code_works_once(sandbox: SandboxServer) -> None:
    code = fx.authorization_code(sandbox)
    exchange_code(sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, code, fx.REDIRECT_URI)

    with pytest.raises(FortnoxAuthorizationRevoked) as caught:
        exchange_code(sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, code, fx.REDIRECT_URI)

    assert "Anslut igen" in caught.value.user_message


def test_wrong_client_secret_is_an_auth_error_not_a_revocation(sandbox: SandboxServer) -> None:
    code = fx.authorization_code(sandbox)

    with pytest.raises(FortnoxAuthError) as caught:
        exchange_code(sandbox.oauth_url, fx.CLIENT_ID, "wrong", code, fx.REDIRECT_URI)

    assert not isinstance(caught.value, FortnoxAuthorizationRevoked)


def test_refresh_rotates_and_the_old_refresh_token_is_spent(sandbox: SandboxServer) -> None:
    tokens = fx.connect(sandbox)

    fresh = refresh(sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, tokens.refresh_token)

    assert fresh.refresh_token != tokens.refresh_token
    assert fresh.access_token != tokens.access_token
    with pytest.raises(FortnoxAuthorizationRevoked):
        refresh(sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, tokens.refresh_token)


def test_token_endpoint_outage_is_a_server_error(sandbox: SandboxServer) -> None:
    tokens = fx.connect(sandbox)
    sandbox.add_fault("status", method="POST", path_pattern="/oauth-v1/token", status=503)

    with pytest.raises(FortnoxServerError):
        refresh(sandbox.oauth_url, fx.CLIENT_ID, fx.CLIENT_SECRET, tokens.refresh_token)


@pytest.mark.parametrize(
    "url",
    ["http://api.fortnox.se/3", "ftp://127.0.0.1/3", "http://10.0.0.5:8000/3"],
)
def test_plain_http_is_refused_except_to_loopback(url: str) -> None:
    with pytest.raises(ValueError):
        check_transport(url)
    check_transport("http://127.0.0.1:8765/3")
    check_transport("https://api.fortnox.se/3")
