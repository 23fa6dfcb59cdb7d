"""Sending an order to Fortnox, exactly once (fortnox-settings.md §2 and §7;
integration-health.md "Per order").

The outbox row (:class:`FortnoxSend`) owns a send's progress; the order's Fortnox link
(``Order.fortnox_*``) and its status are changed only here, in the same transaction as the row.

* :func:`request_send` checks that the order may be sent and records a pending send (the
  caller commits, then calls :func:`enqueue_send`). At most one send of an order is open at a
  time (a partial unique index); asking again while one is open returns that one.
* :func:`run_send` (the job) takes the send with a lease, so two workers never work on one
  send and a send whose worker died is taken again once its lease has run out. It goes step by
  step, committing after each one (:class:`SendStep`), so a retry resumes after the last step
  that was done and never repeats one.
* Before anything is created the document is looked up by the order's send reference
  (``ExternalInvoiceReference1``, exact comparison: Fortnox's search matches substrings), and
  adopted if it exists; after an uncertain create (a timeout or a dropped connection) the
  same look-up decides — a document is never created blindly twice.
* A failure Fortnox or the mapping reports (refused data, a missing customer tag…) ends the
  send as failed with the reason in Swedish; the order is otherwise left exactly as it was.
  Transient failures (rate limit, 5xx, no connection, an uncertain answer) put the send back
  in the queue with a back-off, up to :data:`.outbox.MAX_ATTEMPTS`. The lease, the claim
  token, the retries and the sweeper are :class:`.outbox.Outbox`'s, shared with the register
  pushes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.errors import Conflict, PermissionDenied
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.attachments import attach_protocol
from app.integrations.fortnox.errors import (
    FortnoxConnectionError,
    FortnoxError,
    FortnoxNotFound,
    FortnoxRateLimited,
    FortnoxServerError,
    FortnoxUncertainError,
)
from app.integrations.fortnox.mapping import (
    MappingResult,
    format_decimal,
    map_order,
    time_report,
)
from app.integrations.fortnox.outbox import Failed, Outbox, Postponed, job_options
from app.integrations.models import (
    OPEN_SEND_STATUSES,
    FortnoxIntegration,
    FortnoxLink,
    FortnoxSend,
    SendStatus,
    SendStep,
    TimeReportEntry,
)
from app.jobs import enqueue
from app.orders.models import FortnoxState, Order, OrderStatus
from app.orders.protocol import ProtocolTooLarge

SEND_OPERATION = "send"
# A send job is stopped by RQ after JOB_TIMEOUT_SECONDS. The lease outlasts that by a margin, so
# a worker that still holds a send is never overtaken while a request of its may still reach
# Fortnox (a second worker would create a second document). FORTNOX_SEND_LEASE_SECONDS may
# make it longer, never shorter than this floor. Every step renews it.
JOB_TIMEOUT_SECONDS = 120
MIN_LEASE_SECONDS = JOB_TIMEOUT_SECONDS + 30
DEFAULT_LEASE_SECONDS = 180
# A transient failure is retried by RQ after outbox.BACKOFF_SECONDS; after
# outbox.MAX_ATTEMPTS the send has failed.
JOB_OPTIONS = job_options(JOB_TIMEOUT_SECONDS)

ALREADY_INVOICED = "Ordern är redan fakturerad i Fortnox och kan inte ändras därifrån."
TRANSIENT = (FortnoxRateLimited, FortnoxServerError, FortnoxConnectionError, FortnoxUncertainError)


class SendFailed(Failed):
    """A send that cannot succeed as things are: the reason in Swedish, and Fortnox's own
    message and code when Fortnox refused."""

    def __init__(
        self, message: str, *, fortnox_code: int | None = None, fortnox_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fortnox_code = fortnox_code
        self.fortnox_message = fortnox_message


class SendPostponed(Postponed):
    """A transient failure: the send goes back to the queue."""


def _now() -> datetime:
    return datetime.now(UTC)


def _lease() -> timedelta:
    configured = current_app.config.get("FORTNOX_SEND_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS
    return timedelta(seconds=max(int(configured), MIN_LEASE_SECONDS))


OUTBOX = Outbox(FortnoxSend, SendStatus, lease=_lease, noun="send")


def _commit(send_id: int, *, release: bool = False) -> None:
    """Commit the job's work on a send while this worker still holds it (renewing the lease;
    ``release`` ends it); LostClaim when another worker has taken it (:meth:`Outbox.commit`)."""
    OUTBOX.commit(send_id, release=release)


# --- what this integration knows exists in Fortnox ------------------------------------------


def linked(integration_id: int, kind: str, keys: Iterable[str]) -> set[str]:
    """The ``keys`` (customer or article numbers) known to exist in the integration's Fortnox
    company."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            select(FortnoxLink.key).where(
                FortnoxLink.integration_id == integration_id,
                FortnoxLink.kind == kind,
                FortnoxLink.key.in_(wanted),
            )
        )
    )


