"""The ``/3`` blueprint: bearer-token authentication, rate limit, then :func:`dispatch`."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from . import (
    documents,  # noqa: F401  (registers the order and invoice routes)
    files,
)
from . import errors as E
from .errors import FortnoxError, error_body
from .resources import Ctx, Reply, dispatch
from .state import SandboxState, Tenant, Token

bp = Blueprint("fortnox_api", __name__, url_prefix="/3")
# The newer services under /api/<service>/<name>-vN (FACTS.md §2); only the file attachments
# are emulated (files.py). Same token, rate limit and pipeline; errors {"error","id","message"}.
services_bp = Blueprint("fortnox_services", __name__, url_prefix="/api")

# A request that began before POST /_sandbox/reset (e.g. asleep in a latency fault) is not run
# against the new state. Sandbox-only: 503 with Fortnox's "System exception" code.
OVERTAKEN_BY_RESET = E.Code(
    E.SYSTEM_EXCEPTION.code, 503, "Sandlådan återställdes medan anropet väntade; det kördes inte."
)


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


def stale(state: SandboxState) -> bool:
    """True when the sandbox was reset after this request began (see middleware)."""
    return g.get("sandbox_generation", state.generation) != state.generation


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
    if reply.pdf is not None:  # a PDF: print/preview, or an inbox file
        return Response(reply.pdf, status=reply.status, mimetype="application/pdf")
    if reply.json is None:
        return Response(status=reply.status)
    return json_response(reply.json, reply.status)


def _caller(state: SandboxState, *, any_accept: bool = False) -> tuple[Token, Tenant, str] | None:
    """Who calls, under the state's lock: the request's token, its tenant and the Accept
    header; None when the client's rate-limit window is full. Raises FortnoxError for a request
    overtaken by a reset, a missing or bad token, and an Accept that is not JSON (unless
    ``any_accept``)."""
    if stale(state):
        raise FortnoxError(OVERTAKEN_BY_RESET)
    token = authenticate(state)
    g.sandbox_tenant = token.tenant
    g.sandbox_client = token.client_id
    if not state.take_rate_slot(token.client_id, token.tenant):
        return None
    accept = request.headers.get("Accept", "")
    if not accepts_json(accept) and not any_accept:
        raise FortnoxError(E.INVALID_RESPONSE_TYPE)
    tenant = state.tenant(token.tenant)
    if tenant is None:  # the tenant was reset away under a live token
        raise FortnoxError(E.INVALID_LOGIN)
    return token, tenant, accept


def _run(
    state: SandboxState,
    caller: tuple[Token, Tenant, str],
    path: str,
    body: Any,
    *,
    base: str,
    upload: Any = None,
) -> Response:
    """Dispatch the request as ``path`` (under ``base``: "/3" or "/api") for the caller."""
    token, tenant, accept = caller
    ctx = Ctx(
        state=state,
        tenant=tenant,
        method=request.method,
        path=path,
        query=request.args.to_dict(),
        body=body,
        base_url=request.host_url.rstrip("/") + base,
        accept=accept,
        scopes=token.scopes,
        query_lists=request.args.to_dict(flat=False),
        upload=upload,
    )
    return reply_response(dispatch(ctx, token.scopes))


@bp.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "DELETE"])
@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def api(rest: str) -> Response:
    state = sandbox()
    try:
        with state.lock:
            # A PDF (print, preview) is asked for with any Accept.
            caller = _caller(state, any_accept=rest.endswith(("/print", "/preview")))
            if caller is None:
                return rate_limited_response()
            path = "/3/" + rest.strip("/")
            body, upload = None, None
            if files.takes_upload(request.method, path):
                upload = files.read_upload()  # multipart/form-data (POST /3/inbox)
            elif request.method in ("POST", "PUT"):
                body = read_body()
            return _run(state, caller, path, body, base="/3", upload=upload)
    except FortnoxError as exc:
        return fortnox_error_response(exc)


def web_exception_response(exc: FortnoxError) -> Response:
    """An error of the /api services: ``{"error", "id", "message"}`` with the error's status.
    A refused token is 401 there whatever SANDBOX_AUTH_ERROR_STATUS says (the /api gateway's
    status is UNCONFIRMED; 401 is what makes a client refresh)."""
    return json_response(files.web_exception(exc), exc.status)


@services_bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
def services(rest: str) -> Response:
    state = sandbox()
    try:
        with state.lock:
            caller = _caller(state)
            if caller is None:
                raise FortnoxError(E.RATE_LIMITED)
            body = read_body() if request.method in ("POST", "PUT") else None
            return _run(state, caller, "/api/" + rest.strip("/"), body, base="/api")
    except FortnoxError as exc:
        return web_exception_response(exc)


def rate_limited_response() -> Response:
    """FACTS.md §2: HTTP 429. The body is not documented (UNCONFIRMED); the sandbox sends an
    ErrorInformation with code 0 and no Retry-After header, so clients must back off ≥5 s."""
    state = sandbox()
    code = E.RATE_LIMITED
    body = error_body(code.code, code.message, state.config["SANDBOX_ERROR_KEYS"])
    return json_response(body, 429)
