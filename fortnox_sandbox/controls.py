"""``/_sandbox``: test and demo controls (JSON), kept out of Fortnox's ``/3`` namespace.

Every control is listed by ``GET /_sandbox`` and documented in docs/sandbox.md. "Accountant"
controls act as a person working in Fortnox's own UI: they change a tenant's data without a
token, scope or rate limit, but through the same validation as the API.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from . import documents
from .api import fortnox_error_response, json_response, read_body, reply_response
from .errors import FortnoxError
from .files import ATTACHMENTS, web_exception
from .resources import Ctx, Reply, dispatch
from .state import FAULT_KINDS, KNOWN_SCOPES, Fault, SandboxState, Tenant

bp = Blueprint("fortnox_controls", __name__, url_prefix="/_sandbox")

CONTROLS = {
    "GET /_sandbox": "this index",
    "GET|POST /_sandbox/clock": "{advance_seconds} | {now: iso} | {frozen: bool} | {reset: true}",
    "GET|POST /_sandbox/auto-approve": "{enabled: bool, company?: {CompanyName, "
    "OrganizationNumber}}",
    "GET|POST|DELETE /_sandbox/faults": "{kind, method?, path_pattern?, status?, latency_ms?, "
    "count?, code?, message?, tenant?}",
    "POST /_sandbox/reset": "forget all tenants, tokens, faults, requests; real time",
    "GET|DELETE /_sandbox/requests": "?method=&path=(fnmatch)&tenant=&status=&limit=",
    "GET|POST /_sandbox/tenants": "list | create {CompanyName, OrganizationNumber, seed?}",
    "GET /_sandbox/tenants/<t>": "one tenant's summary",
    "POST /_sandbox/tenants/<t>/tokens": "{client_id?, scopes: [...]} -> token response",
    "POST /_sandbox/tenants/<t>/revoke": "{client_id?} revoke the tenant's authorisation",
    "POST /_sandbox/tenants/<t>/orders/<n>/invoice": "accountant: create invoice from order",
    "POST /_sandbox/tenants/<t>/invoices/<n>/send": "accountant: send (Sent=true)",
    "POST /_sandbox/tenants/<t>/invoices/<n>/book": "accountant: bookkeep",
    "POST /_sandbox/tenants/<t>/invoices/<n>/pay": "accountant: payment {amount?} (default all)",
    "POST /_sandbox/tenants/<t>/invoices/<n>/cancel": "accountant: cancel",
    "POST|PUT /_sandbox/tenants/<t>/customers[/<n>]": "accountant: create/update a customer",
    "POST|PUT /_sandbox/tenants/<t>/articles[/<n>]": "accountant: create/update an article",
    "POST /_sandbox/tenants/<t>/articles/<n>/deactivate": "accountant: Active=false",
    "POST /_sandbox/tenants/<t>/articles/<n>/activate": "accountant: Active=true",
    "ANY /_sandbox/tenants/<t>/api/<path>": "accountant: any /3/<path> call for the tenant",
    "GET /_sandbox/tenants/<t>/attachments": "?entityid=&entitytype= accountant: a document's "
    "file attachments (GET /api/fileattachments/attachments-v1)",
}


def sandbox() -> SandboxState:
    return current_app.extensions["fortnox_sandbox"]


def bad_request(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.get("")
def index() -> Response:
    state = sandbox()
    return jsonify(
        {
            "controls": CONTROLS,
            "clock": state.clock.describe(),
            "auto_approve": state.auto_approve,
            "tenants": len(state.tenants),
            "faults": state.describe_faults(),
        }
    )


# ---------------------------------------------------------------------------------- clock
@bp.route("/clock", methods=["GET", "POST"])
def clock() -> Response:
    state = sandbox()
    data = body()
    if request.method == "POST":
        if data.get("reset"):
            state.clock.reset()
        if "frozen" in data:
            state.clock.freeze(bool(data["frozen"]))
        if "now" in data:
            try:
                state.clock.set(dt.datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")))
            except ValueError:
                return bad_request("now must be an ISO 8601 date-time")
        if "advance_seconds" in data:
            try:
                state.clock.advance(float(data["advance_seconds"]))
            except (TypeError, ValueError):
                return bad_request("advance_seconds must be a number")
    return jsonify(state.clock.describe())


# ---------------------------------------------------------------------------------- approve
@bp.route("/auto-approve", methods=["GET", "POST"])
def auto_approve() -> Response:
    state = sandbox()
    if request.method == "POST":
        data = body()
        if "enabled" in data:
            state.auto_approve = bool(data["enabled"])
        if isinstance(data.get("company"), dict):
            state.auto_company = {**state.config["SANDBOX_DEFAULT_COMPANY"], **data["company"]}
    return jsonify({"enabled": state.auto_approve, "company": state.auto_company})


# ---------------------------------------------------------------------------------- faults
@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    state = sandbox()
    if request.method == "DELETE":
        with state.lock:
            state.faults.clear()
        return jsonify({"faults": []})
    if request.method == "POST":
        data = body()
        if data.get("kind") not in FAULT_KINDS:
            return bad_request(f"kind must be one of {', '.join(FAULT_KINDS)}")
        try:
            fault = Fault(
                kind=data["kind"],
                method=str(data.get("method", "*")).upper(),
                path_pattern=str(data.get("path_pattern", "*")),
                status=int(data.get("status", 503)),
                latency_ms=int(data.get("latency_ms", 0)),
                count=None if data.get("count", 1) is None else int(data.get("count", 1)),
                code=None if data.get("code") is None else int(data["code"]),
                message=data.get("message"),
                tenant=None if data.get("tenant") is None else int(data["tenant"]),
            )
        except (TypeError, ValueError):
            return bad_request("status, latency_ms, count, code and tenant must be integers")
        state.add_fault(fault)
        return json_response({"fault": fault.id, "faults": state.describe_faults()}, 201)
    return jsonify({"faults": state.describe_faults()})


@bp.route("/topics", methods=["GET", "POST"])
def topics() -> Response:
    """The WebSocket topics (topics.py): ``{"down": bool}`` closes every connection and
    refuses new ones; ``{"duplicate": bool}`` sends every event twice."""
    log = sandbox().topics
    if request.method == "POST":
        data = body()
        with log.changed:
            for name in ("down", "duplicate"):
                if name in data:
                    setattr(log, name, bool(data[name]))
            log.changed.notify_all()
    return jsonify(log.describe())


# ---------------------------------------------------------------------------------- reset, log
@bp.post("/reset")
def reset() -> Response:
    sandbox().reset()
    return jsonify({"reset": True})


@bp.route("/requests", methods=["GET", "DELETE"])
def requests_log() -> Response:
    state = sandbox()
    with state.lock:
        if request.method == "DELETE":
            state.log.clear()
            return jsonify({"requests": []})
        entries = list(state.log)
    args = request.args
    if "method" in args:
        entries = [e for e in entries if e["method"] == args["method"].upper()]
    if "path" in args:
        entries = [e for e in entries if fnmatch.fnmatchcase(e["path"], args["path"])]
    if "tenant" in args:
        entries = [e for e in entries if str(e.get("tenant")) == args["tenant"]]
    if "status" in args:
        entries = [e for e in entries if str(e["status"]) == args["status"]]
    if "limit" in args and args["limit"].isdigit():
        entries = entries[-int(args["limit"]) :]
    return jsonify({"requests": entries})


# ---------------------------------------------------------------------------------- tenants
@bp.route("/tenants", methods=["GET", "POST"])
def tenants() -> Response:
    state = sandbox()
    if request.method == "POST":
        tenant = state.tenant_for_company(body())
        return json_response(tenant.summary(), 201)
    with state.lock:
        return jsonify({"tenants": [t.summary() for t in state.tenants.values()]})


def _tenant(number: int) -> Tenant | Response:
    tenant = sandbox().tenant(number)
    return tenant if tenant is not None else bad_request(f"no tenant {number}", 404)


@bp.get("/tenants/<int:number>")
def tenant_summary(number: int) -> Response:
    tenant = _tenant(number)
    return tenant if isinstance(tenant, Response) else jsonify(tenant.summary())


@bp.post("/tenants/<int:number>/tokens")
def tenant_tokens(number: int) -> Response:
    """Tokens without the browser flow (tests, benchmarks): a grant and a token pair."""
    state = sandbox()
    tenant = _tenant(number)
    if isinstance(tenant, Response):
        return tenant
    data = body()
    client_id = data.get("client_id") or next(iter(state.clients))
    scopes = frozenset(data.get("scopes") or ())
    if client_id not in state.clients:
        return bad_request(f"unknown client {client_id}")
    if not scopes or not scopes <= KNOWN_SCOPES:
        return bad_request("scopes must be a non-empty list of Fortnox scopes")
    grant = state.approve(client_id, scopes, tenant, bool(data.get("service")))
    return json_response(state.issue_tokens(grant), 201)


@bp.post("/tenants/<int:number>/revoke")
def tenant_revoke(number: int) -> Response:
    tenant = _tenant(number)
    if isinstance(tenant, Response):
        return tenant
    revoked = sandbox().revoke_tenant(number, body().get("client_id"))
    return jsonify({"revoked": revoked})


# ---------------------------------------------------------------------------------- accountant
def _as_accountant(
    number: int,
    act: Callable[[Ctx], Reply],
    *,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any = None,
    base: str = "/3",
    errors: Callable[[FortnoxError], Response] = fortnox_error_response,
    **options: Any,
) -> Response:
    """Run ``act`` for tenant ``number`` as the accountant (no token or scope), under the
    sandbox's lock, on ``method path`` (under ``base``); its reply as the response, a Fortnox
    error through ``errors``. ``options``: the call's other Ctx fields."""
    state = sandbox()
    tenant = _tenant(number)
    if isinstance(tenant, Response):
        return tenant
    try:
        with state.lock:
            ctx = Ctx(
                state=state,
                tenant=tenant,
                method=method,
                path=path,
                query=query,
                body=body,
                base_url=request.host_url.rstrip("/") + base,
                accountant=True,
                **options,
            )
            return reply_response(act(ctx))
    except FortnoxError as exc:
        return errors(exc)


