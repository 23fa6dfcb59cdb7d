"""Run the sandbox in-process for tests: ``with serve() as sandbox: ...``.

The server is werkzeug's threaded ``make_server`` on 127.0.0.1 and a free port, in a daemon
thread, so clients talk to it over real HTTP exactly as they would to Fortnox.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import create_app

DEFAULT_CLIENT_ID = "ordna-dev"
DEFAULT_CLIENT_SECRET = "ordna-dev-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1/fortnox/callback"
ALL_SCOPES = (
    "companyinformation",
    "customer",
    "article",
    "price",
    "costcenter",
    "settings",
    "order",
    "invoice",
    "salary",
    "inbox",
)

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REDIRECT_URI",
    "SandboxServer",
    "TokenSet",
    "obtain_tokens",
    "serve",
    "tenant_of",
]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_in: int
    scope: str
    tenant: int  # the DatabaseNumber / tenantId claim of the access token
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a ``/3`` call (FACTS.md §2)."""
        return {
            "Authorization": f"Bearer {self.access_token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }


def tenant_of(access_token: str) -> int:
    """The ``tenantId`` claim of a sandbox access token (a JWT, FACTS.md §1)."""
    payload = access_token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return int(json.loads(base64.urlsafe_b64decode(payload))["tenantId"])


@dataclass
class SandboxServer:
    app: Flask
    host: str
    port: int
    server: BaseWSGIServer
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/3"

    @property
    def oauth_url(self) -> str:
        return self.base_url + "/oauth-v1"

    # -------------------------------------------------------------------- controls
    def control(
        self, verb: str, path: str, json_body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        """``verb /_sandbox/<path>`` with query ``params``; raises for an error status, returns
        the JSON answer."""
        response = self.http.request(
            verb, f"{self.base_url}/_sandbox/{path.lstrip('/')}", json=json_body, params=params
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.control("POST", "reset")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self.control("POST", "clock", {"advance_seconds": seconds})

    def set_clock(self, now: str) -> dict[str, Any]:
        return self.control("POST", "clock", {"now": now})

    def set_auto_approve(self, enabled: bool, company: dict[str, Any] | None = None) -> None:
        body: dict[str, Any] = {"enabled": enabled}
        if company is not None:
            body["company"] = company
        self.control("POST", "auto-approve", body)

    def add_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """e.g. ``add_fault("status", method="POST", path_pattern="/3/orders*", status=503)``."""
        return self.control("POST", "faults", {"kind": kind, **options})

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def requests_log(self, **filters: Any) -> list[dict[str, Any]]:
        """Logged requests; filters: method, path (fnmatch), tenant, status, limit."""
        return self.control("GET", "requests", params=filters)["requests"]

    def clear_requests(self) -> None:
        self.control("DELETE", "requests")

    def tenants(self) -> list[dict[str, Any]]:
        return self.control("GET", "tenants")["tenants"]

    def create_tenant(self, company_name: str, organisation_number: str, seed: bool = True) -> int:
        summary = self.control(
            "POST",
            "tenants",
            {"CompanyName": company_name, "OrganizationNumber": organisation_number, "seed": seed},
        )
        return int(summary["DatabaseNumber"])

    def issue_tokens(
        self, tenant: int, scopes: tuple[str, ...] = ALL_SCOPES, client_id: str | None = None
    ) -> TokenSet:
        """Tokens for a tenant straight from the control API (no OAuth round trip)."""
        body: dict[str, Any] = {"scopes": list(scopes)}
        if client_id:
            body["client_id"] = client_id
        raw = self.control("POST", f"tenants/{tenant}/tokens", body)
        return _token_set(raw)

    def revoke(self, tenant: int) -> int:
        return self.control("POST", f"tenants/{tenant}/revoke")["revoked"]

    def accountant(self, verb: str, path: str, json_body: Any = None) -> requests.Response:
        """An accountant control call (``tenants/<t>/...``) returning the raw response."""
        return self.http.request(verb, f"{self.base_url}/_sandbox/{path}", json=json_body)

    def obtain_tokens(self, **kwargs: Any) -> TokenSet:
        return obtain_tokens(self, **kwargs)


def _token_set(raw: dict[str, Any]) -> TokenSet:
    return TokenSet(
        access_token=raw["access_token"],
        refresh_token=raw.get("refresh_token"),
        expires_in=int(raw["expires_in"]),
        scope=raw["scope"],
        tenant=tenant_of(raw["access_token"]),
        raw=raw,
    )


def obtain_tokens(
    server: SandboxServer,
    scopes: tuple[str, ...] = ALL_SCOPES,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    company: dict[str, Any] | None = None,
) -> TokenSet:
    """Run the authorization-code flow non-interactively: auto-approve on, ``/oauth-v1/auth``,
    take the code from the redirect, exchange it at ``/oauth-v1/token`` (HTTP Basic).

    ``company`` (CompanyName, OrganizationNumber) picks the tenant; the auto-approve setting is
    restored afterwards. Raises ``RuntimeError`` when no code comes back.
    """
    before = server.control("GET", "auto-approve")
    server.set_auto_approve(True, company)
    try:
        response = server.http.get(
            f"{server.oauth_url}/auth",
            params={
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scopes),
                "state": "sandbox-test",
                "access_type": "offline",
                "response_type": "code",
            },
            allow_redirects=False,
        )
    finally:
        server.set_auto_approve(before["enabled"], before["company"])
    query = parse_qs(urlsplit(response.headers.get("Location", "")).query)
    if "code" not in query:
        raise RuntimeError(f"no authorization code: {response.status_code} {response.text[:200]}")
    token_response = server.http.post(
        f"{server.oauth_url}/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect_uri,
        },
        auth=(client_id, client_secret),
    )
    token_response.raise_for_status()
    return _token_set(token_response.json())


@contextmanager
def serve(app: Flask | None = None, **config: Any) -> Iterator[SandboxServer]:
    """Serve ``app`` (default: ``create_app(config)``) on 127.0.0.1 and a free port."""
    app = app or create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    # A short poll interval makes shutdown() quick (tests start and stop servers often).
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fortnox-sandbox", daemon=True
    )
    thread.start()
    sandbox = SandboxServer(app=app, host="127.0.0.1", port=server.server_port, server=server)
    try:
        yield sandbox
    finally:
        sandbox.http.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
