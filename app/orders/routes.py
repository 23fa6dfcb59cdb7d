"""Order pages: the list with filters, "Mina ordrar", a new order, and the order page where
the work is written down, signed off and moved on.

The order page is one form. Every button (save, sign, a status change, a comment, sending the
protocol) submits all of it, so nothing typed anywhere on the page is lost; rows are added in
the browser (static/app.js) and saved together. The service protocol is downloaded as a PDF
and e-mailed from the same page."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms.fields.choices import SelectChoice

from app.articles.services import articles_by_numbers
from app.auth.models import Subgroup
from app.customers.models import Customer
from app.customers.services import customer_label, service_object_choices
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.formfields import custom_field_data, select_choices, with_custom_fields
from app.locking import SavedValue, shown
from app.mail import MailDeliveryError, writes_files
from app.orders import services
from app.orders.forms import (
    FORTNOX_LABELS,
    STATUS_BUTTONS,
    ActionForm,
    ArticleRowForm,
    NewOrderForm,
    OrderFilterForm,
    OrderForm,
    ReadingForm,
    order_data,
)
from app.orders.mail import failure_for, send_protocol
from app.orders.models import FortnoxState, Order, OrderKind, OrderStatus
from app.orders.protocol import protocol_response
from app.web import apply_errors, local_today, paginate, user_choices

bp = Blueprint("orders", __name__)

PROTOCOL_NOTICE = "protocol_notice"  # session key: the result of "Skicka protokoll"

OPEN_STATUSES = [OrderStatus.DRAFT, OrderStatus.IN_PROGRESS, OrderStatus.READY]


def _subgroup_choices(empty: str) -> list[SelectChoice]:
    subgroups = db.session.scalars(select(Subgroup).order_by(Subgroup.name))
    return select_choices([("", empty), *((s.id, s.name) for s in subgroups)])


# --- the list ---------------------------------------------------------------------------------


def _filter_form(*, mine: bool) -> OrderFilterForm:
    form = OrderFilterForm(formdata=request.args)
    everything = _("Alla")
    form.kind.choices = select_choices([("", everything), *((k, k.label) for k in OrderKind)])
    form.status.choices = select_choices([("", everything), *((s, s.label) for s in OrderStatus)])
    # The customer filter searches like the order pages' customer field; an unknown or
    # ambiguous text shows its error and filters on nothing (an id alone is trusted).
    if form.customer_id.data or form.customer_query.data or form.customer_pick.data:
        choice = form.choose_customer(include_inactive=True)
        if choice.error:
            form.customer_id.errors = [choice.error]
    form.assigned_user_id.choices = user_choices(empty=everything)
    form.fortnox_state.choices = select_choices([("", everything), *FORTNOX_LABELS.items()])
    if current_user.is_staff:
        form.subgroup_id.choices = _subgroup_choices(everything)
    else:
        del form.subgroup_id  # a technician sees their own subgroup only
    if mine:
        del form.assigned_user_id
    return form


def _filters(form: OrderFilterForm) -> dict[str, Any]:
    """Only values the enums know reach the query (a hand-edited link is no 500)."""
    filters: dict[str, Any] = {"q": form.q.data or ""}
    for name, enum_cls in (
        ("kind", OrderKind),
        ("status", OrderStatus),
        ("fortnox_state", FortnoxState),
    ):
        value = form[name].data
        filters[name] = value if value in {m.value for m in enum_cls} else None
    for name in ("customer_id", "assigned_user_id", "subgroup_id"):
        if name in form and not form[name].errors:
            filters[name] = form[name].data
    return filters


@bp.route("/orders")
@login_required
def index() -> ResponseReturnValue:
    form = _filter_form(mine=False)
    page = paginate(
        services.search_orders(current_user, _filters(form)), options=services.LIST_OPTIONS
    )
    return render_template("orders/list.html", form=form, page=page, mine=False)


@bp.route("/orders/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The signed-in user's assigned orders; open ones unless a status is picked."""
    form = _filter_form(mine=True)
    filters = {**_filters(form), "assigned_user_id": current_user.id}
    if not filters["status"]:
        filters["statuses"] = OPEN_STATUSES
    page = paginate(services.search_orders(current_user, filters), options=services.LIST_OPTIONS)
    return render_template("orders/list.html", form=form, page=page, mine=True)