def accountant(number: int, method: str, path: str, payload: Any = None) -> Response:
    """Run ``method /3/<path>`` for tenant ``number`` as the accountant (no token or scope)."""
    return _as_accountant(
        number,
        dispatch,
        method=method,
        path="/3/" + path.strip("/"),
        query=request.args.to_dict(),
        body=payload,
        accept=request.headers.get("Accept", "application/json"),
    )


def _direct(number: int, action: Any) -> Response:
    """Run a documents-module action for the tenant and answer with the Invoice wrapper."""

    def act(ctx: Ctx) -> Reply:
        return Reply(200, {"Invoice": documents.render(ctx, documents.INVOICE, action(ctx))})

    return _as_accountant(number, act, method="POST", path=request.path, query={})


@bp.post("/tenants/<int:number>/orders/<n>/invoice")
def order_invoice(number: int, n: str) -> Response:
    return _direct(number, lambda ctx: documents.create_invoice_from_order(ctx, n))


@bp.post("/tenants/<int:number>/invoices/<n>/send")
def invoice_send(number: int, n: str) -> Response:
    return accountant(number, "PUT", f"invoices/{n}/externalprint")


@bp.post("/tenants/<int:number>/invoices/<n>/book")
def invoice_book(number: int, n: str) -> Response:
    return accountant(number, "PUT", f"invoices/{n}/bookkeep")


