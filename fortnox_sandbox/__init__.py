"""A Fortnox API v3 emulator for development, tests, benchmarks and demos.

``create_app(config)`` builds a Flask app that answers like Fortnox for what Ordna uses:
the OAuth 2 flow under ``/oauth-v1``, the resources under ``/3``, and test controls under
``/_sandbox``. See docs/sandbox.md. Run it with
``python -m fortnox_sandbox --host 127.0.0.1 --port 8765`` or, in tests,
:func:`fortnox_sandbox.testing.serve`.
"""

from __future__ import annotations

import copy
from typing import Any

from flask import Flask, Response, request

from . import schema

DEFAULT_CONFIG: dict[str, Any] = {
    # client id -> {"secret", "redirect_uris" (None: any http(s) URL on 127.0.0.1/localhost),
    # "service_accounts" (may use account_type=service / client_credentials)}
    "SANDBOX_CLIENTS": {
        "ordna-dev": {"secret": "ordna-dev-secret", "redirect_uris": None, "service_accounts": True}
    },
    # Approve every authorization request at once (also POST /_sandbox/auto-approve).
    "SANDBOX_AUTO_APPROVE": False,
    # The company the consent page proposes and auto-approve connects.
    "SANDBOX_DEFAULT_COMPANY": {"CompanyName": "Sandlådan AB", "OrganizationNumber": "556677-8899"},
    # New tenants get demo customers, articles, cost centers… (units and price list A always).
    "SANDBOX_SEED": True,
    # (requests, seconds) per client+tenant, FACTS.md §2; None disables the limit.
    "SANDBOX_RATE_LIMIT": (25, 5.0),
    # Status for a missing/invalid/expired token: 401 (gateway) or 403 (docs), FACTS.md §3.
    "SANDBOX_AUTH_ERROR_STATUS": 401,
    # "lower" (official docs) or "capitalised" (also seen live) ErrorInformation keys, §3.
    "SANDBOX_ERROR_KEYS": "lower",
    # Also enforce the older, stricter limits (row Description 50, YourOrderNumber 30), §4.
    "SANDBOX_LEGACY_LIMITS": False,
    # What PUT /3/orders/{n}/createinvoice returns: "Invoice" (Spec-Feb) or "Order", §4.
    "SANDBOX_CREATEINVOICE_RETURNS": "Invoice",
    "SANDBOX_LOG_SIZE": 1000,
    "SANDBOX_FIRST_DATABASE_NUMBER": 100001,
    # Register the /_sandbox control endpoints.
    "SANDBOX_CONTROLS": True,
    # Refuse to start without Fortnox's official OpenAPI file (schema.openapi_path()). Off:
    # the sandbox then validates against its own description only (docs/sandbox.md).
    "SANDBOX_REQUIRE_OFFICIAL_OPENAPI": False,
}

__all__ = ["DEFAULT_CONFIG", "create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A sandbox app with fresh in-memory state; ``config`` overrides :data:`DEFAULT_CONFIG`.

    Bodies are validated against Fortnox's official OpenAPI file and the sandbox's own
    description, or the own one alone when the file is absent
    (:func:`fortnox_sandbox.schema.description_in_use`). With
    ``SANDBOX_REQUIRE_OFFICIAL_OPENAPI`` a missing file raises
    :class:`fortnox_sandbox.schema.SchemaUnavailable`.
    """
    from .state import SandboxState

    app = Flask(__name__)
    app.config.update(copy.deepcopy(DEFAULT_CONFIG))
    app.config.update(config or {})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if app.config["SANDBOX_REQUIRE_OFFICIAL_OPENAPI"]:
        schema.openapi_path()  # raises SchemaUnavailable without the official file
    app.extensions["fortnox_sandbox"] = SandboxState(app.config)
    register_blueprints(app)
    register_hooks(app)
    register_error_handlers(app)
    return app


def register_blueprints(app: Flask) -> None:
    from . import api, controls, oauth, topics

    app.register_blueprint(oauth.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(api.services_bp)
    if app.config["SANDBOX_CONTROLS"]:
        app.register_blueprint(controls.bp)
    topics.register(app)


def register_hooks(app: Flask) -> None:
    from .middleware import DropConnectionMiddleware, apply_fault, log_request

    app.before_request(apply_fault)
    app.after_request(log_request)
    app.wsgi_app = DropConnectionMiddleware(app.wsgi_app)  # type: ignore[method-assign]


def register_error_handlers(app: Flask) -> None:
    from .api import json_response
    from .errors import SYSTEM_EXCEPTION, FortnoxError, error_body
    from .files import web_exception

    def server_error(exc: Exception) -> Response:
        if request.path.startswith("/api/"):
            return json_response(web_exception(FortnoxError(SYSTEM_EXCEPTION)), 500)
        if request.path.startswith("/3"):
            # FACTS.md §3: 1000003 System exception.
            body = error_body(SYSTEM_EXCEPTION.code, SYSTEM_EXCEPTION.message,
                              app.config["SANDBOX_ERROR_KEYS"])  # fmt: skip
            return json_response(body, 500)
        return json_response({"error": "internal sandbox error"}, 500)

    app.register_error_handler(500, server_error)
