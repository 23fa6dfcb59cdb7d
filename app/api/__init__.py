"""The JSON API /api/v1 (domain-and-api.md), built with flask-smorest so one marshmallow
schema per resource validates requests, shapes responses and generates the OpenAPI document
at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.extensions import csrf


def init_api(app: Flask) -> Api:
    """Create the app's Api and register every resource blueprint on it."""
    from app.api import admin, articles, customers, integrations, orders

    api = Api(
        app,
        spec_kwargs={
            "info": {
                "description": "Ordnas JSON-API. Autentisering: Authorization: Bearer <token>.",
            },
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (customers, articles, admin, orders, integrations):
        csrf.exempt(module.bp)  # Bearer tokens only, never the session cookie
        api.register_blueprint(module.bp)
    app.extensions["ordna_api"] = api
    return api
