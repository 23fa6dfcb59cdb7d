"""Sending orders to Fortnox from the web pages: "Skicka till Fortnox" on the order page,
"Skicka markerade" on the order list, "Ej överförda" with "Försök alla igen", and
"Visa faktura" (the Fortnox PDF streamed through the app). Admin and office send; everyone
who may see an order sees its Fortnox state (integration-health.md "Per order")."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select

from app.errors import Conflict
from app.extensions import db
from app.integrations.fortnox import sending, services
from app.integrations.fortnox.errors import FortnoxError
from app.orders.forms import FORTNOX_LABELS
from app.orders.models import FortnoxState, Order
from app.orders.services import ensure_access, visible_orders
from app.web import paginate

bp = Blueprint("fortnox_send", __name__)

# "Skicka markerade" and "Försök alla igen" take at most this many orders per click.
MAX_ORDERS_PER_SEND = 100


@bp.app_template_global()
def fortnox_send_action(order: Order) -> str | None:
    """Which send button the order page offers: "send", "resend", "retry", or none."""
    return sending.send_action(order)


def _staff_only() -> None:
    if not current_user.is_staff:
        abort(403)


@bp.post("/orders/<int:order_id>/send")
@login_required
def send_order(order_id: int) -> ResponseReturnValue:
    """ "Skicka till Fortnox" / "Försök igen": queue the send; the job runs in the background."""
    _staff_only()
    order = db.get_or_404(Order, order_id)
    ensure_access(current_user, order)
    try:
        send = sending.request_send(order, by=current_user)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("orders.detail", order_id=order_id) + "#fortnox")
    db.session.commit()
    if send.job_id is None:
        sending.enqueue_send(send)
    flash(_("Ordern är skickad till kön för Fortnox."), "info")
    return redirect(url_for("orders.detail", order_id=order_id) + "#fortnox")


def _selected_ids() -> list[int]:
    raw = request.form.getlist("order_id")
    if len(raw) > MAX_ORDERS_PER_SEND:
        abort(413)
    ids = []
    for value in raw:
        if not value.isdigit() or len(value) > 10:
            abort(400)
        ids.append(int(value))
    return ids


def _send_many(orders: list[Order]) -> None:
    sends, refused = sending.send_orders(orders, by=current_user)
    if sends:
        flash(
            ngettext(
                "%(num)d order är skickad till kön för Fortnox.",
                "%(num)d ordrar är skickade till kön för Fortnox.",
                len(sends),
            ),
            "info",
        )
    numbers = {order.id: order.display_number for order in orders}
    for order_id, message in refused.items():
        flash(f"{numbers[order_id]}: {message}", "error")


@bp.post("/orders/send")
@login_required
def send_selected() -> ResponseReturnValue:
    """ "Skicka markerade": the orders ticked on the list (at most MAX_ORDERS_PER_SEND)."""
    _staff_only()
    ids = _selected_ids()
    if not ids:
        flash(_("Markera de ordrar som ska skickas."), "error")
        return redirect(url_for("orders.index"))
    orders = list(db.session.scalars(visible_orders(current_user).where(Order.id.in_(ids))))
    _send_many(orders)
    return redirect(url_for("orders.index"))


@bp.get("/orders/unsent")
@login_required
def unsent() -> ResponseReturnValue:
    """ "Ej överförda": every order whose send failed, with its reason and a retry for all."""
    query = (
        visible_orders(current_user)
        .where(Order.fortnox_state == FortnoxState.FAILED)
        .order_by(Order.updated_at.desc(), Order.id.desc())
    )
    return render_template("orders/unsent.html", page=paginate(query))


@bp.post("/orders/unsent/retry")
@login_required
def retry_unsent() -> ResponseReturnValue:
    """ "Försök alla igen": the failed orders, oldest first, MAX_ORDERS_PER_SEND per click."""
    _staff_only()
    orders = list(
        db.session.scalars(
            visible_orders(current_user)
            .where(Order.fortnox_state == FortnoxState.FAILED)
            .order_by(Order.updated_at, Order.id)
            .limit(MAX_ORDERS_PER_SEND)
        )
    )
    if orders:
        _send_many(orders)
    return redirect(url_for("fortnox_send.unsent"))


# States a send is still under way in: the pages poll the state endpoints while they last.
IN_PROGRESS = (FortnoxState.QUEUED, FortnoxState.SENDING)


def _state_of(order: Order) -> dict[str, Any]:
    """An order's Fortnox state as the pages show it (labels in the user's language)."""
    return {
        "id": order.id,
        "state": order.fortnox_state.value,
        "label": str(FORTNOX_LABELS[order.fortnox_state]),
        "in_progress": order.fortnox_state in IN_PROGRESS,
        "status": order.status.value,
        "status_label": str(order.status.label),
        "document_type": order.fortnox_document_type,
        "document_number": order.fortnox_document_number,
        "invoice_number": order.fortnox_invoice_number,
        "last_error": (
            order.fortnox_last_error if order.fortnox_state == FortnoxState.FAILED else None
        ),
        "pdf_url": (
            url_for("fortnox_send.fortnox_pdf", order_id=order.id)
            if order.fortnox_document_number
            else None
        ),
    }


def _no_store(payload: dict[str, Any]) -> ResponseReturnValue:
    response = jsonify(payload)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/orders/<int:order_id>/fortnox-state")
@login_required
def fortnox_state(order_id: int) -> ResponseReturnValue:
    """The order's Fortnox state as JSON, for the order page to follow a send while it is
    "I kö" or "Skickas". Whoever may see the order may ask."""
    order = db.get_or_404(Order, order_id)
    ensure_access(current_user, order)
    return _no_store(_state_of(order))


@bp.get("/orders/fortnox-states")
@login_required
def fortnox_states() -> ResponseReturnValue:
    """The Fortnox states of the orders ``?id=1&id=2…`` (at most MAX_ORDERS_PER_SEND) that the
    user may see, for the order list to follow the rows being sent. Others are left out."""
    raw = request.args.getlist("id")
    if len(raw) > MAX_ORDERS_PER_SEND:
        abort(413)
    if not all(value.isdigit() and len(value) <= 10 for value in raw):
        abort(400)
    ids = sorted({int(value) for value in raw})
    orders = (
        db.session.scalars(visible_orders(current_user).where(Order.id.in_(ids))).all()
        if ids
        else []
    )
    return _no_store({"orders": [_state_of(order) for order in orders]})


@bp.get("/orders/<int:order_id>/fortnox.pdf")
@login_required
def fortnox_pdf(order_id: int) -> ResponseReturnValue:
    """ "Visa faktura": the Fortnox invoice (or order) as a PDF, without logging in to Fortnox.
    Uses Fortnox's preview, which does not mark the document as sent."""
    order = db.get_or_404(Order, order_id)
    ensure_access(current_user, order)
    if not order.fortnox_document_number:
        abort(404)
    integration = db.session.scalar(
        select(sending.FortnoxSend.integration_id)
        .where(sending.FortnoxSend.order_id == order.id)
        .order_by(sending.FortnoxSend.id.desc())
        .limit(1)
    )
    from app.integrations.models import FortnoxIntegration

    target = db.session.get(FortnoxIntegration, integration) if integration else None
    if target is None or not target.encrypted_tokens:
        flash(_("Fortnox-integrationen är inte ansluten, så dokumentet kan inte visas."), "error")
        return redirect(url_for("orders.detail", order_id=order_id) + "#fortnox")
    client = services.client_for(target)
    try:
        if order.fortnox_invoice_number:
            pdf = client.preview_invoice(order.fortnox_invoice_number)
            name = f"faktura-{order.fortnox_invoice_number}.pdf"
        else:
            pdf = client.preview_order(order.fortnox_document_number)
            name = f"fortnox-order-{order.fortnox_document_number}.pdf"
    except FortnoxError as exc:
        flash(exc.user_message, "error")
        return redirect(url_for("orders.detail", order_id=order_id) + "#fortnox")
    finally:
        client.close()
    response = send_file(BytesIO(pdf), mimetype="application/pdf", download_name=name)
    response.headers["Cache-Control"] = "private, no-store"
    return response
