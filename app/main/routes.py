"""The start page and template helpers shared by every page."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.orders.services import STATUS_LABELS, visible_orders

bp = Blueprint("main", __name__)


@bp.app_template_global()
def status_label(status: OrderStatus) -> str:
    return _(STATUS_LABELS[status])


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