# --- a new order ------------------------------------------------------------------------------


@bp.route("/orders/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    kind = request.args.get("kind", OrderKind.SERVICE.value)
    form = NewOrderForm(
        data={
            "kind": kind if kind in {k.value for k in OrderKind} else OrderKind.SERVICE.value,
            "customer_id": request.args.get("customer_id", type=int),
            "subgroup_id": current_user.subgroup_id,
            "assigned_user_id": None if current_user.is_staff else current_user.id,
        }
    )
    customer = form.choose_customer().customer
    _follow_customer(form, customer)
    form.assigned_user_id.choices = user_choices(empty="—")
    if current_user.is_staff:
        form.subgroup_id.choices = _subgroup_choices(_("Ingen"))
    else:
        del form.subgroup_id  # technicians create orders in their own subgroup only
    if not form.validate_on_submit():
        return _new_page(form, status=422 if form.is_submitted() else 200)
    data: dict[str, Any] = {
        "kind": form.kind.data,
        "customer_id": form.customer_id.data,
        "facility_id": form.facility_id.data,
        "contact_id": form.contact_id.data,
        "assigned_user_id": form.assigned_user_id.data,
        "orderer": (form.orderer.data or "").strip() or None,
        "customer_order_number": (form.customer_order_number.data or "").strip() or None,
        "description": (form.description.data or "").strip() or None,
    }
    if form.kind.data == OrderKind.SALES.value:
        data["delivery_date"] = form.delivery_date.data
    if "subgroup_id" in form:
        data["subgroup_id"] = form.subgroup_id.data
    try:
        order = services.create_order(data, by=current_user)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields)
        return _new_page(form, leftovers=leftovers, status=422)
    db.session.commit()
    flash(_("Order %(number)s skapad.", number=order.display_number), "success")
    return redirect(url_for(".detail", order_id=order.id))


def _new_page(form: NewOrderForm, *, status: int = 200, **context: Any) -> ResponseReturnValue:
    from app.integrations.fortnox.importing import integration_for_import

    can_import = integration_for_import(current_user.subgroup_id) is not None
    return (
        render_template("orders/new.html", form=form, can_import=can_import, **context),
        status,
    )


@bp.post("/orders/new/from-fortnox")
@login_required
def new_from_fortnox() -> ResponseReturnValue:
    """ "Hämta order": a new order copied from a Fortnox order ("Integrationsreferens")."""
    from app.integrations.fortnox.importing import order_from_reference

    reference = (request.form.get("reference") or "").strip()[:20]
    raw_kind = request.form.get("kind", OrderKind.SERVICE.value)
    kind = OrderKind(raw_kind) if raw_kind in {k.value for k in OrderKind} else OrderKind.SERVICE
    try:
        imported = order_from_reference(reference, kind=kind, by=current_user)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        form = NewOrderForm(formdata=None, data={"kind": kind.value})
        form.assigned_user_id.choices = user_choices(empty="—")
        if current_user.is_staff:
            form.subgroup_id.choices = _subgroup_choices(_("Ingen"))
        else:
            del form.subgroup_id
        problems = exc.fields.get("reference") if exc.fields else None
        message = " ".join(problems) if problems else exc.message
        return _new_page(
            form, status=422, import_error=message, import_reference=reference, import_kind=kind
        )
    db.session.commit()
    order = imported.order
    flash(
        _(
            "Order %(number)s skapad från Fortnox-order %(reference)s.",
            number=order.display_number,
            reference=reference,
        ),
        "success",
    )
    if imported.unknown_articles:
        flash(
            _(
                "Artiklar som inte finns i Ordna togs inte med: %(numbers)s. Lägg upp dem och "
                "lägg till raderna.",
                numbers=", ".join(imported.unknown_articles),
            ),
            "error",
        )
    return redirect(url_for(".detail", order_id=order.id))