def link(integration_id: int, kind: str, key: str) -> None:
    """Remember that ``key`` exists in Fortnox (idempotent)."""
    if linked(integration_id, kind, [key]):
        return
    try:
        with db.session.begin_nested():
            db.session.add(FortnoxLink(integration_id=integration_id, kind=kind, key=key))
    except IntegrityError:  # linked by another worker meanwhile
        pass


def unlink(integration_id: int, kind: str, keys: Iterable[str]) -> None:
    """Forget links that may be stale (Fortnox refused a document naming them)."""
    from sqlalchemy import delete

    db.session.execute(
        delete(FortnoxLink).where(
            FortnoxLink.integration_id == integration_id,
            FortnoxLink.kind == kind,
            FortnoxLink.key.in_(sorted(set(keys))),
        )
    )


# --- asking for a send ------------------------------------------------------------------------


def open_send(order: Order) -> FortnoxSend | None:
    return db.session.scalar(
        select(FortnoxSend).where(
            FortnoxSend.order_id == order.id, FortnoxSend.status.in_(OPEN_SEND_STATUSES)
        )
    )


def check_can_send(order: Order, *, by: User) -> tuple[FortnoxIntegration, MappingResult]:
    """Whether ``by`` may send ``order`` now; the integration and the mapped document.

    Raises PermissionDenied (technicians) and Conflict with a Swedish message when the order
    may not be sent: no integration, cancelled, already invoiced, not ready (unless
    ``allow_send_before_ready``), or the mapping reports errors."""
    if not by.is_staff:
        raise PermissionDenied("Bara administratörer och kontoret kan skicka ordrar till Fortnox.")
    integration = services.integration_for_order(order)
    if integration is None:
        raise Conflict(
            "Ingen ansluten Fortnox-integration hanterar den här ordern. En administratör "
            "ansluter Fortnox under Inställningar → Integration.",
            code="no_integration",
        )
    if order.status == OrderStatus.CANCELLED:
        raise Conflict("Ordern är makulerad och skickas inte till Fortnox.", code="cancelled")
    if order.status == OrderStatus.INVOICED or order.fortnox_state == FortnoxState.INVOICED:
        raise Conflict(ALREADY_INVOICED, code="already_invoiced")
    settings = services.settings_of(integration)
    sent_before = order.fortnox_document_number is not None
    if not settings.allow_send_before_ready:
        if sent_before and order.fortnox_state == FortnoxState.SENT:
            raise Conflict(
                "Ordern är redan skickad till Fortnox. Att skicka igen kräver inställningen "
                "”Möjliggör sändning av order innan den är klar för fakturering”.",
                code="already_sent",
            )
        if order.status not in (OrderStatus.READY, OrderStatus.SENT):
            raise Conflict(
                "Ordern är inte klar för fakturering. Sätt den som klar först.", code="not_ready"
            )
    if sent_before and order.fortnox_document_type:
        _refuse_resend_of_invoiced(integration, order)
    result = map_order(services.build_snapshot(order), settings, services.lookups_of(integration))
    # A code the synced registers lack does not block here: the job fetches those registers
    # once before it fails (Fortnox may have the code since the last sync).
    blocking = [e for e in result.errors if not _about_registers(e)]
    if blocking:
        raise Conflict("Ordern kan inte skickas: " + " ".join(blocking), code="mapping_errors")
    return integration, result


