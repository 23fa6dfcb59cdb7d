"""Domain errors raised by services, and the handlers that render them.

Services raise these; the JSON API renders `{"error": {"code", "message", "fields"}}`
(domain-and-api.md "Errors"), and web views put `fields` next to the form's fields."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
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


class EditConflict(Conflict):
    """Someone else saved the record after this client read it (optimistic locking, issue #17):
    the save is refused, nothing is written (409)."""

    code = "edit_conflict"


class PreconditionFailed(ServiceError):
    """`If-Match` names a version that is no longer the current one (412, RFC 9110 §13.1.1)."""

    status = 412
    code = "precondition_failed"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class BadRequestText(ServiceError):
    """Text that cannot be stored: a NUL byte or a lone surrogate (400)."""

    status = 400
    code = "bad_request"

    def __init__(self) -> None:
        super().__init__(
            _("Texten innehåller tecken som inte kan sparas (ett nolltecken eller ett trasigt "
              "tecken). Ta bort dem och försök igen.")
        )  # fmt: skip


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
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


HTTP_HEADINGS = {
    403: _l("Ingen behörighet"),
    404: _l("Finns inte"),
    409: _l("Det går inte just nu"),
    429: _l("För många försök"),
    500: _l("Något gick fel"),
}

# Who can fix it, for users who cannot do it themselves (not shown to administrators).
ASK_AN_ADMIN = {
    403: _l("Behöver du komma åt det här? Kontakta en administratör."),
    404: _l("Borde det finnas? Kontakta en administratör."),
    409: _l("Kan du inte lösa det själv? Kontakta en administratör."),
    500: _l("Kvarstår felet? Kontakta en administratör."),
}


def is_admin() -> bool:
    return bool(getattr(current_user, "is_admin", False))


def back_link() -> tuple[str, str]:
    """(url, label) of the page the user came from when it is a page of this app, else the
    start page. Only the path and query of the referrer are used, so the link never leaves
    the app."""
    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        same_page = parts.path == request.path and request.method == "GET"
        if (
            parts.scheme in ("http", "https")
            and parts.netloc == request.host
            and parts.path.startswith("/")
            and not parts.path.startswith("//")
            and not same_page
        ):
            url = parts.path + (f"?{parts.query}" if parts.query else "")
            return url, _("Tillbaka")
    return url_for("main.index"), _("Till startsidan")


def render_error(
    status: int,
    message: str,
    *,
    heading: str | None = None,
    fix: str | None = None,
    fix_link: tuple[str, str] | None = None,
    back: tuple[str, str] | None = None,
) -> ResponseReturnValue:
    """The refusal page: what went wrong, who can fix it (`fix`, else an administrator for a
    user who is none; `fix_link` only for users who may open it) and a way back (`back`, else
    the page the user came from, else the start page)."""
    if fix is None and fix_link is None and not is_admin() and status in ASK_AN_ADMIN:
        fix = str(ASK_AN_ADMIN[status])
    back_url, back_label = back or back_link()
    return (
        render_template(
            "error.html",
            status=status,
            heading=heading or str(HTTP_HEADINGS.get(status, "")) or str(status),
            message=message,
            fix=fix,
            fix_link=fix_link,
            back_url=back_url,
            back_label=back_label,
            start_url=url_for("main.index"),
        ),
        status,
    )


def stale_error() -> ServiceError:
    """The answer to a save that lost the race to another one (StaleDataError): 412 when the
    client sent `If-Match` (its precondition no longer holds), else 409 `edit_conflict`."""
    message = _(
        "Någon annan har ändrat posten medan du arbetade. Hämta den igen och gör om ändringen."
    )
    if request.headers.get("If-Match"):
        return PreconditionFailed(message)
    return EditConflict(message)


def init_error_handlers(app: Flask) -> None:
    from app.extensions import db

    @app.errorhandler(ServiceError)
    def handle_service_error(exc: ServiceError) -> ResponseReturnValue:
        db.session.rollback()  # never a partial write
        if wants_json():
            return error_response(exc.status, exc.message, exc.fields, exc.code)
        return render_error(exc.status, exc.message)

    @app.errorhandler(StaleDataError)
    def handle_stale(exc: StaleDataError) -> ResponseReturnValue:
        # An UPDATE found its row at another version than it was read at: someone else
        # committed in between (two saves at once). The loser is refused, never merged.
        db.session.rollback()
        error = stale_error()
        if wants_json():
            return error_response(error.status, error.message, code=error.code)
        return render_error(error.status, error.message)

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
        return render_error(status, message)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if wants_json():
            return error_response(500, str(HTTP_MESSAGES[500]))
        return render_error(500, str(HTTP_MESSAGES[500]))


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
