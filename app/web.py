"""What every server-rendered page shares: role checks, pagination, putting a service's
field errors (`ServiceError.fields`, keyed like "article_rows.0.quantity") next to the form's
fields, and WTForms' attribute rendering made cheaper (`install_html_params`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

import wtforms.widgets
import wtforms.widgets.core
from flask import abort, request
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import Select, func, select
from wtforms import Field, Form
from wtforms.fields import FieldList, FormField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets.core import clean_key

from app.auth.models import Role, User
from app.extensions import db
from app.formfields import select_choices
from app.i18n import local_today as local_today  # the one "today" (organisation's time zone)

F = TypeVar("F", bound=Callable[..., Any])

PER_PAGE = 25


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Sign-in required, and 403 for any role not in `roles` (docs/decisions.md "Roles")."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


admin_required = roles_required(Role.ADMIN)
staff_required = roles_required(Role.ADMIN, Role.OFFICE)


@dataclass
class Page:
    """One page of a query's rows, with what the pager needs."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number() -> int:
    """`?page=` as a positive int; anything else is page 1 (never a 500 for a bad link)."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 7:
        return 1  # also a page number no register reaches (the database would refuse the offset)
    return max(1, int(raw))


def paginate(query: Select, per_page: int = PER_PAGE, options: Sequence[Any] = ()) -> Page:
    """One page of ``query`` (``?page=``) and the total. ``options`` (loader options) apply to
    the page's rows only, so what each row shows is loaded in a fixed number of queries."""
    page = page_number()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = query.options(*options).limit(per_page).offset((page - 1) * per_page)
    items = list(db.session.scalars(rows).unique())
    return Page(items=items, page=page, per_page=per_page, total=total or 0)


def user_choices(
    *,
    include_ids: set[int | None] | None = None,
    empty: str | None = None,
    users: Sequence[User] | None = None,
) -> list[SelectChoice]:
    """Options for a user select: active users by name, plus inactive ones still referenced
    (`include_ids`) so an old order keeps showing who did the work. `users`: the users
    `users_to_choose` read for several selects at once (one query for a page), else they are
    read here."""
    wanted = {i for i in include_ids or set() if i is not None}
    if users is None:
        users = users_to_choose(wanted)
    choices: list[tuple[Any, str]] = [("", empty)] if empty is not None else []
    choices += [(user.id, user.name) for user in users if user.active or user.id in wanted]
    return select_choices(choices)


def users_to_choose(include_ids: Iterable[int | None] | None = None) -> list[User]:
    """Active users by name, and the inactive ones among `include_ids` (`user_choices`)."""
    wanted = {i for i in include_ids or set() if i is not None}
    query = select(User).order_by(User.name)
    if wanted:
        query = query.where(User.active.is_(True) | User.id.in_(wanted))
    else:
        query = query.where(User.active.is_(True))
    return list(db.session.scalars(query))


# --- errors from services onto form fields ----------------------------------------------------


def field_for(form: Form, key: str) -> Field | None:
    """The field a service error key names: "description", "article_rows.0.quantity" (a
    FieldList entry by position), "custom_fields.Er referens" (a custom field by its name).
    None when the form has no such field."""
    node: Any = form
    for part in key.split("."):
        if isinstance(node, FormField):
            node = node.form
        if isinstance(node, FieldList):
            if not part.isdigit() or int(part) >= len(node.entries):
                return None
            node = node.entries[int(part)]
            continue
        if isinstance(node, Form):
            names: dict[str, str] = getattr(node, "field_names", {})
            name = names.get(part, part)
            if name not in node._fields:
                return None
            node = node._fields[name]
            continue
        return None
    if isinstance(node, FormField):
        return None  # an error on a whole sub-form: shown at the top
    return node if isinstance(node, Field) else None


def apply_errors(
    form: Form, fields: dict[str, list[str]], aliases: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Attach each message of `fields` to the field it names (`aliases` renames service keys,
    e.g. {"text": "comment"}). Returns the messages no field claims, to show at the top."""
    leftovers: dict[str, list[str]] = {}
    for key, messages in fields.items():
        field = field_for(form, (aliases or {}).get(key, key))
        if field is None:
            leftovers.setdefault(key, []).extend(messages)
            continue
        field.errors = [*field.errors, *messages]
    return leftovers


# --- rendering form fields --------------------------------------------------------------------


def html_params(**kwargs: Any) -> Markup:
    """WTForms' ``html_params``: the same attributes, escaped the same way, in the same
    (sorted) order, but joined as plain strings. WTForms formats each attribute with
    ``Markup.format``, a string formatter that escapes every piece again; an order page
    renders some 80 fields with their labels and options, and that was a fifth of its time
    (issue #18)."""
    params = []
    for key, value in sorted(kwargs.items()):
        name = escape(clean_key(key))
        if value is True:
            params.append(str(name))
        elif value is not False:
            text = str(escape(value)).replace('"', "&quot;")  # a Markup value keeps its quotes
            params.append(f'{name}="{text}"')
    return Markup(" ".join(params))


def install_html_params() -> None:
    """Let every WTForms widget render its attributes with `html_params` (create_app calls
    it; calling it again changes nothing): the module's function, which Select, TextArea,
    the labels and the options call, and the copies Input and Button keep as their own
    ``html_params``. tests/web/test_render_cost.py checks the output is WTForms' own."""
    wtforms.widgets.core.html_params = html_params
    wtforms.widgets.html_params = html_params  # type: ignore[attr-defined]
    wtforms.widgets.core.Input.html_params = staticmethod(html_params)
    wtforms.widgets.core.Button.html_params = staticmethod(html_params)
