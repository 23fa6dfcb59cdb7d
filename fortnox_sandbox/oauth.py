"""``/oauth-v1``: Fortnox's OAuth 2 authorization-code flow (FACTS.md §1).

* ``GET /oauth-v1/auth`` checks the request and shows a consent page ("Godkänn"/"Neka"), or
  with auto-approve on redirects straight back with a code. Approving connects the company
  typed on the page (a tenant per organisation number, created on first approval).
* ``POST /oauth-v1/token`` with HTTP Basic client authentication: ``authorization_code``
  (codes live 10 minutes and work once), ``refresh_token`` (single use, rotated on every use,
  45 days) and ``client_credentials`` for service accounts (header ``TenantId``; no refresh
  token). Errors are OAuth JSON (``invalid_grant``, ``invalid_client``…).
"""

from __future__ import annotations

import base64
import binascii
import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, current_app, g, jsonify, redirect, request

from .state import KNOWN_SCOPES, SandboxState

bp = Blueprint("fortnox_oauth", __name__, url_prefix="/oauth-v1")

AUTH_PARAMS = ("client_id", "redirect_uri", "scope", "state", "access_type", "response_type",
               "account_type")  # fmt: skip


def sandbox() -> SandboxState:
    return current_app.extensions["fortnox_sandbox"]


def with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_page(message: str, status: int = 400) -> Response:
    body = (
        "<!doctype html><html lang='sv'><meta charset='utf-8'><title>Fortnox sandbox</title>"
        f"<h1>Felaktig begäran</h1><p>{html.escape(message)}</p></html>"
    )
    return Response(body, status=status, mimetype="text/html")


class _AuthRequest:
    """A checked authorization request: either an error answer or the values to go on with."""

    def __init__(self, params: dict[str, str], state: SandboxState) -> None:
        self.params = params
        self.answer: Response | None = None
        self.client_id = params.get("client_id", "")
        client = state.check_client(self.client_id)
        if client is None:
            self.answer = error_page("Okänt client_id.")
            return
        self.redirect_sent = bool(params.get("redirect_uri"))
        registered = client.get("redirect_uris") or []
        self.redirect_uri = params.get("redirect_uri") or (registered[0] if registered else "")
        if not self.redirect_uri or not state.redirect_allowed(client, self.redirect_uri):
            # Never redirect to an unregistered address (FACTS.md §1: must equal the one
            # registered); say so on the page instead.
            self.answer = error_page("redirect_uri saknas eller är inte registrerad för appen.")
            return
        self.state = params.get("state", "")
        self.scopes = frozenset(params.get("scope", "").split())
        self.service = params.get("account_type") == "service"
        if params.get("response_type") != "code":
            self.answer = self.fail("unsupported_response_type", "response_type must be code")
        elif not self.state:
            self.answer = self.fail("invalid_request", "state is required")
        elif not self.scopes or not self.scopes <= KNOWN_SCOPES:
            self.answer = self.fail("invalid_scope", "unknown or missing scope")
        elif self.service and not client.get("service_accounts", False):
            self.answer = self.fail("unauthorized_client", "service accounts are not enabled")

    def fail(self, error: str, description: str) -> Response:
        params = {"error": error, "error_description": description}
        if self.state:
            params["state"] = self.state
        return redirect(with_query(self.redirect_uri, params))

    def approve(self, state: SandboxState, company: dict[str, Any]) -> Response:
        tenant = state.tenant_for_company(company)
        grant = state.approve(self.client_id, self.scopes, tenant, self.service)
        code = state.issue_code(grant, self.redirect_uri, self.redirect_sent)
        return redirect(with_query(self.redirect_uri, {"code": code, "state": self.state}))


@bp.get("/auth")
def authorize() -> Response:
    state = sandbox()
    auth = _AuthRequest(request.args.to_dict(), state)
    if auth.answer is not None:
        return auth.answer
    if state.auto_approve:
        return auth.approve(state, state.auto_company)
    return consent_page(auth, state)


@bp.post("/auth")
def decide() -> Response:
    state = sandbox()
    auth = _AuthRequest({k: request.form.get(k, "") for k in AUTH_PARAMS}, state)
    if auth.answer is not None:
        return auth.answer
    if request.form.get("decision") != "approve":
        return auth.fail("access_denied", "the user denied access")
    company = {
        "CompanyName": request.form.get("CompanyName", "").strip(),
        "OrganizationNumber": request.form.get("OrganizationNumber", "").strip(),
    }
    return auth.approve(state, company)


def consent_page(auth: _AuthRequest, state: SandboxState) -> Response:
    hidden = "".join(
        f"<input type='hidden' name='{name}' value='{html.escape(value, quote=True)}'>"
        for name, value in auth.params.items()
        if name in AUTH_PARAMS
    )
    company = state.auto_company
    scopes = ", ".join(sorted(auth.scopes))
    body = f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Fortnox sandbox – godkänn integration</title>
