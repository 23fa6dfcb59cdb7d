"""Domain errors raised by services, and the handlers that render them.

Services raise these; the JSON API renders `{"error": {"code", "message", "fields"}}`
(domain-and-api.md "Errors"), and web views put `fields` next to the form's fields."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        fields: dict[str, list[str]] | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationFailed(ServiceError):
    """Invalid input (422). `fields` names each offending field."""

    status = 422
    code = "validation_error"

    @classmethod
    def field(cls, field: str, problem: str) -> ValidationFailed:
        return cls(_("Uppgifterna är inte giltiga."), {field: [problem]})


class Conflict(ServiceError):
    """A duplicate number, or an action not allowed in the current state (409)."""

    status = 409
    code = "conflict"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(
    status: int, message: str, fields: dict | None = None, code: str | None = None
) -> tuple[Response, int]:
    """The API's error body (domain-and-api.md "Errors")."""
    error: dict[str, object] = {"code": code or HTTP_CODES.get(status, "error"), "message": message}
    if fields:
        error["fields"] = fields
    return jsonify({"error": error}), status


def wants_json() -> bool:
    return request.path.startswith("/api/")


HTTP_MESSAGES = {
    400: _l("Felaktig begäran."),
    401: _l("Du måste logga in."),
    403: _l("Du har inte behörighet till detta."),
    404: _l("Sidan eller posten finns inte."),
    405: _l("Metoden är inte tillåten här."),
    409: _l("Konflikt med nuvarande läge."),
    413: _l("Begäran är för stor."),
    415: _l("Innehållstypen stöds inte; skicka JSON."),
    422: _l("Uppgifterna är inte giltiga."),
    429: _l("För många försök. Vänta en stund och försök igen."),
    500: _l("Ett internt fel inträffade. Försök igen om en stund."),
}


def init_error_handlers(app: Flask) -> None:
    from app.extensions import db

    @app.errorhandler(ServiceError)
    def handle_service_error(exc: ServiceError) -> ResponseReturnValue:
        db.session.rollback()  # never a partial write
        if wants_json():
            return error_response(exc.status, exc.message, exc.fields, exc.code)
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        db.session.rollback()
        message = str(HTTP_MESSAGES.get(status, exc.description or ""))
        if status == 400 and "CSRF" in (exc.description or ""):
            message = _("Formuläret har gått ut eller saknar säkerhetstoken. Ladda om sidan.")
        if wants_json():
            fields = None
            data = getattr(exc, "data", None)  # webargs/flask-smorest validation messages
            if isinstance(data, dict) and "messages" in data:
                fields = _flatten_messages(data["messages"])
            return error_response(status, message, fields)
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_json():
            return error_response(500, str(HTTP_MESSAGES[500]))
        return render_template("error.html", status=500, message=str(HTTP_MESSAGES[500])), 500


def _flatten_messages(messages: dict) -> dict[str, list[str]]:
    """webargs nests messages per location ({"json": {"field": [...]}}); flatten to
    {"field": [...]} and {"rows.0.quantity": [...]} for nested fields."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(isinstance(v, str) for v in value):
                out.setdefault(prefix or "_schema", []).extend(value)  # type: ignore[arg-type]
            else:
                for sub in value:
                    walk(prefix, sub)
        else:
            out.setdefault(prefix or "_schema", []).append(str(value))

    for location, value in messages.items():
        walk("", value) if location in ("json", "query", "form", "view_args") else walk(
            location, value
        )
    return out
