"""Orders: numbering, who may see and change them, their rows, comments, signing and status.

Services take explicit arguments (`by: User`) and plain data (`update_order`'s dict of
changes), change models and flush; the caller commits once. Nothing here leaves the process,
nor knows of a request, a form or who is signed in."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import Select, func, insert, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import flag_modified

from app import i18n
from app.articles.models import Article
from app.articles.services import articles_by_numbers, find_article_by_number
from app.auth.models import Role, Subgroup, User
from app.customers.models import (
    ContactPerson,
    Customer,
    Facility,
    ServiceObject,
    ServiceObjectReading,
)
from app.customers.services import get_related, refresh_operating_hours
from app.customfields.models import CustomFieldEntity
from app.customfields.services import clean_custom_fields
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.i18n import local_today
from app.orders.images import decode_signature
from app.orders.models import (
    Action,
    ArticleRow,
    Comment,
    Order,
    OrderKind,
    OrderNumberSequence,
    OrderServiceObject,
    OrderStatus,
    ProtocolMail,
    ProtocolMailStatus,
)

FIRST_ORDER_NUMBER = 1001

CUSTOM_FIELD_ENTITY = {
    OrderKind.SERVICE: CustomFieldEntity.SERVICE_ORDER,
    OrderKind.WORK: CustomFieldEntity.WORK_ORDER,
    OrderKind.SALES: CustomFieldEntity.SALES_ORDER,
}

# Status changes a person may make (domain: draft → in_progress → ready → sent → invoiced,
# or cancelled). `sent` and `invoiced` are set by the Fortnox integration only.
ALLOWED_TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    OrderStatus.DRAFT: {OrderStatus.IN_PROGRESS, OrderStatus.READY, OrderStatus.CANCELLED},
    OrderStatus.IN_PROGRESS: {OrderStatus.DRAFT, OrderStatus.READY, OrderStatus.CANCELLED},
    OrderStatus.READY: {OrderStatus.IN_PROGRESS, OrderStatus.CANCELLED},
    OrderStatus.SENT: set(),
    OrderStatus.INVOICED: set(),
    OrderStatus.CANCELLED: set(),
}
LOCKED_STATUSES = {OrderStatus.SENT, OrderStatus.INVOICED, OrderStatus.CANCELLED}

HEADER_FIELDS = ("orderer", "customer_order_number", "description", "fault_cause")


# Today in the organisation's time zone (app.i18n.local_today): the default date of a row.
today = local_today


# --- numbering ---------------------------------------------------------------------------


def next_order_number(kind: OrderKind) -> int:
    """Take the next number of `kind`'s sequence.

    One atomic UPDATE … RETURNING: on PostgreSQL the row lock serialises concurrent
    creators until their transactions end, so no number is handed out twice (a rolled-back
    transaction gives its number back). The sequence row is created on first use."""
    stmt = (
        update(OrderNumberSequence)
        .where(OrderNumberSequence.kind == kind)
        .values(next_number=OrderNumberSequence.next_number + 1)
        .returning(OrderNumberSequence.next_number)
    )
    taken = db.session.execute(stmt).scalar_one_or_none()
    if taken is not None:
        return taken - 1
    try:
        with db.session.begin_nested():
            db.session.execute(
                insert(OrderNumberSequence).values(kind=kind, next_number=FIRST_ORDER_NUMBER + 1)
            )
        return FIRST_ORDER_NUMBER
    except IntegrityError:  # another creator inserted the row first: take the next one
        return db.session.execute(stmt).scalar_one() - 1


# --- visibility and permissions ---------------------------------------------------------


def visible_orders(user: User) -> Select[Order]:
    """Admin and office see every order; a technician sees the orders of their subgroup."""
    query = select(Order)
    if not user.is_staff:
        if user.subgroup_id is None:
            query = query.where(Order.subgroup_id.is_(None))
        else:
            query = query.where(Order.subgroup_id == user.subgroup_id)
    return query


def can_access(user: User, order: Order) -> bool:
    return user.is_staff or order.subgroup_id == user.subgroup_id


def ensure_access(user: User, order: Order) -> None:
    if not can_access(user, order):
        raise PermissionDenied(_("Ordern tillhör en annan undergrupp."))


def ensure_editable(order: Order) -> None:
    if order.status in LOCKED_STATUSES:
        raise Conflict(
            _("Ordern är %(status)s och kan inte ändras.", status=order.status.label),
            code="order_locked",
        )


# --- create and update --------------------------------------------------------------------


def create_order(data: dict[str, Any], *, by: User) -> Order:
    """Create an order from validated data (the API schema's fields).

    The subgroup defaults to the creator's; a technician can only create orders in their own
    subgroup. The order starts as a draft and moves on to `data["status"]` when one is given
    (the rules of `change_status`). Raises ValidationFailed (422) for foreign ids of the wrong
    kind or that don't belong to the customer, PermissionDenied (403) for another subgroup,
    Conflict (409) for a status a draft cannot move to."""
    kind = OrderKind(data["kind"])
    status = data.get("status")
    subgroup_id = data.get("subgroup_id", by.subgroup_id)
    if subgroup_id is not None:
        get_related(Subgroup, subgroup_id, "subgroup_id")
    if not by.is_staff and subgroup_id != by.subgroup_id:
        raise PermissionDenied(_("Du kan bara skapa ordrar i din egen undergrupp."))
    customer = get_related(Customer, data.get("customer_id"), "customer_id")
    if customer is None:
        raise ValidationFailed.field("customer_id", _("Välj en kund."))
    order = Order(
        kind=kind,
        number=next_order_number(kind),
        customer=customer,
        subgroup_id=subgroup_id,
        created_by=by,
        custom_fields={},
        status=OrderStatus.DRAFT,
    )
    db.session.add(order)
    _apply(order, data, by=by, creating=True)
    if status is not None and OrderStatus(status) != OrderStatus.DRAFT:
        change_status(order, OrderStatus(status), by=by)
    db.session.flush()
    return order


def update_order(order: Order, data: dict[str, Any], *, by: User) -> Order:
    """Change an order. Lists given (`actions`, `article_rows`, `service_objects`) replace the
    order's lists; changing them on a signed order clears the signature, so a signature never
    covers work it did not see. Raises Conflict when the order is sent, invoiced or cancelled."""
    ensure_access(by, order)
    status = data.get("status")
    changes = {k: v for k, v in data.items() if k != "status"}
    if changes:
        ensure_editable(order)
        if "subgroup_id" in changes and changes["subgroup_id"] != order.subgroup_id:
            if not by.is_staff:
                raise PermissionDenied(_("Du kan inte flytta ordern till en annan undergrupp."))
            get_related(Subgroup, changes["subgroup_id"], "subgroup_id")
            order.subgroup_id = changes["subgroup_id"]
        if "customer_id" in changes and changes["customer_id"] != order.customer_id:
            customer = get_related(Customer, changes["customer_id"], "customer_id")
            if customer is None:
                raise ValidationFailed.field("customer_id", _("Välj en kund."))
            order.customer = customer
        _apply(order, changes, by=by, creating=False)
    if status is not None and OrderStatus(status) != order.status:
        change_status(order, OrderStatus(status), by=by)
    db.session.flush()
    return order


def _apply(order: Order, data: dict[str, Any], *, by: User, creating: bool) -> None:
    customer = order.customer
    for field in HEADER_FIELDS:
        if field in data:
            setattr(order, field, data[field])
    if "facility_id" in data or not creating:
        facility_id = data.get("facility_id", order.facility_id)
        facility = get_related(Facility, facility_id, "facility_id")
        if facility is not None and facility.customer_id != customer.id:
            raise ValidationFailed.field("facility_id", _("Anläggningen hör inte till kunden."))
        order.facility = facility
    if "contact_id" in data or not creating:
        contact_id = data.get("contact_id", order.contact_id)
        contact = get_related(ContactPerson, contact_id, "contact_id")
        if contact is not None and contact.customer_id != customer.id:
            raise ValidationFailed.field("contact_id", _("Kontaktpersonen hör inte till kunden."))
        order.contact = contact
    if "assigned_user_id" in data:
        order.assigned_user = get_related(User, data["assigned_user_id"], "assigned_user_id")
    if "delivery_date" in data:
        if data["delivery_date"] is not None and order.kind != OrderKind.SALES:
            raise ValidationFailed.field(
                "delivery_date", _("Leveransdatum gäller bara försäljningsordrar.")
            )
        order.delivery_date = data["delivery_date"]
    if "custom_fields" in data:
        order.custom_fields = clean_custom_fields(
            CUSTOM_FIELD_ENTITY[order.kind], data["custom_fields"]
        )
    work_changed = False
    if "actions" in data:
        order.actions = [
            _build_action(item, by=by, field=f"actions.{i}", position=i)
            for i, item in enumerate(data["actions"] or [])
        ]
        work_changed = True
    if "article_rows" in data:
        items = data["article_rows"] or []
        # Every row's article in one query, not one a row (issue #18).
        articles = articles_by_numbers([item.get("article_number") or "" for item in items])
        order.article_rows = [
            _build_article_row(
                order, item, by=by, field=f"article_rows.{i}", position=i, articles=articles
            )
            for i, item in enumerate(items)
        ]
        work_changed = True
    if "service_objects" in data:
        _set_service_objects(order, data["service_objects"] or [])
        _sync_readings(order)
        work_changed = True
    if work_changed and not creating:
        clear_signature(order)
        touch(order)


def touch(order: Order) -> None:
    """Mark the order itself as changed when only its rows (actions, article rows, service
    objects) changed: the UPDATE of its row bumps its version (optimistic locking, issue #17),
    so a stale page or If-Match cannot overwrite rows saved meanwhile, and checks the version
    it was read at (StaleDataError when someone else saved first). Flagged as well as set:
    an equal time (a frozen clock) would otherwise be no change and no UPDATE."""
    order.updated_at = datetime.now(UTC)
    flag_modified(order, "updated_at")


def _technician(technician_id: int | None, default: User, field: str) -> User:
    if technician_id is None:
        return default
    return get_related(User, technician_id, field)


def _build_action(item: dict[str, Any], *, by: User, field: str, position: int) -> Action:
    return Action(
        position=position,
        date=item.get("date") or today(),
        description=item["description"],
        technician=_technician(item.get("technician_id"), by, f"{field}.technician_id"),
        hours=item.get("hours") if item.get("hours") is not None else Decimal("0"),
    )


def _service_object_of_customer(order: Order, service_object_id: int, field: str) -> ServiceObject:
    service_object = get_related(ServiceObject, service_object_id, field)
    if service_object.facility.customer_id != order.customer.id:
        raise ValidationFailed.field(
            field, _("Serviceobjektet hör inte till kundens anläggningar.")
        )
    return service_object


def _build_article_row(
    order: Order,
    item: dict[str, Any],
    *,
    by: User,
    field: str,
    position: int,
    articles: dict[str, Article] | None = None,
) -> ArticleRow:
    """An article row; price and unit default from the article, cost center from the
    technician (domain-and-api.md, orders). `articles` ({lower-case number: article}, from
    `articles_by_numbers`) spares a query per row."""
    number = item.get("article_number") or ""
    article: Article | None = (
        find_article_by_number(number) if articles is None else articles.get(number.strip().lower())
    )
    if article is None:
        raise ValidationFailed.field(f"{field}.article_number", _("Artikeln finns inte."))
    if not article.active:
        raise ValidationFailed.field(f"{field}.article_number", _("Artikeln är inaktiv."))
    technician = _technician(item.get("technician_id"), by, f"{field}.technician_id")
    service_object = None
    if item.get("service_object_id") is not None:
        service_object = _service_object_of_customer(
            order, item["service_object_id"], f"{field}.service_object_id"
        )
    price = item.get("price")
    return ArticleRow(
        position=position,
        article=article,
        description=item.get("description") or None,
        quantity=item["quantity"],
        unit=item.get("unit") or article.unit,
        price=price if price is not None else article.price,
        date=item.get("date") or today(),
        technician=technician,
        service_object=service_object,
        cost_center=item["cost_center"] if "cost_center" in item else technician.cost_center,
    )


def _set_service_objects(order: Order, items: list[dict[str, Any]]) -> None:
    existing = {link.service_object_id: link for link in order.service_objects}
    links = []
    seen: set[int] = set()
    for i, item in enumerate(items):
        field = f"service_objects.{i}.service_object_id"
        service_object = _service_object_of_customer(order, item["service_object_id"], field)
        if service_object.id in seen:
            raise ValidationFailed.field(field, _("Serviceobjektet finns redan på ordern."))
        seen.add(service_object.id)
        link = existing.get(service_object.id) or OrderServiceObject(service_object=service_object)
        link.operating_hours = item.get("operating_hours")
        links.append(link)
    order.service_objects = links


def _sync_readings(order: Order) -> None:
    """The order's operating-hours readings reach the service objects: a reading new on the
    order is noted now, a changed one is corrected (keeping when it was noted), a removed one
    is deleted; then each object touched takes its latest reading (by when noted), so an
    older order saved again never overwrites a newer reading."""
    noted: dict[int, ServiceObjectReading] = {}
    if order.id is not None:
        noted = {
            reading.service_object_id: reading
            for reading in db.session.scalars(
                select(ServiceObjectReading).where(ServiceObjectReading.order_id == order.id)
            )
        }
    touched: dict[int, ServiceObject] = {}
    for link in order.service_objects:
        service_object = link.service_object
        reading = noted.pop(service_object.id, None)
        hours = link.operating_hours
        if hours is None:
            if reading is not None:
                service_object.readings.remove(reading)
                touched[service_object.id] = service_object
        elif reading is None:
            service_object.readings.append(
                ServiceObjectReading(order=order, operating_hours=hours, read_at=i18n.utcnow())
            )
            touched[service_object.id] = service_object
        elif reading.operating_hours != hours:
            reading.operating_hours = hours
            touched[service_object.id] = service_object
    for reading in noted.values():  # the object is no longer on the order
        service_object = reading.service_object
        service_object.readings.remove(reading)
        touched[service_object.id] = service_object
    for service_object in touched.values():
        refresh_operating_hours(service_object)


def add_action(order: Order, item: dict[str, Any], *, by: User) -> Action:
    ensure_access(by, order)
    ensure_editable(order)
    action = _build_action(item, by=by, field="action", position=len(order.actions))
    order.actions.append(action)
    clear_signature(order)
    touch(order)
    db.session.flush()
    return action


def add_article_row(order: Order, item: dict[str, Any], *, by: User) -> ArticleRow:
    ensure_access(by, order)
    ensure_editable(order)
    row = _build_article_row(order, item, by=by, field="row", position=len(order.article_rows))
    order.article_rows.append(row)
    clear_signature(order)
    touch(order)
    db.session.flush()
    return row


# --- comments, signing, status ---------------------------------------------------------------


def add_comment(
    order: Order, text: str, *, by: User, changes: dict[str, Any] | None = None
) -> Comment:
    """Add `by`'s comment to the order; a locked order takes comments too. `changes`
    (`update_order`'s data) are saved with it.

    Raises ValidationFailed naming `text` when it is empty, and what `update_order` raises."""
    ensure_access(by, order)
    if changes:
        update_order(order, changes, by=by)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.field("text", _("Skriv en kommentar."))
    comment = Comment(order=order, author=by, text=text)
    db.session.add(comment)
    db.session.flush()
    return comment


def sign_order(
    order: Order,
    *,
    by: User,
    customer_name: str,
    signer: User | None = None,
    signature: bytes | str | None = None,
    changes: dict[str, Any] | None = None,
) -> Order:
    """Sign the order off: the signer (by default the caller; admin and office may sign for a
    technician), the time, the customer's name in print, and the signature the customer drew
    (`signature`: PNG bytes or a `data:image/png;base64,…` URL; None: no drawing, which also
    removes an earlier one). `changes` (`update_order`'s data: the order as the customer was
    shown it) are saved first, so the signature covers them.

    Raises PermissionDenied (403) for another subgroup's order or for signing in someone
    else's name as a technician, Conflict (409) for a locked order, what `update_order` raises
    for `changes`, and ValidationFailed (422) naming `customer_name` and/or `signature` (see
    `images.decode_signature`); the caller rolls back then."""
    ensure_access(by, order)
    ensure_editable(order)
    if changes:
        update_order(order, changes, by=by)
    customer_name = (customer_name or "").strip()
    problems: dict[str, list[str]] = {}
    if not customer_name:
        problems["customer_name"] = [_("Skriv kundens namn.")]
    png = None
    if signature is not None:
        try:
            png = decode_signature(signature)
        except ValidationFailed as exc:
            problems.update(exc.fields)
    if problems:
        raise ValidationFailed(_("Uppgifterna är inte giltiga."), problems)
    if signer is not None and signer.id != by.id and not by.is_staff:
        raise PermissionDenied(_("Du kan bara signera i ditt eget namn."))
    order.signed_by = signer or by
    order.signed_at = datetime.now(UTC)
    order.signed_customer_name = customer_name
    order.signature_png = png
    db.session.flush()
    return order


def clear_signature(order: Order) -> None:
    """Remove the signature, the drawing included: the work it covered has changed."""
    order.signed_by = None
    order.signed_by_id = None
    order.signed_at = None
    order.signed_customer_name = None
    order.signature_png = None


# --- the service protocol's e-mail ------------------------------------------------------------


def protocol_recipient(order: Order, typed: str | None) -> str:
    """Where the protocol goes: the address typed, else the contact person's e-mail.

    Raises ValidationFailed naming `protocol_to` for an invalid address, or when nothing is
    typed and the order has no contact person with an e-mail address."""
    address = (typed or "").strip()
    if not address:
        address = (order.contact.email or "").strip() if order.contact else ""
        if not address:
            raise ValidationFailed.field(
                "protocol_to",
                _("Skriv en e-postadress: ordern har ingen kontaktperson med e-post."),
            )
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValidationFailed.field("protocol_to", _("Ange en giltig e-postadress.")) from None


def prepare_protocol_mail(
    order: Order, typed: str | None, *, by: User, changes: dict[str, Any] | None = None
) -> str:
    """Ready the order for "Skicka protokoll": save `changes` (`update_order`'s data), so the
    protocol shows the order as the sender sees it, and return where it goes
    (`protocol_recipient`). A locked order's protocol can still be sent, without changes.

    The caller commits, then sends (`orders.mail.send_protocol` leaves the process). Raises
    what `update_order` and `protocol_recipient` raise."""
    ensure_access(by, order)
    if changes:
        update_order(order, changes, by=by)
    return protocol_recipient(order, typed)


def log_protocol_mail(
    order: Order, recipient: str, *, by: User, error: str | None = None
) -> ProtocolMail:
    """Record one attempt to e-mail the protocol: sent, or failed with `error` (Swedish)."""
    log = ProtocolMail(
        order=order,
        recipient=recipient,
        sent_by=by,
        status=ProtocolMailStatus.FAILED if error else ProtocolMailStatus.SENT,
        error=error,
    )
    db.session.add(log)
    db.session.flush()
    return log


def change_status(order: Order, status: OrderStatus, *, by: User) -> Order:
    """Move the order to `status` if the rules allow it (Conflict otherwise)."""
    ensure_access(by, order)
    if status not in ALLOWED_TRANSITIONS[order.status]:
        raise Conflict(
            _(
                "Ordern kan inte gå från %(old)s till %(new)s.",
                old=order.status.label,
                new=status.label,
            ),
            {"status": [_("Otillåten statusändring.")]},
            code="invalid_status_change",
        )
    order.status = status
    db.session.flush()
    return order


def order_total(order: Order) -> Decimal:
    return sum((row.quantity * row.price for row in order.article_rows), Decimal("0"))


def technicians() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.role == Role.TECHNICIAN)
            .order_by(User.name)
        )
    )


# --- loading and searching --------------------------------------------------------------------

# Loader options: what a page or API answer reads of each order, loaded in a fixed number of
# queries whatever the number of orders or rows shown (issue #18).
# A list loads its rows' customers, facilities and users by IN (…) after the page's query: a
# join there would be made for every row a late page skips (OFFSET 12 475 on page 500).
LIST_OPTIONS = (
    selectinload(Order.customer),
    selectinload(Order.facility),
    selectinload(Order.assigned_user),
)
# Each order's rows and what they show (by IN (…) of the orders' ids: never per order).
ROW_OPTIONS = (
    selectinload(Order.actions).joinedload(Action.technician),
    selectinload(Order.article_rows).options(
        joinedload(ArticleRow.article),
        joinedload(ArticleRow.technician),
        joinedload(ArticleRow.service_object),
    ),
    selectinload(Order.service_objects).joinedload(OrderServiceObject.service_object),
    selectinload(Order.comments).joinedload(Comment.author),
)
DETAIL_OPTIONS = (
    joinedload(Order.customer),
    joinedload(Order.facility),
    joinedload(Order.assigned_user),
    joinedload(Order.contact),
    joinedload(Order.signed_by),
    joinedload(Order.subgroup),
    *ROW_OPTIONS,
)
# The order page (app/orders/routes.py): DETAIL_OPTIONS, what its selects offer (the
# customer's contacts, and its facilities with their service objects: by IN (…), not one
# query per facility) and the protocol mails it lists with who sent them.
PAGE_OPTIONS = (
    *DETAIL_OPTIONS,
    joinedload(Order.customer).selectinload(Customer.contacts),
    joinedload(Order.customer)
    .selectinload(Customer.facilities)
    .selectinload(Facility.service_objects),
    selectinload(Order.protocol_mails).joinedload(ProtocolMail.sent_by),
)
# What the API's order answer (app/api/orders.py OrderSchema) reads and nothing more: it shows
# the references as ids, so only the signer's name, the rows' articles, the service objects'
# names and the comments' authors are loaded. Each joined or selected object the answer never
# reads costs building it (issue #18: most of an API list's time was loading a customer,
# facility, users and service objects per order that the answer does not show). By IN (…)
# after the page's query, never a join a deep page would make for every row it skips.
API_OPTIONS = (
    selectinload(Order.signed_by),
    selectinload(Order.actions),
    selectinload(Order.article_rows).joinedload(ArticleRow.article),
    selectinload(Order.service_objects).joinedload(OrderServiceObject.service_object),
    selectinload(Order.comments).joinedload(Comment.author),
)


def load_order(order_id: int, options: tuple[Any, ...] = DETAIL_OPTIONS) -> Order | None:
    """One order with everything its page and its API answer show (``options``: less, for
    an answer that shows less, e.g. API_OPTIONS), in a fixed number of queries."""
    return db.session.get(Order, order_id, options=options)


def search_orders(user: User, filters: dict[str, Any]) -> Select[Order]:
    """The orders `user` may see, narrowed by `filters` (all optional): `q` (a number such as
    "1001" or "AO 1001", else text in the customer's name, the customer's order number, the
    orderer or the description), `kind`, `status`, `customer_id`, `assigned_user_id`,
    `subgroup_id`, `fortnox_state`. Newest first."""
    query = visible_orders(user)
    for key in ("kind", "status", "customer_id", "assigned_user_id", "subgroup_id"):
        if filters.get(key) not in (None, ""):
            query = query.where(getattr(Order, key) == filters[key])
    if filters.get("fortnox_state") not in (None, ""):
        query = query.where(Order.fortnox_state == filters["fortnox_state"])
    if filters.get("statuses"):
        query = query.where(Order.status.in_(filters["statuses"]))
    term = (filters.get("q") or "").strip()
    if term:
        query = query.where(_search_clause(term))
    return query.order_by(Order.id.desc())


def _search_clause(term: str) -> Any:
    prefixes = {kind.prefix: kind for kind in OrderKind}
    head, _sep, tail = term.upper().partition(" ")
    if head in prefixes and tail.strip().isdigit():
        return (Order.kind == prefixes[head]) & (Order.number == int(tail.strip()))
    like = f"%{term.lower()}%"
    customer_ids = select(Customer.id).where(
        or_(
            func.lower(Customer.name).like(like),
            func.lower(Customer.customer_number) == term.lower(),
        )
    )
    # One SELECT per way to match, united: each runs on its own index (issue #18: trigram
    # indexes on lower(…) for the LIKEs, ix_orders_customer_id, ix_orders_number), where an
    # OR over them, with the customers' IN (…) among them, scans every order.
    matches = [
        select(Order.id).where(Order.customer_id.in_(customer_ids)),
        select(Order.id).where(func.lower(Order.customer_order_number).like(like)),
        select(Order.id).where(func.lower(Order.orderer).like(like)),
        select(Order.id).where(func.lower(Order.description).like(like)),
    ]
    if term.isdigit() and len(term) < 10:
        matches.append(select(Order.id).where(Order.number == int(term)))
    return Order.id.in_(union(*matches))


def allowed_status_changes(order: Order) -> list[OrderStatus]:
    """The statuses a person may move `order` to now, in the flow's order."""
    allowed = ALLOWED_TRANSITIONS[order.status]
    return [status for status in OrderStatus if status in allowed]
