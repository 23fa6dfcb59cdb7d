"""The ``/3`` blueprint: bearer-token authentication, rate limit, then :func:`dispatch`."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from . import documents  # noqa: F401  (registers the order and invoice routes)
from . import errors as E
from .errors import FortnoxError, error_body
from .resources import Ctx, Reply, dispatch
from .state import SandboxState, Token

bp = Blueprint("fortnox_api", __name__, url_prefix="/3")


def sandbox() -> SandboxState:
    return current_app.extensions["fortnox_sandbox"]


def fortnox_error_response(exc: FortnoxError) -> Response:
    state = sandbox()
    status = exc.status
    if status == 401:
        # FACTS.md §3: the docs say 403 for a bad token, the gateway may say 401.
        status = state.config["SANDBOX_AUTH_ERROR_STATUS"]
    body = error_body(exc.code.code, exc.message, state.config["SANDBOX_ERROR_KEYS"])
    return json_response(body, status)


def json_response(body: Any, status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def authenticate(state: SandboxState) -> Token:
    """The request's valid access token; 2000311 without one, 2000310 for a bad one."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise FortnoxError(E.MISSING_LOGIN)
    token = state.access_tokens.get(value.strip())
    if (
        token is None
        or token.expires <= state.clock.time()
        or not state.grant_active(token.grant_id)
    ):
        raise FortnoxError(E.INVALID_LOGIN)
    return token


def accepts_json(accept: str) -> bool:
    accept = accept.strip()
    return not accept or any(
        kind in accept for kind in ("application/json", "*/*", "application/*")
    )


def read_body() -> Any:
    """The JSON body, or None; 2002115 for bad JSON, 1000031 for a non-JSON content type."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    if request.mimetype != "application/json":
        raise FortnoxError(E.INVALID_CONTENT_TYPE)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FortnoxError(E.JSON_SYNTAX) from None


def reply_response(reply: Reply) -> Response:
    if reply.pdf is not None:
        return Response(reply.pdf, status=reply.status, mimetype="application/pdf")
    if reply.json is None:
        return Response(status=reply.status)
    return json_response(reply.json, reply.status)


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def api(rest: str) -> Response:
    state = sandbox()
    try:
        with state.lock:
            token = authenticate(state)
            g.sandbox_tenant = token.tenant
            g.sandbox_client = token.client_id
            if not state.take_rate_slot(token.client_id, token.tenant):
                return rate_limited_response()
            accept = request.headers.get("Accept", "")
            if not accepts_json(accept) and not rest.endswith(("/print", "/preview")):
                raise FortnoxError(E.INVALID_RESPONSE_TYPE)
            tenant = state.tenant(token.tenant)
            if tenant is None:  # the tenant was reset away under a live token
                raise FortnoxError(E.INVALID_LOGIN)
            ctx = Ctx(
                state=state,
                tenant=tenant,
                method=request.method,
                path="/3/" + rest.strip("/"),
                query=request.args.to_dict(),
                body=read_body() if request.method in ("POST", "PUT") else None,
                base_url=request.host_url.rstrip("/") + "/3",
                accept=accept,
            )
            return reply_response(dispatch(ctx, token.scopes))
    except FortnoxError as exc:
        return fortnox_error_response(exc)


def rate_limited_response() -> Response:
    """FACTS.md §2: HTTP 429. The body is not documented (UNCONFIRMED); the sandbox sends an
    ErrorInformation with code 0 and no Retry-After header, so clients must back off ≥5 s."""
    state = sandbox()
    code = E.RATE_LIMITED
    body = error_body(code.code, code.message, state.config["SANDBOX_ERROR_KEYS"])
    return json_response(body, 429)
