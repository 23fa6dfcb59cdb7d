"""What every API module shares: Bearer-token auth, role checks, pagination, lists and
record views, field types and the Swedish validation messages."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import Select, func, inspect, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.models import ApiToken, Role, User
from app.auth.services import user_for_token
from app.errors import NotFound, PermissionDenied, PreconditionFailed, ServiceError
from app.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Swedish default messages: the API answers in the user's language (Swedish first).
FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "Obligatoriskt fält.",
        "null": "Fältet får inte vara tomt.",
        "validator_failed": "Ogiltigt värde.",
    },
    fields.String: {"invalid": "Ange en text."},
    fields.Integer: {"invalid": "Ange ett heltal."},
    fields.Number: {"invalid": "Ange ett tal."},
    fields.Decimal: {"special": "Ange ett tal."},
    fields.Boolean: {"invalid": "Ange true eller false."},
    fields.Date: {"invalid": "Ange ett datum som ÅÅÅÅ-MM-DD."},
    fields.Email: {"invalid": "Ange en giltig e-postadress."},
    fields.List: {"invalid": "Ange en lista."},
    fields.Dict: {"invalid": "Ange ett objekt."},
    fields.Nested: {"type": "Ange ett objekt."},
}
SCHEMA_MESSAGES = {"unknown": "Okänt fält.", "type": "Ange ett JSON-objekt."}


def install_messages() -> None:
    """Make marshmallow's default messages Swedish. They are class attributes, so this holds
    for the whole process: `create_app` calls it (again for every app: it changes nothing
    then)."""
    for field_class, messages in FIELD_MESSAGES.items():
        field_class.default_error_messages.update(messages)
    Schema._default_error_messages = {  # type: ignore[attr-defined]
        **Schema._default_error_messages,  # type: ignore[attr-defined]
        **SCHEMA_MESSAGES,
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


# Sent as typed, never stripped: a password's spaces are part of it.
KEEP_AS_SENT = frozenset({"password"})


def _stripped(value: Any) -> Any:
    """Every string in a JSON value without surrounding whitespace (str.strip: tabs, NEL
    U+0085 and the other Unicode spaces too)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    if isinstance(value, dict):
        return {key: _stripped(item) for key, item in value.items()}
    return value


class StrippedSchema(Schema):
    """Strings are stripped before any validation (issue #17 "Blank values pass"): a tab as
    an article number or U+0085 as a name is empty, so a required field refuses it, and a
    length is the length of what is kept. The one place the API's request bodies are
    cleaned; query strings (not a JSON object) are left to their fields."""

    @pre_load
    def _strip_strings(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            key: value if key in KEEP_AS_SENT else _stripped(value) for key, value in data.items()
        }


class Strict(StrippedSchema):
    """Request schemas refuse unknown fields (422 naming the field)."""

    class Meta:
        unknown = RAISE


class Loose(StrippedSchema):
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


def searched(query: Select, text: str | None, *columns: Any) -> Select:
    """``query`` narrowed to the rows where any of ``columns`` contains ``text``, ignoring
    case (``?q=``); all rows when ``text`` is empty or None."""
    if not text:
        return query
    like = f"%{text.lower()}%"
    return query.where(or_(*(func.lower(column).like(like) for column in columns)))


def narrowed(query: Select, args: dict[str, Any], **columns: Any) -> Select:
    """``query`` narrowed by each query-string argument that was given: ``name=column`` keeps
    the rows whose column is ``args[name]`` (a boolean is compared with IS); an argument that
    is None (not sent) narrows nothing."""
    for name, column in columns.items():
        value = args.get(name)
        if value is None:
            continue
        query = query.where(column.is_(value) if isinstance(value, bool) else column == value)
    return query


def committed(obj: T) -> T:
    """Commit the request's change and answer with ``obj`` (a view's last line)."""
    db.session.commit()
    return obj


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
    _save_token_use()
    g.api_user = user


# How often a token's "last used" is written: not on every call, or every GET would write.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def _save_token_use() -> None:
    """`user_for_token` stamps the token's last use in the session, and a GET commits
    nothing: commit the stamp now when the one saved is older than TOKEN_USE_RESOLUTION (or
    there is none), else drop it, so no request writes it more often than that."""
    for api_token in [obj for obj in db.session.dirty if isinstance(obj, ApiToken)]:
        saved = inspect(api_token).attrs.last_used_at.history.deleted
        before = saved[0] if saved else None
        used = api_token.last_used_at
        if before is not None and used is not None and used - before < TOKEN_USE_RESOLUTION:
            set_committed_value(api_token, "last_used_at", before)
        else:
            db.session.commit()


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


# --- optimistic locking (issue #17; docs/decisions.md "Concurrent edits") -----------------------


def etag_of(obj: Any) -> str:
    """The ETag of an order, customer or article: its version as a strong entity tag
    (``"3"``). It changes with every saved change of the record's own data, which is what
    ``If-Match`` guards."""
    return f'"{obj.version}"'


