"""What every API module shares: Bearer-token auth, role checks, pagination, field types
and the Swedish validation messages."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_babel import gettext as _
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from app.auth.models import Role, User
from app.auth.services import user_for_token
from app.errors import NotFound, PermissionDenied, ServiceError
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

# Swedish default messages: the API answers in the user's language (Swedish first).
fields.Field.default_error_messages.update(
    {
        "required": "Obligatoriskt fält.",
        "null": "Fältet får inte vara tomt.",
        "validator_failed": "Ogiltigt värde.",
    }
)
fields.String.default_error_messages.update({"invalid": "Ange en text."})
fields.Integer.default_error_messages.update({"invalid": "Ange ett heltal."})
fields.Number.default_error_messages.update({"invalid": "Ange ett tal."})
fields.Decimal.default_error_messages.update({"special": "Ange ett tal."})
fields.Boolean.default_error_messages.update({"invalid": "Ange true eller false."})
fields.Date.default_error_messages.update({"invalid": "Ange ett datum som ÅÅÅÅ-MM-DD."})
fields.Email.default_error_messages.update({"invalid": "Ange en giltig e-postadress."})
fields.List.default_error_messages.update({"invalid": "Ange en lista."})
fields.Dict.default_error_messages.update({"invalid": "Ange ett objekt."})
fields.Nested.default_error_messages.update({"type": "Ange ett objekt."})
Schema._default_error_messages = {  # type: ignore[attr-defined]
    **Schema._default_error_messages,  # type: ignore[attr-defined]
    "unknown": "Okänt fält.",
    "type": "Ange ett JSON-objekt.",
}


def length(max_: int, min_: int = 0) -> validate.Length:
    return validate.Length(min=min_, max=max_, error=f"Högst {max_} tecken.")


def required_text(max_: int) -> validate.Length:
    return validate.Length(min=1, max=max_, error=f"Fyll i fältet (högst {max_} tecken).")


MAX_ID = 2**31 - 1  # PostgreSQL's integer: ids beyond it cannot exist
MAX_PAGE = 1_000_000


class Id(fields.Integer):
    """A database id: a whole number from 1 to 2³¹−1 — a JSON integer, or digits in a query
    string. ``1.5`` is refused (marshmallow's Integer would round it down), and so is anything
    beyond the database's integer, which would otherwise reach PostgreSQL as a 500."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "validate", validate.Range(min=1, max=MAX_ID, error="Ange ett giltigt id.")
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
            return int(value)
        raise self.make_error("invalid")


class BoundedList(fields.List):
    """A list with an upper bound (app/limits.py), checked before any item is read, so an
    oversized body costs nothing; the bound is in the OpenAPI document as maxItems."""

    def __init__(self, inner: Any, *, max_items: int, **kwargs: Any) -> None:
        self.max_items = max_items
        kwargs.setdefault("validate", validate.Length(max=max_items, error=self._message()))
        super().__init__(inner, **kwargs)

    def _message(self) -> str:
        return f"Högst {self.max_items} rader."

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list) and len(value) > self.max_items:
            raise ValidationError(self._message())
        return super()._deserialize(value, attr, data, **kwargs)


def bounded(max_items: int) -> validate.Length:
    """At most ``max_items`` keys (a dict field)."""
    return validate.Length(max=max_items, error=f"Högst {max_items} fält.")


def non_negative(max_: float) -> validate.Range:
    return validate.Range(min=0, max=max_, error="Ange ett tal som inte är negativt.")


class Number(fields.Decimal):
    """A decimal loaded exactly from a JSON number or numeric string, dumped as a JSON number."""

    def __init__(self, places: int = 2, **kwargs: Any) -> None:
        super().__init__(places=places, allow_nan=False, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return float(value) if isinstance(value, Decimal) else value


class Strict(Schema):
    """Request schemas refuse unknown fields (422 naming the field)."""

    class Meta:
        unknown = RAISE


class Loose(Schema):
    class Meta:
        unknown = EXCLUDE


class PageArgs(Loose):
    page = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=MAX_PAGE, error=f"Från 1 till {MAX_PAGE}."),
    )
    per_page = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=200, error="Mellan 1 och 200.")
    )


_page_schemas: dict[str, type[Schema]] = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """The collection envelope {"items", "page", "per_page", "total"} for an item schema."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item_schema)),
                "page": fields.Integer(),
                "per_page": fields.Integer(),
                "total": fields.Integer(),
            },
        )
    return _page_schemas[name]


def paginate(query: Select, args: dict[str, Any], options: Sequence[Any] = ()) -> dict[str, Any]:
    """The collection envelope for one page; ``options`` (loader options) load what each item
    shows in a fixed number of queries."""
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = query.options(*options).limit(per_page).offset((page - 1) * per_page)
    items = db.session.scalars(rows).unique().all()
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total or 0,
        "pages": math.ceil((total or 0) / per_page),
    }


def authenticate_request() -> None:
    """Every API call needs `Authorization: Bearer <token>` (never the session cookie, so
    the API needs no CSRF token and a browser page cannot call it on a user's behalf)."""
    if request.method == "OPTIONS" or request.path.rstrip("/").endswith("/openapi.json"):
        return
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    user = user_for_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if user is None:
        raise Unauthorized()
    g.api_user = user


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__(_("Ange en giltig API-token (Authorization: Bearer …)."))


def current_api_user() -> User:
    return g.api_user


def require_roles(*roles: Role) -> Callable[[F], F]:
    """Allow the view only for these roles (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_api_user().role not in roles:
                raise PermissionDenied(_("Din roll har inte behörighet till detta."))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


STAFF = (Role.ADMIN, Role.OFFICE)


def get_or_404(model: type, id_: int) -> Any:
    obj = db.session.get(model, id_)
    if obj is None:
        raise NotFound(_("Posten finns inte."))
    return obj
