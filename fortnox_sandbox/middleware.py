"""Cross-cutting request handling: injected faults, the request log, dropped connections.

A request that began before ``POST /_sandbox/reset`` (e.g. one sleeping in a latency fault)
belongs to the forgotten state: it is answered with :func:`reset_response`, does not run, and is
not written to the new request log (:attr:`SandboxState.generation` tells them apart).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request

from . import errors as E
from .api import (
    OVERTAKEN_BY_RESET,
    fortnox_error_response,
    json_response,
    rate_limited_response,
    stale,
)
from .errors import FortnoxError, error_body
from .files import web_exception
from .state import Fault, SandboxState

DROP_FLAG = "fortnox_sandbox.drop"
# Headers whose values are secrets: the request log keeps their scheme only (FACTS.md §1:
# Bearer tokens, Basic client credentials; the legacy Access-Token/Client-Secret headers).
REDACTED_HEADERS = frozenset({"authorization", "access-token", "client-secret"})
REDACTED = "<redacted>"


def _state(app: Flask) -> SandboxState:
    return app.extensions["fortnox_sandbox"]


def _observed(path: str) -> bool:
    return path.startswith(("/3", "/oauth-v1", "/api/"))


def _services(path: str) -> bool:
    """The /api services answer errors as {"error","id","message"} (files.py)."""
    return path.startswith("/api/")


def _tenant_of_request(state: SandboxState) -> int | None:
    """The tenant a request acts for: by its bearer token, refresh token or code."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip() in state.access_tokens:
        return state.access_tokens[value.strip()].tenant
    refresh = state.refresh_tokens.get(request.form.get("refresh_token", ""))
    if refresh is not None:
        return refresh.tenant
    code = state.codes.get(request.form.get("code", ""))
    if code is not None and code.grant_id in state.grants:
        return state.grants[code.grant_id].tenant
    return None


def _fault_status_response(state: SandboxState, fault: Fault) -> Response:
    if _services(request.path):
        error = FortnoxError(E.Code(0, fault.status, fault.message or "injected fault"))
        return json_response(web_exception(error), fault.status)
    if fault.status == 429:
        return rate_limited_response()
    if request.path.startswith("/oauth-v1"):
        error = "temporarily_unavailable" if fault.status >= 500 else "invalid_request"
        return json_response(
            {"error": error, "error_description": fault.message or "injected fault"},
            fault.status,
        )
    if fault.status >= 500:
        default = E.SYSTEM_EXCEPTION
    elif fault.status in (401, 403):
        default = E.INVALID_LOGIN
    else:
        default = E.EMPTY_OR_INCORRECT_BODY
    code = default.code if fault.code is None else fault.code
    body = error_body(code, fault.message or default.message, state.config["SANDBOX_ERROR_KEYS"])
    return json_response(body, fault.status)


def reset_response() -> Response:
    """The answer to a request overtaken by a reset: 503, OAuth JSON on ``/oauth-v1``, else an
    ErrorInformation (see :data:`.api.OVERTAKEN_BY_RESET`)."""
    if request.path.startswith("/oauth-v1"):
        message = OVERTAKEN_BY_RESET.message
        return json_response(
            {"error": "temporarily_unavailable", "error_description": message}, 503
        )
    if _services(request.path):
        return json_response(web_exception(FortnoxError(OVERTAKEN_BY_RESET)), 503)
    return fortnox_error_response(FortnoxError(OVERTAKEN_BY_RESET))


