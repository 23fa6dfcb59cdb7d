"""Order pages: the list with filters, "Mina ordrar", a new order, and the order page where
the work is written down, signed off and moved on.

The order page is one form. Every button (save, sign, a status change, a comment, sending the
protocol) submits all of it, each to its own endpoint, so nothing typed anywhere on the page
is lost; rows are added in the browser (static/app.js) and saved together. The service
protocol is downloaded as a PDF and e-mailed from the same page."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
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
from app.locking import SavedValue, is_stale, shown
from app.mail import MailDeliveryError, writes_files
from app.orders import formdata, services
from app.orders.forms import (
    FORTNOX_LABELS,
    STATUS_BUTTONS,
    ActionForm,
    ArticleRowForm,
    NewOrderForm,
    OrderFilterForm,
    OrderForm,
    ReadingForm,
    SharedChoices,
)
from app.orders.mail import failure_for, send_protocol
from app.orders.models import FortnoxState, Order, OrderKind, OrderStatus
from app.orders.protocol import protocol_response
from app.web import apply_errors, local_today, paginate, user_choices, users_to_choose

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
#
# GET shows the page; each button posts the whole form to its own endpoint (`formaction`), so
# what was typed anywhere on the page comes along: "Spara" to the page's own URL, the others
# to /sign, /status, /protocol, /comments and (without JavaScript) /rows. Each saves what is
# typed together with its action in one service call, or answers with the page again,
# everything typed kept.


def _order(order_id: int) -> Order:
    """The order with all its page shows; 404, or 403 for another subgroup's order."""
    order = services.load_order(order_id, services.PAGE_OPTIONS) or abort(404)
    services.ensure_access(current_user, order)
    return order


def _order_form(order: Order) -> OrderForm:
    """The order page's form, with the custom fields of the order's kind.

    After a POST it holds what was posted. A locked order's fields are disabled in the
    browser, which posts only the protocol's address and the comment: its form is filled from
    the order, with those two as posted. On a GET it is filled from the order."""
    form_class = with_custom_fields(OrderForm, services.CUSTOM_FIELD_ENTITY[order.kind])
    if request.method == "POST" and order.status not in services.LOCKED_STATUSES:
        form = form_class()
    else:
        data = _initial(order, form_class.custom_class)  # type: ignore[attr-defined]
        if request.method == "POST":
            data |= {name: request.form.get(name, "") for name in ("protocol_to", "comment")}
        form = form_class(formdata=None, data=data)
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
    technician_ids = {a.technician_id for a in order.actions} | {
        r.technician_id for r in order.article_rows
    }
    users = users_to_choose({order.assigned_user_id, *technician_ids})  # one query for both
    form.assigned_user_id.choices = user_choices(
        include_ids={order.assigned_user_id}, empty="—", users=users
    )
    if "subgroup_id" in form:
        form.subgroup_id.choices = _subgroup_choices(_("Ingen"))
    # The same options on every row: rendered once for all of them (SharedChoices).
    technicians = SharedChoices(user_choices(include_ids=technician_ids, users=users))
    machines = SharedChoices(select_choices([("", "—"), *service_object_choices(customer)]))
    for entry in form.actions:
        entry.form.technician_id.choices = technicians
    for entry in form.article_rows:
        entry.form.technician_id.choices = technicians
        entry.form.service_object_id.choices = machines
    readings = SharedChoices([_pick_machine(), *machines[1:]])
    for entry in form.service_objects:
        entry.form.service_object_id.choices = readings
    form.row_choices = {  # type: ignore[attr-defined]
        "technicians": technicians,
        "machines": machines,
        "readings": readings,
    }


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
    reading.service_object_id.choices = choices["readings"]
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


def _typed(order: Order, *, signing: bool = False) -> tuple[OrderForm, dict[str, Any]]:
    """The posted page and the changes it makes to `order` (`formdata.changes`), for a button
    that saves what is typed along with its own action.

    Stops the request (`abort` with the page again, everything typed kept) when the form is
    invalid (422); when the page is older than the order and differs from what was saved
    meanwhile (409, the conflict page; issue #17); or when the changed work would clear the
    signature and the user has not said yes to that (422; `signing` again needs no yes: the
    new signature covers the new work). A locked order is a Conflict (409)."""
    services.ensure_editable(order)
    form = _order_form(order)
    if not form.validate():
        abort(make_response(_render(order, form, 422, invalid=True)))
    changes = formdata.changes(order, form)
    if is_stale(form.version.data, order.version):
        # The page is older than the order: someone else saved meanwhile (issue #17).
        form.version.data = str(order.version)  # saving again overwrites, knowingly
        changed = formdata.saved_differently(order, changes)
        if changed:
            abort(make_response(_conflict(order, form, changed)))
        # Nothing typed differs from what is saved now (say, only the Fortnox state moved):
        # saving overwrites no one's work, so it goes on.
    work_changed = any(name in changes for name in formdata.WORK_LISTS)
    if order.is_signed and work_changed and not signing and not form.confirm_unsign.data:
        # A signature never covers work it did not see: ask before clearing it.
        abort(make_response(_render(order, form, 422, confirm_unsign=True)))
    return form, changes


def _typed_if_editable(order: Order) -> tuple[OrderForm, dict[str, Any]]:
    """`_typed`, but a locked order (its fields disabled) comes with no changes."""
    if order.status in services.LOCKED_STATUSES:
        return _order_form(order), {}
    return _typed(order)


# What a service refuses with; the page answers it, everything typed kept (`_refused`).
REFUSALS = (ValidationFailed, Conflict, StaleDataError)