@bp.post("/tenants/<int:number>/invoices/<n>/cancel")
def invoice_cancel(number: int, n: str) -> Response:
    return accountant(number, "PUT", f"invoices/{n}/cancel")


@bp.post("/tenants/<int:number>/invoices/<n>/pay")
def invoice_pay(number: int, n: str) -> Response:
    amount = body().get("amount")
    return _direct(
        number, lambda ctx: documents.pay(ctx, n, None if amount is None else float(amount))
    )


@bp.route("/tenants/<int:number>/<any(customers, articles):register>", methods=["POST"])
def register_create(number: int, register: str) -> Response:
    return accountant(number, "POST", register, body())


@bp.route("/tenants/<int:number>/<any(customers, articles):register>/<key>", methods=["PUT"])
def register_update(number: int, register: str, key: str) -> Response:
    return accountant(number, "PUT", f"{register}/{key}", body())


@bp.post("/tenants/<int:number>/articles/<key>/<any(activate, deactivate):action>")
def article_active(number: int, key: str, action: str) -> Response:
    change = {"Article": {"Active": action == "activate"}}
    return accountant(number, "PUT", f"articles/{key}", change)


@bp.route("/tenants/<int:number>/api/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def api_as_accountant(number: int, path: str) -> Response:
    try:
        payload = read_body() if request.method in ("POST", "PUT") else None
    except FortnoxError as exc:
        return fortnox_error_response(exc)
    return accountant(number, request.method, path, payload)


@bp.get("/tenants/<int:number>/attachments")
def attachments(number: int) -> Response:
    """The file attachments of documents, as the accountant sees them (no token or scope)."""
    return _as_accountant(
        number,
        dispatch,
        method="GET",
        path="/api/" + ATTACHMENTS,
        query=request.args.to_dict(),
        base="/api",
        errors=lambda exc: json_response(web_exception(exc), exc.status),
        query_lists=request.args.to_dict(flat=False),
    )