def apply_fault() -> Response | None:
    """``before_request``: take the first matching fault and act on it."""
    from flask import current_app

    if not _observed(request.path):
        return None
    state = _state(current_app)
    g.sandbox_started = time.perf_counter()
    g.sandbox_generation = state.generation
    fault = state.take_fault(request.method, request.path)
    g.sandbox_fault = fault
    if fault is None:
        return None
    if fault.kind == "latency":
        time.sleep(fault.latency_ms / 1000)
        if stale(state):  # reset while sleeping: the request's state is gone
            return reset_response()
    elif fault.kind == "status":
        return _fault_status_response(state, fault)
    elif fault.kind == "rate_limit":
        if _services(request.path):
            return _fault_status_response(state, Fault("status", status=429))
        return rate_limited_response()
    elif fault.kind == "revoke":
        with state.lock:
            tenant = fault.tenant if fault.tenant is not None else _tenant_of_request(state)
            if tenant is not None:
                state.revoke_tenant(tenant)
    elif fault.kind == "drop_after_create":
        request.environ[DROP_FLAG] = True
    return None


def _logged_body(mimetype: str, data: bytes, form: dict[str, Any] | None = None) -> Any:
    if form:
        return form
    if not data:
        return None
    if mimetype == "multipart/form-data":
        return {
            name: {"filename": part.filename, "content_type": part.mimetype, "size": _size(part)}
            for name, part in request.files.items()
        }
    if mimetype == "application/json":
        try:
            return json.loads(data)
        except ValueError:
            return data.decode("utf-8", "replace")
    if mimetype == "application/pdf":
        return f"<pdf {len(data)} bytes>"
    if mimetype == "text/html":
        return f"<html {len(data)} bytes>"
    return data.decode("utf-8", "replace")[:2000]


def _size(part: Any) -> int:
    stream = part.stream
    stream.seek(0, 2)
    return int(stream.tell())


def logged_headers() -> dict[str, str]:
    """The request's headers as sent, secrets reduced to their scheme (``Bearer <redacted>``)."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        if name.lower() in REDACTED_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} {REDACTED}" if rest else REDACTED
        headers[name] = value
    return headers


def log_request(response: Response) -> Response:
    """``after_request``: append the exchange to the request log (not /_sandbox calls, not
    requests that began before a reset)."""
    from flask import current_app

    if not _observed(request.path):
        return response
    state = _state(current_app)
    fault: Fault | None = g.get("sandbox_fault")
    form = request.form.to_dict() if request.mimetype.endswith("urlencoded") else None
    entry = {
        "time": state.clock.now().isoformat(),
        "method": request.method,
        "path": request.path,
        "query": request.args.to_dict(),
        "headers": logged_headers(),
        "status": response.status_code,
        "tenant": g.get("sandbox_tenant"),
        "client_id": g.get("sandbox_client"),
        "body": _logged_body(request.mimetype, request.get_data(cache=True), form),
        "response": _logged_body(
            response.mimetype or "", response.get_data() if not response.is_streamed else b""
        ),
        "fault": fault.kind if fault else None,
        "dropped": bool(request.environ.get(DROP_FLAG)),
        "duration_ms": round((time.perf_counter() - g.get("sandbox_started", 0)) * 1000, 2)
        if g.get("sandbox_started")
        else None,
    }
    if response.location:
        entry["location"] = response.location
    with state.lock:
        if stale(state):
            return response
        entry["id"] = (state.log[-1]["id"] + 1) if state.log else 1
        state.record(entry)
    return response


class DropConnectionMiddleware:
    """WSGI wrapper: for a request flagged ``drop_after_create`` the app runs (the document is
    created) but no response is sent: the socket is shut down, the client sees a dropped
    connection. Needs werkzeug's server (``werkzeug.socket``); elsewhere the request raises
    ConnectionAbortedError."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        captured: list[Any] = []

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Callable[..., Any]:
            captured[:] = [status, headers, exc_info]
            return lambda data: None

        result = self.app(environ, capture)
        if not environ.get(DROP_FLAG):
            start_response(*captured[:2], *([captured[2]] if captured[2] else []))
            return result
        for _ in result:
            pass
        if hasattr(result, "close"):
            result.close()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # werkzeug treats ConnectionError as "client went away" and writes nothing.
        raise ConnectionAbortedError("fortnox sandbox: connection dropped after the change")