def _refuse_resend_of_invoiced(integration: FortnoxIntegration, order: Order) -> None:
    """A re-send of an order whose Fortnox document has been invoiced (an order with an
    invoice reference, a booked or cancelled invoice) is a 409 at once (§7). One GET; when
    Fortnox cannot be asked now, the send is queued and the job checks again before it changes
    anything."""
    client = services.client_for(integration)
    try:
        _refuse_if_invoiced(
            client, str(order.fortnox_document_type), str(order.fortnox_document_number)
        )
    except SendFailed as exc:
        raise Conflict(exc.message, code="already_invoiced") from None
    except FortnoxError:
        pass
    finally:
        client.close()


def send_action(order: Order) -> str | None:
    """What a send of ``order`` would be now, for the page's button: "send", "resend" (the
    same Fortnox document is updated; only with ``allow_send_before_ready``), "retry" (the last
    send failed), or None (nothing to send: invoiced, cancelled, sent and not re-sendable, or
    no integration handles it)."""
    if order.status in (OrderStatus.CANCELLED, OrderStatus.INVOICED):
        return None
    if order.fortnox_state == FortnoxState.INVOICED:
        return None
    if order.fortnox_state == FortnoxState.FAILED:
        return "retry"
    if order.fortnox_state != FortnoxState.SENT:
        return "send"
    integration = services.integration_for_order(order)
    if integration is None or not services.settings_of(integration).allow_send_before_ready:
        return None
    return "resend"