def _refused(
    order: Order, form: OrderForm, exc: ValidationFailed | Conflict | StaleDataError
) -> ResponseReturnValue:
    """The page again after a service refused (rolled back first): its messages beside the
    fields they name (422), or the conflict page (409) when someone else's save was committed
    between reading the order and writing it."""
    db.session.rollback()
    if isinstance(exc, StaleDataError):
        form.version.data = str(order.version)
        changed = formdata.saved_differently(order, formdata.changes(order, form))
        return _conflict(order, form, changed)
    leftovers = apply_errors(form, exc.fields, aliases={"text": "comment"})
    return _render(order, form, 422, invalid=True, leftovers=leftovers, message=exc.message)


def _done(order: Order, message: str, anchor: str | None = None) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for(".detail", order_id=order.id, _anchor=anchor))


@bp.get("/orders/<int:order_id>")
@login_required
def detail(order_id: int) -> ResponseReturnValue:
    order = _order(order_id)
    return _render(order, _order_form(order), protocol_notice=_protocol_notice(order))


@bp.post("/orders/<int:order_id>")
@login_required
def save(order_id: int) -> ResponseReturnValue:
    """The "Spara" button (and Enter in a field): the order takes what the page shows."""
    order = _order(order_id)
    form, changes = _typed(order)
    try:
        services.update_order(order, changes, by=current_user)
        db.session.commit()
    except REFUSALS as exc:
        return _refused(order, form, exc)
    return _done(order, _("Ordern är sparad."))


@bp.post("/orders/<int:order_id>/sign")
@login_required
def sign(order_id: int) -> ResponseReturnValue:
    """The signing panel's "Signera": the customer signs the order as the page shows it,
    saved with the signature."""
    order = _order(order_id)
    form, changes = _typed(order, signing=True)
    try:
        services.sign_order(
            order,
            changes=changes,
            by=current_user,
            customer_name=form.customer_name.data,
            signature=form.signature.data or None,  # nothing drawn: signed by name only
        )
        db.session.commit()
    except REFUSALS as exc:
        return _refused(order, form, exc)
    return _done(order, _("Ordern är signerad."), "signering")


@bp.post("/orders/<int:order_id>/status")
@login_required
def change_status(order_id: int) -> ResponseReturnValue:
    """A status button ("Klar för fakturering", …, its value in `status`): what is typed is
    saved with the move."""
    order = _order(order_id)
    target = _status(request.form.get("status", ""))
    form, changes = _typed(order)
    try:
        services.update_order(order, {**changes, "status": target}, by=current_user)
        db.session.commit()
    except REFUSALS as exc:
        return _refused(order, form, exc)
    return _done(order, _("Status: %(status)s.", status=target.label), "status")


@bp.post("/orders/<int:order_id>/comments")
@login_required
def comment(order_id: int) -> ResponseReturnValue:
    """The "Lägg till kommentar" button: what is typed is saved with the comment. A locked
    order takes the comment alone."""
    order = _order(order_id)
    form, changes = _typed_if_editable(order)
    try:
        services.add_comment(order, form.comment.data or "", changes=changes, by=current_user)
        db.session.commit()
    except REFUSALS as exc:
        return _refused(order, form, exc)
    return _done(order, _("Kommentaren är sparad."), "kommentarer")


@bp.post("/orders/<int:order_id>/protocol")
@login_required
def email_protocol(order_id: int) -> ResponseReturnValue:
    """The "Skicka protokoll" button (and its "Försök igen"): what is typed is saved first,
    so the protocol shows the order as it is now; then it is e-mailed. A sent, invoiced or
    cancelled order can't change, but its protocol can still be sent."""
    order = _order(order_id)
    form, changes = _typed_if_editable(order)
    try:
        recipient = services.prepare_protocol_mail(
            order, form.protocol_to.data, changes=changes, by=current_user
        )
        db.session.commit()
    except REFUSALS as exc:
        return _refused(order, form, exc)
    return _mail_protocol(order, form, recipient)


@bp.post("/orders/<int:order_id>/rows")
@login_required
def add_row(order_id: int) -> ResponseReturnValue:
    """Without JavaScript "Lägg till åtgärd" and the like post here (the list in `add`): the
    page again with one more empty row, nothing saved yet. (With JavaScript the browser adds
    the row itself.)"""
    order = _order(order_id)
    rows = request.form.get("add", "")
    if rows not in formdata.WORK_LISTS:
        abort(400)
    services.ensure_editable(order)
    form = _order_form(order)
    getattr(form, rows).append_entry(_row_defaults() if rows != "service_objects" else {})
    _set_choices(form, order)
    return _render(order, form)


def _conflict(order: Order, form: OrderForm, changed: list[str]) -> ResponseReturnValue:
    """The order page again (409) after a stale save: what this user typed stays in the
    form, which now carries the current version, and beside it "Sparat av någon annan": the
    saved value of every field that differs from what was typed."""
    return _render(order, form, 409, conflict=_saved_values(order, form, changed))


def _saved_values(order: Order, form: OrderForm, changed: list[str]) -> list[SavedValue]:
    """The fields in ``changed`` (``formdata.saved_differently``) as saved on ``order``."""

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


def _mail_protocol(order: Order, form: OrderForm, recipient: str) -> ResponseReturnValue:
    """E-mail the protocol (after the commit of what it shows) and log the attempt. A failure
    is logged and shown in Swedish with "Försök igen"; nothing else changes."""
    try:
        sent = send_protocol(order, recipient, by=current_user)
    except MailDeliveryError as exc:
        db.session.commit()  # the failed attempt, in the order's mail log
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
    """The result of this order's last "Skicka protokoll", once (see _mail_protocol)."""
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