<style>body{{font-family:sans-serif;max-width:34rem;margin:3rem auto}}label{{display:block;
margin:.6rem 0}}input[type=text]{{width:100%;padding:.3rem}}button{{padding:.5rem 1.2rem;
margin-right:.5rem}}</style></head>
<body><h1>Fortnox sandbox</h1>
<p>Appen <strong>{html.escape(auth.client_id)}</strong> vill ansluta till ditt företag med
behörigheterna: <strong>{html.escape(scopes)}</strong>.</p>
<form method="post" action="{html.escape(request.path)}">{hidden}
<label>Företagsnamn <input type="text" name="CompanyName"
  value="{html.escape(str(company.get("CompanyName", "")), quote=True)}"></label>
<label>Organisationsnummer <input type="text" name="OrganizationNumber"
  value="{html.escape(str(company.get("OrganizationNumber", "")), quote=True)}"></label>
<p><button type="submit" name="decision" value="approve">Godkänn</button>
<button type="submit" name="decision" value="deny">Neka</button></p>
</form></body></html>"""
    return Response(body, mimetype="text/html")


# ---------------------------------------------------------------------------------- token
def oauth_error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def client_from_basic_auth(state: SandboxState) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id if state.check_client(client_id, secret) else None


@bp.post("/token")
def token() -> Response:
    state = sandbox()
    with state.lock:
        client_id = client_from_basic_auth(state)
        if client_id is None:
            # FACTS.md §1: client id and secret go in HTTP Basic auth.
            response = oauth_error("invalid_client", "client authentication failed", 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="fortnox-sandbox"'
            return response
        g.sandbox_client = client_id
        if request.mimetype != "application/x-www-form-urlencoded":
            return oauth_error("invalid_request", "use application/x-www-form-urlencoded")
        grant_type = request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            answer = exchange_code(state, client_id)
        elif grant_type == "refresh_token":
            answer = refresh(state, client_id)
        elif grant_type == "client_credentials":
            answer = client_credentials(state, client_id)
        else:
            return oauth_error("unsupported_grant_type", f"unsupported grant_type {grant_type!r}")
        if isinstance(answer, Response):
            return answer
        response = jsonify(answer)
        response.headers["Cache-Control"] = "no-store"
        return response


def exchange_code(state: SandboxState, client_id: str) -> dict[str, Any] | Response:
    value = request.form.get("code", "")
    if not value:
        return oauth_error("invalid_request", "code is required")
    code = state.codes.get(value)
    now = state.clock.time()
    if code is None or code.client_id != client_id:
        return oauth_error("invalid_grant", "unknown authorization code")
    if code.used:
        return oauth_error("invalid_grant", "authorization code already used")
    if code.expires <= now:
        return oauth_error("invalid_grant", "authorization code expired")
    redirect_uri = request.form.get("redirect_uri", "")
    if code.redirect_uri_sent and redirect_uri != code.redirect_uri:
        # FACTS.md §1: redirect_uri is required if it was sent in the authorize request.
        return oauth_error("invalid_grant", "redirect_uri does not match the authorize request")
    code.used = True
    grant = state.grants.get(code.grant_id)
    if grant is None or not grant.active:
        return oauth_error("invalid_grant", "authorization revoked")
    g.sandbox_tenant = grant.tenant
    return state.issue_tokens(grant)


def refresh(state: SandboxState, client_id: str) -> dict[str, Any] | Response:
    value = request.form.get("refresh_token", "")
    if not value:
        return oauth_error("invalid_request", "refresh_token is required")
    old = state.refresh_tokens.get(value)
    if old is None or old.client_id != client_id:
        return oauth_error("invalid_grant", "Invalid refresh token")
    g.sandbox_tenant = old.tenant
    if old.spent:
        # FACTS.md §1: single use; a second use (e.g. parallel refreshes) is invalid_grant.
        return oauth_error("invalid_grant", "Invalid refresh token")
    if old.expires <= state.clock.time():
        return oauth_error("invalid_grant", "Refresh token expired")
    grant = state.grants.get(old.grant_id)
    if grant is None or not grant.active:
        return oauth_error("invalid_grant", "Authorization revoked")
    old.spent = True
    return state.issue_tokens(grant)


def client_credentials(state: SandboxState, client_id: str) -> dict[str, Any] | Response:
    tenant_id = request.headers.get("TenantId", "")
    tenant = state.tenant(tenant_id)
    if tenant is None:
        return oauth_error("invalid_request", "TenantId header missing or unknown")
    grant = next(
        (
            grant
            for grant in reversed(list(state.grants.values()))
            if grant.client_id == client_id
            and grant.tenant == tenant.database_number
            and grant.active
            and grant.service
        ),
        None,
    )
    if grant is None:
        # FACTS.md §1: consent via account_type=service must come first.
        return oauth_error("invalid_grant", "no service-account consent for this tenant")
    g.sandbox_tenant = tenant.database_number
    tokens = state.issue_tokens(grant)
    state.refresh_tokens.pop(tokens.pop("refresh_token"), None)
    return tokens
