"""The start page and template helpers shared by every page."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_login import current_user, login_required

from app.extensions import db
from app.orders.forms import FORTNOX_LABELS
from app.orders.models import FortnoxState, Order, OrderKind, OrderStatus
from app.orders.services import visible_orders

bp = Blueprint("main", __name__)


@bp.app_template_global()
def status_label(status: OrderStatus) -> str:
    return str(status.label)


@bp.app_template_global()
def fortnox_label(state: FortnoxState) -> str:
    return str(FORTNOX_LABELS[state])


@bp.app_template_global()
def kind_label(kind: OrderKind) -> str:
    return str(kind.label)


@bp.app_context_processor
def inject_app() -> dict[str, Any]:
    # <html lang> needs the locale.
    return {"get_locale": get_locale}


@bp.app_template_filter("money")
def money(value: Decimal | None) -> str:
    return "" if value is None else format_decimal(value, format="#,##0.00")


@bp.app_template_filter("num")
def num(value: Decimal | None) -> str:
    """A quantity or hours without trailing zeros, in the user's language."""
    return "" if value is None else format_decimal(value, format="#,##0.###")


@bp.app_template_filter("dt")
def dt(value: datetime | None) -> str:
    """A timestamp in Swedish time (BABEL_DEFAULT_TIMEZONE)."""
    return "" if value is None else format_datetime(value, "yyyy-MM-dd HH:mm")


@bp.app_template_filter("d")
def d(value: date | None) -> str:
    return "" if value is None else format_date(value, "yyyy-MM-dd")


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    query = visible_orders(current_user)
    recent = db.session.scalars(query.order_by(Order.updated_at.desc()).limit(20)).all()
    mine = db.session.scalars(
        query.where(
            Order.assigned_user_id == current_user.id,
            Order.status.in_([OrderStatus.DRAFT, OrderStatus.IN_PROGRESS]),
        )
        .order_by(Order.id.desc())
        .limit(20)
    ).all()
    return render_template("main/index.html", recent=recent, mine=mine)