# --- the order page ---------------------------------------------------------------------------


def _order_form(order: Order) -> OrderForm:
    """The order page's form: bound to the request on POST, else filled from the order.
    The custom fields are those defined for the order's kind."""
    form_class = with_custom_fields(OrderForm, services.CUSTOM_FIELD_ENTITY[order.kind])
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(data=_initial(order, form_class.custom_class))  # type: ignore[attr-defined]
    if order.kind != OrderKind.SALES:
        del form.delivery_date
    if not current_user.is_staff:
        del form.subgroup_id
    _set_choices(form, order)
    return form


def _initial(order: Order, custom_class: type) -> dict[str, Any]:
    return {
        "customer_id": order.customer_id,
        "customer_query": customer_label(order.customer),
        "facility_id": order.facility_id,
        "contact_id": order.contact_id,
        "orderer": order.orderer,
        "assigned_user_id": order.assigned_user_id,
        "customer_order_number": order.customer_order_number,
        "description": order.description,
        "fault_cause": order.fault_cause,
        "delivery_date": order.delivery_date,
        "subgroup_id": order.subgroup_id,
        "custom_fields": custom_field_data(custom_class, order.custom_fields),
        "actions": [
            {
                "date": a.date,
                "technician_id": a.technician_id,
                "hours": a.hours,
                "description": a.description,
            }
            for a in order.actions
        ],
        "article_rows": [
            {
                "article_number": r.article.article_number,
                "description": r.description,
                "quantity": r.quantity,
                "unit": r.unit,
                "price": r.price,
                "date": r.date,
                "technician_id": r.technician_id,
                "service_object_id": r.service_object_id,
                "cost_center": r.cost_center or "",
                "original_technician_id": r.technician_id or "",
            }
            for r in order.article_rows
        ],
        "service_objects": [
            {"service_object_id": s.service_object_id, "operating_hours": s.operating_hours}
            for s in order.service_objects
        ],
        "version": order.version,
    }


def _follow_customer(form: NewOrderForm | OrderForm, customer: Customer | None) -> None:
    """Offer the customer's facilities and contacts only. One of another customer (the
    customer was changed without JavaScript, which refreshes the selects) is let go."""
    facilities = customer.facilities if customer is not None else []
    contacts = customer.contacts if customer is not None else []
    form.facility_id.choices = select_choices([("", "—"), *((f.id, f.name) for f in facilities)])
    form.contact_id.choices = select_choices([("", "—"), *((c.id, c.name) for c in contacts)])
    if form.facility_id.data not in {f.id for f in facilities}:
        form.facility_id.data = None
    if form.contact_id.data not in {c.id for c in contacts}:
        form.contact_id.data = None


def _set_choices(form: OrderForm, order: Order) -> None:
    # The customer picked in the form (it may have just been changed), else the order's.
    choice = getattr(form, "customer_choice", None) or form.choose_customer(
        keep_id=order.customer_id
    )
    customer = choice.customer or order.customer
    _follow_customer(form, customer)
    form.assigned_user_id.choices = user_choices(include_ids={order.assigned_user_id}, empty="—")
    if "subgroup_id" in form:
        form.subgroup_id.choices = _subgroup_choices(_("Ingen"))
    technician_ids = {a.technician_id for a in order.actions} | {
        r.technician_id for r in order.article_rows
    }
    technicians = user_choices(include_ids=technician_ids)
    machines = select_choices([("", "—"), *service_object_choices(customer)])
    for entry in form.actions:
        entry.form.technician_id.choices = technicians
    for entry in form.article_rows:
        entry.form.technician_id.choices = technicians
        entry.form.service_object_id.choices = machines
    for entry in form.service_objects:
        entry.form.service_object_id.choices = [_pick_machine(), *machines[1:]]
    form.row_choices = {"technicians": technicians, "machines": machines}  # type: ignore[attr-defined]


