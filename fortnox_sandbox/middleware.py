"""Cross-cutting request handling: injected faults, the request log, dropped connections."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request

from . import errors as E
from .api import json_response, rate_limited_response
from .errors import error_body
from .state import Fault, SandboxState

DROP_FLAG = "fortnox_sandbox.drop"


def _state(app: Flask) -> SandboxState:
    return app.extensions["fortnox_sandbox"]


def _observed(path: str) -> bool:
    return path.startswith(("/3", "/oauth-v1"))


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


def apply_fault() -> Response | None:
    """``before_request``: take the first matching fault and act on it."""
    from flask import current_app

    if not _observed(request.path):
        return None
    state = _state(current_app)
    g.sandbox_started = time.perf_counter()
    fault = state.take_fault(request.method, request.path)
    g.sandbox_fault = fault
    if fault is None:
        return None
    if fault.kind == "latency":
        time.sleep(fault.latency_ms / 1000)
    elif fault.kind == "status":
        return _fault_status_response(state, fault)
    elif fault.kind == "rate_limit":
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


def log_request(response: Response) -> Response:
    """``after_request``: append the exchange to the request log (not /_sandbox calls)."""
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