def with_etag(obj: Any) -> tuple[Any, dict[str, str]]:
    """A view's result with its ``ETag`` header (flask-smorest's (body, headers) tuple)."""
    return obj, {"ETag": etag_of(obj)}


def changed_with_etag(
    obj: T, data: dict[str, Any], update: Callable[[T, dict[str, Any]], Any]
) -> tuple[T, dict[str, str]]:
    """A PATCH with optimistic locking: ``If-Match`` checked (:func:`check_if_match`), then
    ``update(obj, data)``, committed; ``obj`` answered with its new ETag."""
    check_if_match(obj)
    update(obj, data)
    db.session.commit()
    return with_etag(obj)


def check_if_match(obj: Any) -> None:
    """Refuse the change when ``If-Match`` is sent and names no current version of ``obj``
    (412 ``precondition_failed``; nothing is written). ``*`` matches. Compared strongly, as
    RFC 9110 asks for ``If-Match``: a weak ``W/"3"`` never matches. Without the header the
    change is not checked (the last writer wins for clients that do not ask)."""
    wanted = request.if_match
    if not wanted:
        return
    if not wanted.contains(str(obj.version)):
        raise PreconditionFailed(
            _(
                "Posten har ändrats sedan du hämtade den (If-Match %(sent)s, nu %(now)s). "
                "Hämta den igen och gör om ändringen.",
                sent=request.headers.get("If-Match", ""),
                now=etag_of(obj),
            )
        )


ETAG_HEADER = {
    "ETag": {
        "description": 'Postens version som stark entity tag, t.ex. "3". Skicka den i If-Match '
        "när du ändrar posten.",
        "schema": {"type": "string"},
    }
}

IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": 'ETag från GET (t.ex. "3"). Ändringen görs bara om posten fortfarande har '
    "den versionen, annars 412 och inget ändras. Utan If-Match kontrolleras inget: den som "
    "sparar sist vinner (för klienter som inte frågar).",
}

PRECONDITION_FAILED_DOC = {
    "description": "If-Match anger en version som inte längre är aktuell, eller någon annan "
    "sparade samtidigt: inget har ändrats. Felkoden är precondition_failed.",
}
CONFLICT_DOC = {
    "description": "Konflikt, bland annat edit_conflict: någon annan sparade samma post "
    "samtidigt (utan If-Match), inget har ändrats.",
}


def patch_doc(what: str) -> dict[str, Any]:
    """The OpenAPI description of a PATCH with optimistic locking (``@bp.doc(**patch_doc(…))``)."""
    return {
        "description": f"Ändra {what}. Skicka If-Match med ETag från GET för att inte skriva "
        "över någon annans ändring (412 om den är inaktuell). Utan If-Match vinner den som "
        "sparar sist. Svaret har den nya ETag.",
        "parameters": [IF_MATCH_PARAMETER],
        "responses": {"412": PRECONDITION_FAILED_DOC, "409": CONFLICT_DOC},
    }


def child_resource(
    bp: Blueprint,
    path: str,
    model: Any,
    *,
    id_arg: str,
    parent: tuple[str, Any],
    schema: type[Schema],
    update_schema: type[Schema],
    query_schema: type[Schema],
    create: Callable[[dict[str, Any]], Any],
    update: Callable[[Any, dict[str, Any]], Any],
    endpoints: tuple[str, str],
) -> None:
    """Register the views of a record that belongs to a parent record (a facility to its
    customer, a service object to its facility), open to every role:

    * ``GET path``: a page, oldest first, of the ``parent`` argument's records when it is sent
      (``parent``: the query argument and the column it compares), else of all;
    * ``POST path``: ``create(data)``, 201;
    * ``GET path/<int:id_arg>``: one record (404 when there is none);
    * ``PATCH path/<int:id_arg>``: ``update(record, data)``, answered with the record.

    ``endpoints`` name the two MethodViews (collection, record) in the blueprint. No ETag: these
    records carry no version."""
    parent_arg, parent_column = parent

    class Collection(MethodView):
        @bp.arguments(query_schema, location="query")
        @bp.response(200, page_of(schema))
        def get(self, args: dict) -> dict:
            query = select(model).order_by(model.id)
            return paginate(narrowed(query, args, **{parent_arg: parent_column}), args)

        @bp.arguments(schema)
        @bp.response(201, schema)
        def post(self, data: dict) -> Any:
            return committed(create(data))

    class Record(MethodView):
        @bp.response(200, schema)
        def get(self, **ids: int) -> Any:
            return get_or_404(model, ids[id_arg])

        @bp.arguments(update_schema)
        @bp.response(200, schema)
        def patch(self, data: dict, **ids: int) -> Any:
            return committed(update(get_or_404(model, ids[id_arg]), data))

    bp.route(path, endpoint=endpoints[0])(Collection)
    bp.route(f"{path}/<int:{id_arg}>", endpoint=endpoints[1])(Record)