def _pick_machine() -> SelectChoice:
    return SelectChoice(value="", label=_("Välj serviceobjekt …"))


def _row_defaults() -> dict[str, Any]:
    """A new action or article row: today, done by the signed-in user."""
    return {"date": local_today(), "technician_id": current_user.id}


def _row_templates(form: OrderForm) -> dict[str, Any]:
    """Empty rows the browser clones when "add" is tapped (index placeholder `__i__`)."""
    choices = form.row_choices  # type: ignore[attr-defined]
    action = ActionForm(prefix="actions-__i__-", data=_row_defaults())
    action.technician_id.choices = choices["technicians"]
    row = ArticleRowForm(prefix="article_rows-__i__-", data=_row_defaults())
    row.technician_id.choices = choices["technicians"]
    row.service_object_id.choices = choices["machines"]
    reading = ReadingForm(prefix="service_objects-__i__-")
    reading.service_object_id.choices = [_pick_machine(), *choices["machines"][1:]]
    return {"actions": action, "article_rows": row, "service_objects": reading}


def _render(
    order: Order, form: OrderForm, status: int = 200, **context: Any
) -> ResponseReturnValue:
    numbers = [entry.form.article_number.data or "" for entry in form.article_rows]
    return (
        render_template(
            "orders/detail.html",
            order=order,
            form=form,
            templates=_row_templates(form),
            articles=articles_by_numbers(numbers),
            editable=order.status not in services.LOCKED_STATUSES,
            status_changes=services.allowed_status_changes(order),
            status_buttons=STATUS_BUTTONS,
            total=services.order_total(order),
            mail_writes_files=writes_files(),
            mail_file_path=current_app.config["MAIL_FILE_PATH"],
            **context,
        ),
        status,
    )


@bp.route("/orders/<int:order_id>", methods=["GET", "POST"])
@login_required
def detail(order_id: int) -> ResponseReturnValue:
    order = services.load_order(order_id) or abort(404)
    services.ensure_access(current_user, order)  # 403 for another subgroup's order
    form = _order_form(order)
    if request.method == "GET":
        return _render(order, form, protocol_notice=_protocol_notice(order))

    op = request.form.get("op", "save")
    if op.startswith("add:"):
        # Without JavaScript "add" comes here: one more empty row, nothing saved yet.
        rows = op.removeprefix("add:")
        if rows not in services.WORK_LISTS:
            abort(400)
        getattr(form, rows).append_entry(_row_defaults() if rows != "service_objects" else {})
        _set_choices(form, order)
        return _render(order, form)
    if order.status in services.LOCKED_STATUSES:
        if op == "send_protocol":
            return _send_protocol_of_locked(order, form)
        return _comment_on_locked(order, form, op)
    if not form.validate():
        return _render(order, form, 422, invalid=True)

    data = services.strip_unchanged_work(order, order_data(form))
    if _posted_version(form) != order.version:
        # The page is older than the order: someone else saved meanwhile (issue #17).
        form.version.data = str(order.version)  # saving again overwrites, knowingly
        changed = services.saved_differently(order, data)
        if changed:
            return _conflict(order, form, changed)
        # Nothing typed differs from what is saved now (say, only the Fortnox state moved):
        # saving overwrites no one's work, so it goes on.
    work_changed = any(name in data for name in services.WORK_LISTS)
    if order.is_signed and work_changed and op != "sign" and not form.confirm_unsign.data:
        # A signature never covers work it did not see: ask before clearing it.
        return _render(order, form, 422, confirm_unsign=True)
    recipient = None
    try:
        services.update_order(order, data, by=current_user)
        message = _("Ordern är sparad.")
        anchor = None
        if op == "sign":
            services.sign_order(
                order,
                by=current_user,
                customer_name=form.customer_name.data,
                signature=form.signature.data or None,  # nothing drawn: signed by name only
            )
            message, anchor = _("Ordern är signerad."), "signering"
        elif op == "send_protocol":
            # What was typed is saved first: the protocol shows the order as it is now.
            recipient = services.protocol_recipient(order, form.protocol_to.data)
        elif op.startswith("status:"):
            target = _status(op.removeprefix("status:"))
            services.change_status(order, target, by=current_user)
            message = _("Status: %(status)s.", status=target.label)
            anchor = "status"
        elif op == "comment":
            services.add_comment(order, form.comment.data, by=current_user)
            message, anchor = _("Kommentaren är sparad."), "kommentarer"
        db.session.commit()
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields, aliases={"text": "comment"})
        return _render(order, form, 422, invalid=True, leftovers=leftovers, message=exc.message)
    except StaleDataError:
        # Someone else's save was committed between reading the order and writing it.
        db.session.rollback()
        form.version.data = str(order.version)
        fresh = services.strip_unchanged_work(order, order_data(form))
        return _conflict(order, form, services.saved_differently(order, fresh))
    if recipient is not None:
        return _send_protocol(order, form, recipient)
    flash(message, "success")
    return redirect(url_for(".detail", order_id=order.id, _anchor=anchor))


