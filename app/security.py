"""Cross-cutting protections installed by the factory: security headers on every answer, and
the classes of bad input that would otherwise reach the database as a 500 — handled once,
where they enter (a URL converter for ids, one request hook for text), not view by view.

- Headers: a strict Content-Security-Policy (the templates have no inline script or style),
  ``frame-ancestors 'none'``, ``X-Content-Type-Options``, ``Referrer-Policy``, HSTS when served
  over HTTPS, and ``Cache-Control: no-store`` on pages of a signed-in user.
- Ids in paths are whole numbers that fit the database's integer (1 … 2³¹−1); anything else is
  the 404 of a row that cannot exist.
- A NUL byte or a lone surrogate in the query string or a form field is a 400 with the spec's
  error body (PostgreSQL refuses NUL in text; a surrogate cannot be encoded)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


def content_security_policy(oauth_url: str | None) -> str:
    """The policy: our own scripts and styles only, never framed. Forms post here — and to
    Fortnox's OAuth server, which "Anslut till Fortnox" redirects to."""
    form_action = "'self'"
    if oauth_url:
        parts = urlsplit(oauth_url)
        if parts.scheme and parts.netloc:
            form_action += f" {parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


class DatabaseIdConverter(IntegerConverter):
    """``<int:…>`` for ids: 1 … 2³¹−1 (PostgreSQL's integer), else no route matches (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def install(app: Flask) -> None:
    """Call before the blueprints are registered (the converter applies to their routes)."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.before_request(_refuse_unstorable_text)
    app.after_request(_headers)


def _unstorable(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


MAX_JSON_DEPTH = 32  # far beyond any body of ours (an order is 3 deep)


def _refuse_unstorable_text() -> None:
    from app.errors import BadRequestText, ServiceError

    values = list(request.args.values())
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += list(request.form.values())
    if request.is_json and request.content_length:
        try:
            body = request.get_json(silent=True)
        except RecursionError:
            raise ServiceError(_too_deep()) from None
        values += _json_strings(body)
    if any(_unstorable(v) for v in values) or _unstorable(request.path):
        raise BadRequestText()


def _too_deep() -> str:
    from flask_babel import gettext as _

    return _("JSON-dokumentet är för djupt nästlat.")


def _json_strings(body: Any) -> list[str]:
    """Every string (keys too) of a decoded JSON body, walked without recursion; a body nested
    deeper than MAX_JSON_DEPTH is refused (400)."""
    from app.errors import ServiceError

    found: list[str] = []
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ServiceError(_too_deep())
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for key, sub in value.items():
                found.append(str(key))
                stack.append((sub, depth + 1))
        elif isinstance(value, list):
            stack.extend((sub, depth + 1) for sub in value)
    return found


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(current_app.config.get("FORTNOX_OAUTH_URL")),
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html" and "Cache-Control" not in headers:
        from flask_login import current_user

        if current_user.is_authenticated:
            headers["Cache-Control"] = "no-store"
    return response
