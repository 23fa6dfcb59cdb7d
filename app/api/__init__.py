"""The JSON API /api/v1 (domain-and-api.md), built with flask-smorest so one marshmallow
schema per resource validates requests, shapes responses and generates the OpenAPI document
at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_smorest import Api
from marshmallow import Schema, fields

from app.extensions import csrf


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True,
        metadata={"description": "Maskinläsbar kod, t.ex. validation_error, not_found."},
    )
    message = fields.String(
        required=True, metadata={"description": "Vad som gick fel, på svenska."}
    )
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Per fält: vad som är fel (vid 400/422)."},
    )


class ErrorSchema(Schema):
    """Every error the API answers: ``{"error": {"code", "message", "fields"}}``
    (domain-and-api.md "Errors"), never flask-smorest's own shape."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class OrdnaApi(Api):
    ERROR_SCHEMA = ErrorSchema


def refuse_empty_patch() -> tuple[Response, int] | None:
    """A PATCH without a body changes nothing and says nothing: 400, not a 200 that pretends
    something was saved."""
    from app.errors import error_response

    if (
        request.method == "PATCH"
        and request.path.startswith("/api/v1/")
        and not request.get_data(cache=True).strip()
    ):
        return error_response(
            400, "Skicka en JSON-kropp med de fält som ska ändras.", code="bad_request"
        )
    return None


def init_api(app: Flask) -> Api:
    """Create the app's Api and register every resource blueprint on it."""
    from app.api import admin, articles, customers, integrations, orders

    api = OrdnaApi(
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
    app.before_request(refuse_empty_patch)
    app.extensions["ordna_api"] = api
    return api