def _posted_version(form: OrderForm) -> int | None:
    """The order version the page was made from (None: missing or not a number)."""
    raw = (form.version.data or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _conflict(order: Order, form: OrderForm, changed: list[str]) -> ResponseReturnValue:
    """The order page again (409) after a stale save: what this user typed stays in the
    form, which now carries the current version, and beside it "Sparat av någon annan": the
    saved value of every field that differs from what was typed."""
    return _render(order, form, 409, conflict=_saved_values(order, form, changed))


def _saved_values(order: Order, form: OrderForm, changed: list[str]) -> list[SavedValue]:
    """The fields in ``changed`` (``services.saved_differently``) as saved on ``order``."""

    def name_of(obj: Any) -> str | None:
        return obj.name if obj is not None else None

    header: dict[str, Any] = {
        "customer_id": lambda: customer_label(order.customer),
        "facility_id": lambda: name_of(order.facility),
        "contact_id": lambda: name_of(order.contact),
        "assigned_user_id": lambda: name_of(order.assigned_user),
        "subgroup_id": lambda: name_of(order.subgroup),
    }
    lists: dict[str, tuple[str, Any]] = {
        "actions": (
            _("Åtgärder"),
            lambda: [f"{shown(a.date)} · {a.hours} h · {a.description}" for a in order.actions],
        ),
        "article_rows": (
            _("Artikelrader"),
            lambda: [
                f"{r.article.article_number} {r.description or r.article.name} · "
                f"{shown(r.quantity)} {r.unit or ''} · {shown(r.price)}"
                for r in order.article_rows
            ],
        ),
        "service_objects": (
            _("Serviceobjekt och drifttid"),
            lambda: [
                f"{s.service_object.name} · {shown(s.operating_hours)} h"
                for s in order.service_objects
            ],
        ),
    }
    result = []
    for name in changed:
        if name.startswith("custom_fields."):
            label = name.removeprefix("custom_fields.")
            lines = [shown((order.custom_fields or {}).get(label))]
        elif name in lists:
            label, read = lists[name]
            lines = read() or [_("Inga rader")]
        else:
            field = "customer_query" if name == "customer_id" else name  # the one with a label
            label = str(form[field].label.text) if field in form else name
            lines = [shown(header[name]() if name in header else getattr(order, name))]
        result.append(SavedValue(name, label, lines))
    return result


def _send_protocol_of_locked(order: Order, form: OrderForm) -> ResponseReturnValue:
    """A sent, invoiced or cancelled order can't change, but its protocol can still be sent
    (its fields are disabled, so only the address comes with the form)."""
    try:
        recipient = services.protocol_recipient(order, form.protocol_to.data)
    except ValidationFailed as exc:
        apply_errors(form, exc.fields)
        return _render(order, _order_form_from(order, form), 422, invalid=True)
    return _send_protocol(order, form, recipient)


def _order_form_from(order: Order, posted: OrderForm) -> OrderForm:
    """The form filled from the order, keeping the address and its error from `posted`."""
    form_class = with_custom_fields(OrderForm, services.CUSTOM_FIELD_ENTITY[order.kind])
    form = form_class(
        formdata=None,
        data={
            **_initial(order, form_class.custom_class),  # type: ignore[attr-defined]
            "protocol_to": posted.protocol_to.data,
        },
    )
    form.protocol_to.errors = list(posted.protocol_to.errors)
    if order.kind != OrderKind.SALES:
        del form.delivery_date
    if not current_user.is_staff:
        del form.subgroup_id
    _set_choices(form, order)
    return form


def _send_protocol(order: Order, form: OrderForm, recipient: str) -> ResponseReturnValue:
    """E-mail the protocol (after the commit of what it shows) and log the attempt. A failure
    is logged and shown in Swedish with "Försök igen"; nothing else changes."""
    try:
        sent = send_protocol(order, recipient, by=current_user)
    except MailDeliveryError as exc:
        db.session.commit()  # the failed attempt, in the order's mail log
        if order.status in services.LOCKED_STATUSES:
            form = _order_form_from(order, form)
        failure = failure_for(exc, current_user)
        return _render(
            order,
            form,
            502,
            mail_error=failure.reason,
            mail_ask_admin=failure.ask_admin,
            mail_to=recipient,
        )
    db.session.commit()
    # The answer stands in the protocol section the browser comes back to (#protokoll), not
    # in the flash at the top of the page, out of sight on a phone. Shown once.
    session[PROTOCOL_NOTICE] = {
        "order_id": order.id,
        "to": recipient,
        # Written to a file, not sent (no mail server); where, only administrators see.
        "saved": sent.saved_to is not None,
        "path": str(sent.saved_to) if sent.saved_to is not None and current_user.is_admin else "",
    }
    return redirect(url_for(".detail", order_id=order.id, _anchor="protokoll"))


def _protocol_notice(order: Order) -> dict[str, Any] | None:
    """The result of this order's last "Skicka protokoll", once (see _send_protocol)."""
    notice = session.get(PROTOCOL_NOTICE)
    if not isinstance(notice, dict) or notice.get("order_id") != order.id:
        return None
    session.pop(PROTOCOL_NOTICE, None)
    return notice


@bp.route("/orders/<int:order_id>/protocol.pdf")
@login_required
def protocol_pdf(order_id: int) -> ResponseReturnValue:
    """The service protocol as it stands (what is saved), as a PDF download."""
    order = db.get_or_404(Order, order_id)
    services.ensure_access(current_user, order)
    return protocol_response(order)


@bp.route("/orders/<int:order_id>/signature.png")
@login_required
def signature_png(order_id: int) -> ResponseReturnValue:
    """The signature the customer drew (404 when the order has none)."""
    order = db.get_or_404(Order, order_id)
    services.ensure_access(current_user, order)
    if not order.is_signed or not order.signature_png:
        abort(404)
    response = send_file(BytesIO(order.signature_png), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _status(value: str) -> OrderStatus:
    try:
        return OrderStatus(value)
    except ValueError:
        abort(400)


def _comment_on_locked(order: Order, form: OrderForm, op: str) -> ResponseReturnValue:
    """A sent, invoiced or cancelled order takes comments only."""
    if op != "comment":
        raise Conflict(_("Ordern är %(status)s och kan inte ändras.", status=order.status.label))
    try:
        services.add_comment(order, form.comment.data or "", by=current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        apply_errors(form, exc.fields, aliases={"text": "comment"})
        return _render(order, form, 422, invalid=True)
    db.session.commit()
    flash(_("Kommentaren är sparad."), "success")
    return redirect(url_for(".detail", order_id=order.id, _anchor="kommentarer"))