def request_send(order: Order, *, by: User) -> FortnoxSend:
    """Record a send of ``order`` (pending) and show it as "I kö"; flushes, the caller commits
    and then calls :func:`enqueue_send`. A send already open is returned as it is."""
    existing = open_send(order)
    if existing is not None:
        return existing
    integration, _result = check_can_send(order, by=by)
    send = FortnoxSend(
        order_id=order.id,
        integration_id=integration.id,
        requested_by_id=by.id,
        status=SendStatus.PENDING,
        step=SendStep.START,
        document_number=None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(send)
    except IntegrityError:  # another request opened one at the same moment
        existing = open_send(order)
        if existing is None:
            raise
        return existing
    order.fortnox_state = FortnoxState.QUEUED
    order.fortnox_last_error = None
    db.session.flush()
    return send


def enqueue_send(send: FortnoxSend) -> str:
    """Put the (committed) send on the job queue; records and commits the job id."""
    send_id = send.id
    job_id = enqueue(run_send, send_id, options=JOB_OPTIONS, owner_id=send.requested_by_id)
    db.session.execute(
        update(FortnoxSend)
        .where(FortnoxSend.id == send_id, FortnoxSend.job_id.is_(None))
        .values(job_id=job_id)
    )
    db.session.commit()
    return job_id


def send_orders(orders: Iterable[Order], *, by: User) -> tuple[list[FortnoxSend], dict[int, str]]:
    """Send several orders ("Skicka markerade"): the sends recorded and the refusals by order
    id (Swedish). Commits, then enqueues each."""
    sends: list[FortnoxSend] = []
    refused: dict[int, str] = {}
    for order in orders:
        try:
            with db.session.begin_nested():
                sends.append(request_send(order, by=by))
        except (Conflict, PermissionDenied) as exc:
            refused[order.id] = str(exc.message)
    db.session.commit()
    for send in sends:
        if send.job_id is None:
            enqueue_send(send)
    return sends, refused


# --- the job ----------------------------------------------------------------------------------


def run_send(send_id: int) -> dict[str, Any]:
    """The send job: safe to run twice, by two workers at once, or after a worker died
    (:meth:`Outbox.run`). Succeeded: the Fortnox document's type and number."""
    return OUTBOX.run(send_id, claim=_claim, perform=_perform_job, fail=_fail, postpone=_postpone)


def _perform_job(send: FortnoxSend) -> dict[str, Any]:
    _perform(send)
    return {
        "status": "succeeded",
        "document_type": send.document_type,
        "document_number": send.document_number,
    }


def _claim(send_id: int) -> bool:
    """Take the send for this worker: pending and due, or sending with a lease run out."""
    if not OUTBOX.claim(send_id, now=_now()):
        db.session.rollback()
        return False
    send = db.session.get(FortnoxSend, send_id)
    assert send is not None
    send.order.fortnox_state = FortnoxState.SENDING
    db.session.commit()
    return True


@dataclass
class _Context:
    send: FortnoxSend
    order: Order
    integration: FortnoxIntegration
    result: MappingResult


def _perform(send: FortnoxSend) -> None:
    order, integration = send.order, send.integration
    if not integration.encrypted_tokens:
        raise SendFailed(
            "Fortnox-integrationen är inte ansluten. En administratör ansluter igen under "
            "Inställningar → Integration."
        )
    settings = services.settings_of(integration)
    client = services.client_for(integration)
    try:
        result = _mapped(client, order, integration, settings)
        context = _Context(send, order, integration, result)
        if not _reached(send, SendStep.DOCUMENT):
            _ensure_customer(client, context)
            _ensure_articles(client, context)
            _put_document(client, context)
        if settings.send_invoice_after_sending:
            if result.document_type == "Order" and not _reached(send, SendStep.INVOICE):
                _create_invoice(client, context)
        if settings.attach_protocol and not _reached(send, SendStep.PROTOCOL):
            # Before the e-mail: Fortnox sends the invoice with what is attached by then.
            attach_protocol(client, context)
            send.step = SendStep.PROTOCOL
            _commit(send.id)
        if settings.send_invoice_after_sending and not _reached(send, SendStep.EMAILED):
            _email_invoice(client, context)
        if settings.send_time_report and not _reached(send, SendStep.HOURS):
            _report_hours(client, context, settings)
        _succeed(context, mark_invoiced=settings.mark_invoiced_on_send)
    except FortnoxError as exc:
        if isinstance(exc, TRANSIENT):
            raise SendPostponed(str(exc)) from exc
        raise SendFailed(
            exc.user_message, fortnox_code=exc.code, fortnox_message=exc.message
        ) from exc
    except ProtocolTooLarge as exc:  # attach_protocol: the PDF could not be made in time
        raise SendFailed(exc.message) from exc
    finally:
        client.close()


STEP_ORDER = list(SendStep)


def _reached(send: FortnoxSend, step: SendStep) -> bool:
    """Whether the send has already done ``step`` (steps are recorded in this order)."""
    return STEP_ORDER.index(SendStep(send.step)) >= STEP_ORDER.index(step)


REGISTER_WORDS = ("kostnadsställe", "leveransvillkor", "leveranssätt")


def _about_registers(error: str) -> bool:
    """Whether a mapping error is about a register code (mapping.py's messages name them)."""
    return any(word in error.lower() for word in REGISTER_WORDS)


def _mapped(
    client: Any, order: Order, integration: FortnoxIntegration, settings: Any
) -> MappingResult:
    """The order mapped for sending. A cost center, terms or way of delivery we do not know
    may exist in Fortnox since the last sync: those registers are fetched once before the
    send fails (issue #14). Raises SendFailed naming what blocks the send."""
    result = map_order(services.build_snapshot(order), settings, services.lookups_of(integration))
    if any(_about_registers(e) for e in result.errors):
        from app.integrations.fortnox.sync import refresh_small_registers

        refresh_small_registers(integration, client)
        result = map_order(
            services.build_snapshot(order), settings, services.lookups_of(integration)
        )
    if result.errors:
        raise SendFailed("Ordern kan inte skickas: " + " ".join(result.errors))
    return result


def _ensure_customer(client: Any, context: _Context) -> None:
    """The order's customer (or the internal-invoice customer) exists in Fortnox; created from
    our register when missing — only if it carries ``customer_sync_tag`` when one is set."""
    document = context.result.document
    number = str(document["CustomerNumber"])
    integration_id = context.integration.id
    if linked(integration_id, "customer", [number]):
        return
    try:
        client.get_customer(number)
        link(integration_id, "customer", number)
        return
    except FortnoxNotFound:
        pass
    customer = context.order.customer
    if customer.customer_number != number:
        raise SendFailed(
            f"Kunden {number} finns inte i Fortnox. Lägg upp den där eller rätta "
            "inställningen ”Internfakturerad kund”."
        )
    tag = services.settings_of(context.integration).customer_sync_tag.strip()
    if tag and tag.casefold() not in {t.name.casefold() for t in customer.tags}:
        raise SendFailed(
            f"Kunden {number} finns inte i Fortnox och saknar taggen ”{tag}”, som krävs för att "
            "skicka kunder dit. Lägg till taggen på kunden och skicka igen."
        )
    _create_once(client.create_customer, client.get_customer, number, customer_payload(customer))
    link(integration_id, "customer", number)


def _create_once(
    create: Callable[[dict[str, Any]], Any],
    get: Callable[[str], Any],
    number: str,
    payload: dict[str, Any],
) -> None:
    """Create a customer or article in Fortnox. After an uncertain answer a GET of ``number``
    decides (never created blindly twice): when it is not there, the uncertain error is raised
    again (transient: the send is retried)."""
    try:
        create(payload)
    except FortnoxUncertainError as uncertain:
        raise_unless_created(get, number, uncertain)


def raise_unless_created(
    get: Callable[[str], Any], number: str, uncertain: FortnoxUncertainError
) -> None:
    """After an uncertain create: a GET of ``number`` decides whether Fortnox has it after all;
    ``uncertain`` is raised again when it has not (FortnoxNotFound)."""
    try:
        get(number)
    except FortnoxNotFound:
        raise uncertain from None


def customer_payload(customer: Any) -> dict[str, Any]:
    """Our customer as a Fortnox customer (FACTS.md §6 limits: ZipCode 10, OrganisationNumber
    30); only the fields we have."""
    values = {
        "CustomerNumber": customer.customer_number,
        "Name": customer.name,
        "OrganisationNumber": (customer.organisation_number or "")[:30],
        "Address1": customer.address1,
        "Address2": customer.address2,
        "ZipCode": (customer.zip_code or "")[:10],
        "City": customer.city,
        "Email": customer.email,
        "Phone1": customer.phone,
    }
    return {key: value for key, value in values.items() if value}


def article_payload(article: Any) -> dict[str, Any]:
    """Our article as a Fortnox article (FACTS.md §6: Description 1–200)."""
    return {"ArticleNumber": article.article_number, "Description": article.name[:200]}


def _ensure_articles(client: Any, context: _Context) -> None:
    """Every article on the document exists in Fortnox; missing ones are created from our
    register unless ``disable_article_creation``."""
    from app.articles.services import articles_by_numbers

    numbers = sorted(
        {row["ArticleNumber"] for row in context.result.rows if "ArticleNumber" in row}
    )
    if not numbers:
        return
    settings = services.settings_of(context.integration)
    integration_id = context.integration.id
    known = linked(integration_id, "article", numbers)
    missing = [number for number in numbers if number not in known]
    ours = articles_by_numbers(missing)
    for number in missing:
        try:
            client.get_article(number)
            link(integration_id, "article", number)
            continue
        except FortnoxNotFound:
            pass
        article = ours.get(number.strip().lower())
        if settings.disable_article_creation or article is None:
            raise SendFailed(
                f"Artikeln {number} finns inte i Fortnox"
                + (
                    " och artikelskapande är avstängt. Lägg upp artikeln i Fortnox och skicka igen."
                    if settings.disable_article_creation
                    else ". Lägg upp den i Fortnox och skicka igen."
                )
            )
        _create_once(client.create_article, client.get_article, number, article_payload(article))
        link(integration_id, "article", number)


def find_document(client: Any, document_type: str, reference: str) -> dict[str, Any] | None:
    """The Fortnox order or invoice carrying ``reference`` in ExternalInvoiceReference1.
    Fortnox's search matches substrings, so the reference is compared exactly."""
    lister = client.list_orders if document_type == "Order" else client.list_invoices
    for document in lister(externalinvoicereference1=reference):
        if document.get("ExternalInvoiceReference1") == reference:
            return dict(document)
    return None


def _record_document(context: _Context, number: str) -> None:
    send, order = context.send, context.order
    send.document_type = context.result.document_type
    send.document_number = number
    send.step = SendStep.DOCUMENT
    send.warnings = list(context.result.warnings)
    order.fortnox_document_type = context.result.document_type
    order.fortnox_document_number = number
    if context.result.document_type == "Invoice":
        order.fortnox_invoice_number = number
    _commit(send.id)


def _put_document(client: Any, context: _Context) -> None:
    """Create the document, or update the one this order already has in Fortnox."""
    result, order = context.result, context.order
    reference = str(order.fortnox_reference)
    document_type = result.document_type
    number = order.fortnox_document_number if order.fortnox_document_type == document_type else None
    if number is None and _may_exist(context):
        found = find_document(client, document_type, reference)
        number = str(found["DocumentNumber"]) if found else None
    if number is not None:
        _refuse_if_invoiced(client, document_type, number)
        update_document = client.update_order if document_type == "Order" else client.update_invoice
        update_document(number, result.update_payload()[document_type])
        _record_document(context, number)
        return
    create = client.create_order if document_type == "Order" else client.create_invoice
    try:
        created = create(result.document)
    except FortnoxUncertainError:
        found = find_document(client, document_type, reference)
        if found is None:
            raise
        created = found
    except FortnoxError:
        # Fortnox refused the document: a customer or article we thought was there may have
        # been removed. The next attempt checks them again.
        _unlink_parties(context)
        raise
    _record_document(context, str(created["DocumentNumber"]))


def _may_exist(context: _Context) -> bool:
    """Whether a Fortnox document with this order's reference can exist already: an earlier
    attempt of this send (a worker that died after the create, an uncertain answer) or an
    earlier send of the order. The reference is random and new with the order, so on the first
    attempt of the first send nothing can carry it, and the look-up call is saved."""
    send = context.send
    if send.attempts > 1:
        return True
    earlier = db.session.scalar(
        select(FortnoxSend.id)
        .where(FortnoxSend.order_id == send.order_id, FortnoxSend.id != send.id)
        .limit(1)
    )
    return earlier is not None


def _unlink_parties(context: _Context) -> None:
    integration_id = context.integration.id
    unlink(integration_id, "customer", [str(context.result.document["CustomerNumber"])])
    unlink(
        integration_id,
        "article",
        [row["ArticleNumber"] for row in context.result.rows if "ArticleNumber" in row],
    )
    _commit(context.send.id)


def _refuse_if_invoiced(client: Any, document_type: str, number: str) -> None:
    """A Fortnox document that has been invoiced (an order with an invoice, a booked or
    cancelled invoice) is not changed from here."""
    if document_type == "Order":
        current = client.get_order(number)
        if current.get("InvoiceReference") not in (None, "", "0", 0):
            raise SendFailed(ALREADY_INVOICED)
        if current.get("Cancelled"):
            raise SendFailed("Ordern är makulerad i Fortnox och kan inte ändras därifrån.")
    else:
        current = client.get_invoice(number)
        if current.get("Booked") or current.get("Cancelled"):
            raise SendFailed(ALREADY_INVOICED)


def _create_invoice(client: Any, context: _Context) -> None:
    """Order mode with ``send_invoice_after_sending``: turn the Fortnox order into an invoice
    (once: an InvoiceReference already on the order is taken instead)."""
    send = context.send
    number = str(send.document_number)
    current = client.get_order(number)
    invoice_number = current.get("InvoiceReference")
    if invoice_number in (None, "", "0", 0):
        try:
            invoice = client.create_invoice_from_order(number)
            invoice_number = invoice.get("DocumentNumber") or invoice.get("InvoiceReference")
        except FortnoxUncertainError:
            invoice_number = client.get_order(number).get("InvoiceReference")
            if invoice_number in (None, "", "0", 0):
                raise
    send.invoice_number = str(invoice_number)
    send.step = SendStep.INVOICE
    context.order.fortnox_invoice_number = str(invoice_number)
    _commit(send.id)


def _email_invoice(client: Any, context: _Context) -> None:
    """Have Fortnox e-mail the invoice to the customer (once: an invoice already Sent is not
    e-mailed again)."""
    send = context.send
    number = send.invoice_number or send.document_number
    current = client.get_invoice(number)
    if not current.get("Sent"):
        try:
            client.email_invoice(number)
        except FortnoxUncertainError:
            if not client.get_invoice(number).get("Sent"):
                raise
    send.step = SendStep.EMAILED
    _commit(send.id)


def _report_hours(client: Any, context: _Context, settings: Any) -> None:
    """send_time_report: the actions' hours as attendance transactions, per technician and
    day, less what the ledger says this order has reported already (never twice)."""

    order, send = context.order, context.send
    report = time_report(services.build_snapshot(order), settings)
    if report.errors:
        raise SendFailed("Tidsrapporten kan inte skickas: " + " ".join(report.errors))
    for transaction in report.transactions:
        key = (
            TimeReportEntry.order_id == order.id,
            TimeReportEntry.employee_id == transaction.employee_id,
            TimeReportEntry.date == transaction.date,
            TimeReportEntry.cause_code == transaction.cause_code,
        )
        for pending in db.session.scalars(
            select(TimeReportEntry).where(*key, TimeReportEntry.status == "pending")
        ):
            # An earlier attempt may or may not have reached Fortnox: look.
            if _reported_in_fortnox(client, pending):
                pending.status = "reported"
            else:
                db.session.delete(pending)
        _commit(send.id)
        reported = db.session.scalar(
            select(func.coalesce(func.sum(TimeReportEntry.hours), 0)).where(
                *key, TimeReportEntry.status == "reported"
            )
        )
        missing = transaction.hours - Decimal(str(reported))
        if missing <= 0:
            continue
        entry = TimeReportEntry(
            order_id=order.id,
            integration_id=send.integration_id,
            employee_id=transaction.employee_id,
            date=transaction.date,
            cause_code=transaction.cause_code,
            hours=missing,
            status="pending",
        )
        db.session.add(entry)
        _commit(send.id)
        payload = transaction.to_payload()["AttendanceTransaction"]
        payload["Hours"] = format_decimal(missing)
        try:
            created = client.create_attendance_transaction(payload)
        except FortnoxUncertainError:
            if not _reported_in_fortnox(client, entry):
                raise
            created = {}
        entry.status = "reported"
        entry.transaction_id = str(created.get("id") or "") or None
        _commit(send.id)
    send.step = SendStep.HOURS
    _commit(send.id)


def _reported_in_fortnox(client: Any, entry: TimeReportEntry) -> bool:
    """Whether Fortnox holds a transaction for the entry's technician, day and cause with
    the entry's hours that the ledger does not account for yet."""
    found = client.list_attendance_transactions(entry.employee_id, entry.date.isoformat())
    matching = [
        t
        for t in found
        if t.get("CauseCode") == entry.cause_code
        and Decimal(str(t.get("Hours") or 0)) == Decimal(entry.hours)
    ]
    known = set(
        db.session.scalars(
            select(TimeReportEntry.transaction_id).where(
                TimeReportEntry.employee_id == entry.employee_id,
                TimeReportEntry.date == entry.date,
                TimeReportEntry.status == "reported",
                TimeReportEntry.transaction_id.is_not(None),
            )
        )
    )
    return any(str(t.get("id")) not in known for t in matching)


def _succeed(context: _Context, *, mark_invoiced: bool) -> None:
    send, order = context.send, context.order
    now = _now()
    send.status = SendStatus.SUCCEEDED
    send.step = SendStep.DONE
    send.finished_at = now
    send.lease_until = None
    send.error_code = None
    send.error_message = None
    order.fortnox_sent_at = now
    order.fortnox_last_error = None
    if mark_invoiced:
        order.fortnox_state = FortnoxState.INVOICED
        order.status = OrderStatus.INVOICED
    else:
        order.fortnox_state = FortnoxState.SENT
        if order.status == OrderStatus.READY:
            # Sent before it was ready (allow_send_before_ready): the order stays open for work
            # and can be sent again; only a ready order becomes "Skickad".
            order.status = OrderStatus.SENT
    if _open_send_error(send.integration_id) and not _other_failed_sends(send):
        services.resolve_errors(context.integration, SEND_OPERATION, by=None)
    _commit(send.id, release=True)


def _open_send_error(integration_id: int) -> bool:
    from app.integrations.models import IntegrationError

    return (
        db.session.scalar(
            select(IntegrationError.id)
            .where(
                IntegrationError.integration_id == integration_id,
                IntegrationError.operation == SEND_OPERATION,
                IntegrationError.resolved_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _other_failed_sends(send: FortnoxSend) -> int:
    """How many other orders of the integration show a failed send."""
    return (
        db.session.scalar(
            select(func.count(func.distinct(Order.id)))
            .join(FortnoxSend, FortnoxSend.order_id == Order.id)
            .where(
                FortnoxSend.integration_id == send.integration_id,
                Order.fortnox_state == FortnoxState.FAILED,
                Order.id != send.order_id,
            )
        )
        or 0
    )


def _fail(send_id: int, exc: SendFailed) -> None:
    """The send failed for good: the reason on the send and the order, an integration error."""
    db.session.rollback()
    send = db.session.get(FortnoxSend, send_id)
    assert send is not None
    order = send.order
    send.status = SendStatus.FAILED
    send.finished_at = _now()
    send.lease_until = None
    send.error_code = str(exc.fortnox_code) if exc.fortnox_code is not None else None
    send.error_message = _with_fortnox(exc)
    order.fortnox_state = FortnoxState.FAILED
    order.fortnox_last_error = send.error_message
    failed = _other_failed_sends(send) + 1
    services.record_error(
        send.integration,
        SEND_OPERATION,
        (
            "1 order kunde inte skickas till Fortnox."
            if failed == 1
            else f"{failed} ordrar kunde inte skickas till Fortnox."
        ),
        fortnox_code=exc.fortnox_code,
        fortnox_message=exc.fortnox_message,
    )
    _commit(send.id, release=True)
    current_app.logger.info("send %s of order %s failed: %s", send.id, order.id, exc.message)


def _with_fortnox(exc: SendFailed) -> str:
    if exc.fortnox_message and exc.fortnox_message != exc.message:
        code = f" (kod {exc.fortnox_code})" if exc.fortnox_code is not None else ""
        return f"{exc.message} Fortnox: {exc.fortnox_message}{code}"
    return exc.message


def _postpone(send_id: int, reason: str) -> bool:
    """A transient failure: back to the queue with a back-off (True), or failed after the last
    try (False)."""
    send: FortnoxSend | None = OUTBOX.requeue(send_id, reason)
    if send is None:
        _fail(
            send_id,
            SendFailed(
                "Fortnox svarade inte efter flera försök. Försök igen om en stund.",
                fortnox_message=reason,
            ),
        )
        return False
    send.lease_until = None
    send.order.fortnox_state = FortnoxState.QUEUED
    _commit(send_id, release=True)
    return True


def sweep(*, limit: int = 200) -> int:
    """Re-enqueue sends that are due (:meth:`Outbox.sweep`): a retry whose time has come, a
    pending send nobody took within SWEEP_GRACE, or a send whose worker died. Returns how many
    were enqueued."""
    return OUTBOX.sweep(run_send, JOB_OPTIONS, limit=limit)
