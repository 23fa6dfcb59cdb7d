"""Syncing with Fortnox: the status of sent documents back, and the registers
(fortnox-settings.md §7 "status back" and §8; integration-health.md "Sync run log").

A sync is a :class:`SyncRun` of one integration over some *parts* (:data:`PARTS`). At most one
runs per integration at a time (a partial unique index; starting a second is a Conflict). The
job (:func:`run_sync`) runs the parts one after another; each part:

* asks Fortnox only for what changed since its cursor (``lastmodified``, a :class:`SyncCursor`
  per integration and register), so a sync where nothing changed costs one list call per
  register and writes no register row;
* counts what it fetched, created, updated, left unchanged, skipped or failed (failed records
  are named in the run's log), and writes live log lines ("Hämtar artiklar… 500 av 2 300");
* moves its cursor only when it finished, so an interrupted run (a worker killed, Fortnox down)
  leaves the cursor where it was and the next run picks up from there: nothing is lost, and a
  record fetched twice is "unchanged" the second time.

A part that fails is recorded as an integration error (operation ``sync:<part>``) and the other
parts go on; a later successful run of that part resolves the error by itself.

Parts are plain functions registered with :func:`part`; they get a :class:`SyncContext`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.client import FortnoxClient
from app.integrations.fortnox.errors import FortnoxAuthError, FortnoxError
from app.integrations.models import (
    FortnoxIntegration,
    RegisterItem,
    SyncCursor,
    SyncRun,
    SyncRunStatus,
)
from app.jobs import JobOptions, enqueue
from app.orders.models import FortnoxState, Order, OrderStatus

# The parts of POST /integrations/fortnox/sync (domain-and-api.md), in the order they run: the
# registers documents refer to first, status back last.
PARTS = (
    "cost_centers",
    "terms_of_delivery",
    "ways_of_delivery",
    "customers",
    "articles",
    "prices",
    "invoice_status",
)
# Swedish, for the log lines and the summary: (singular, plural).
NOUNS: dict[str, tuple[str, str]] = {
    "cost_centers": ("kostnadsställe", "kostnadsställen"),
    "terms_of_delivery": ("leveransvillkor", "leveransvillkor"),
    "ways_of_delivery": ("leveranssätt", "leveranssätt"),
    "customers": ("kund", "kunder"),
    "articles": ("artikel", "artiklar"),
    "prices": ("pris", "priser"),
    "invoice_status": ("dokument", "dokument"),
}
COUNT_KEYS = ("fetched", "created", "updated", "unchanged", "skipped", "failed")
STALE_AFTER = timedelta(minutes=10)  # a run without a heartbeat this long has died
LOG_LINES_KEPT = 500
JOB_OPTIONS = JobOptions(retries=0, timeout=3600)
SWEDISH_TIME = ZoneInfo("Europe/Stockholm")

PartFunc = Callable[["SyncContext"], None]
_PARTS: dict[str, PartFunc] = {}


def part(name: str) -> Callable[[PartFunc], PartFunc]:
    """Register the function that syncs part ``name`` (one of :data:`PARTS`)."""

    def decorate(func: PartFunc) -> PartFunc:
        if name not in PARTS:
            raise ValueError(f"unknown sync part {name!r}")
        _PARTS[name] = func
        return func

    return decorate


def _now() -> datetime:
    return datetime.now(UTC)


def lastmodified_text(moment: datetime) -> str:
    """A cursor as Fortnox's ``lastmodified`` takes it: Swedish local time, to the minute
    (FACTS.md §2), rounded down so nothing changed in that minute is missed."""
    return moment.astimezone(SWEDISH_TIME).strftime("%Y-%m-%d %H:%M")


# --- starting a run ---------------------------------------------------------------------------


def running(integration: FortnoxIntegration) -> SyncRun | None:
    return db.session.scalar(
        select(SyncRun).where(
            SyncRun.integration_id == integration.id, SyncRun.status == SyncRunStatus.RUNNING
        )
    )


def fail_stale_runs(integration: FortnoxIntegration) -> None:
    """A run whose worker died (no heartbeat for :data:`STALE_AFTER`) is marked failed; its
    cursors stayed where they were."""
    stale = running(integration)
    if stale is None:
        return
    beat = stale.heartbeat_at or stale.started_at
    if beat < _now() - STALE_AFTER:
        stale.status = SyncRunStatus.FAILED
        stale.finished_at = _now()
        stale.error = (
            "Synkningen avbröts (arbetsprocessen stannade). "
            "Nästa synkning fortsätter där den slutade."
        )
        db.session.flush()


def start_sync(
    integration: FortnoxIntegration,
    parts: Iterable[str] | None = None,
    *,
    trigger: str,
    by: User | None,
    full: bool = False,
) -> SyncRun:
    """Record a running sync of ``parts`` (all when None); flushes, the caller commits and
    then calls :func:`enqueue_sync`. ``full`` ignores the cursors (the nightly full sync).

    Raises ValidationFailed for an unknown part, Conflict when the integration is not
    connected or a sync of it is already running."""
    wanted = list(dict.fromkeys(parts)) if parts is not None else [p for p in PARTS if p in _PARTS]
    unknown = [p for p in wanted if p not in _PARTS]
    if unknown or not wanted:
        raise ValidationFailed.field("parts", "Välj delar bland: " + ", ".join(PARTS) + ".")
    if not integration.encrypted_tokens:
        raise Conflict(
            "Fortnox är inte anslutet. En administratör ansluter under "
            "Inställningar → Integration.",
            code="not_connected",
        )
    fail_stale_runs(integration)
    run = SyncRun(
        integration_id=integration.id,
        trigger=trigger,
        started_by_id=by.id if by else None,
        parts=[p for p in PARTS if p in wanted],
        status=SyncRunStatus.RUNNING,
        counts={},
        log=[],
        heartbeat_at=_now(),
    )
    if full:
        run.log = [{"at": _now().isoformat(), "text": "Full synkning (alla poster)."}]
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        raise Conflict(
            "En synkning av integrationen pågår redan. Vänta tills den är klar.",
            code="sync_running",
        ) from None
    return run


def enqueue_sync(run: SyncRun, *, full: bool = False) -> str:
    """Put the (committed) run on the job queue."""
    return enqueue(run_sync, run.id, full, options=JOB_OPTIONS, owner_id=run.started_by_id)


# --- the job ----------------------------------------------------------------------------------


@dataclass
class SyncContext:
    """What a part works with: the run, the integration, a Fortnox client, its cursor."""

    run: SyncRun
    integration: FortnoxIntegration
    client: FortnoxClient
    full: bool
    started: datetime
    part: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Any:
        return services.settings_of(self.integration)

    def log(self, text: str) -> None:
        """A live log line (committed at once, so pages polling the run see it)."""
        entries = list(self.run.log or [])
        entries.append({"at": _now().isoformat(), "part": self.part, "text": text})
        self.run.log = entries[-LOG_LINES_KEPT:]
        self.beat()

    def beat(self) -> None:
        self.run.counts = {**(self.run.counts or {}), self.part: dict(self.counts)}
        self.run.heartbeat_at = _now()
        db.session.commit()

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def fail_record(self, what: str, reason: str) -> None:
        """A record that could not be synced: named in the log, counted, the rest goes on."""
        self.count("failed")
        self.failures.append(f"{what}: {reason}")
        self.log(f"Misslyckades: {what} – {reason}")

    def cursor(self) -> SyncCursor:
        row = db.session.get(SyncCursor, (self.integration.id, self.part))
        if row is None:
            row = SyncCursor(integration_id=self.integration.id, register=self.part, records=0)
            db.session.add(row)
        return row

    def since(self) -> str | None:
        """The ``lastmodified`` to ask from (None: everything)."""
        if self.full:
            return None
        return self.cursor().lastmodified

    def progress(self, done: int, total: int) -> None:
        noun = NOUNS[self.part][1]
        self.log(f"Hämtar {noun}… {_n(done)} av {_n(total)}")


def _n(number: int) -> str:
    """A count the Swedish way: 2 300."""
    return f"{number:,}".replace(",", "\u00a0")


def run_sync(run_id: int, full: bool = False) -> dict[str, Any]:
    """The sync job: runs the parts of ``run_id``; safe to run twice (a finished run is not run
    again)."""
    run = db.session.get(SyncRun, run_id)
    if run is None or run.status != SyncRunStatus.RUNNING:
        return {"run_id": run_id, "status": "not_running"}
    integration = db.session.get(FortnoxIntegration, run.integration_id)
    assert integration is not None
    started = time.monotonic()
    client = services.client_for(integration)
    failed_parts: list[str] = []
    try:
        for name in run.parts:
            context = SyncContext(run, integration, client, full, _now(), part=name)
            context.counts = {key: 0 for key in COUNT_KEYS}
            try:
                _PARTS[name](context)
            except FortnoxError as exc:
                db.session.rollback()
                failed_parts.append(name)
                context.log(f"Fel: {exc.user_message} (Fortnox: {exc.message})")
                services.record_fortnox_failure(integration, f"sync:{name}", exc)
                db.session.commit()
                if isinstance(exc, FortnoxAuthError):
                    break  # nothing else will work until someone reconnects
                continue
            cursor = context.cursor()
            cursor.lastmodified = lastmodified_text(context.started)
            cursor.synced_at = _now()
            cursor.ok = True
            services.resolve_errors(integration, f"sync:{name}", by=None)
            context.beat()
    except Exception as exc:
        db.session.rollback()
        broken = db.session.get(SyncRun, run_id)
        if broken is not None:
            broken.status = SyncRunStatus.FAILED
            broken.finished_at = _now()
            broken.error = f"{type(exc).__name__}: {exc}"[:500]
            db.session.commit()
        raise
    finally:
        client.close()
    for name in failed_parts:
        row = db.session.get(SyncCursor, (integration.id, name))
        if row is not None:
            row.ok = False
    run.status = SyncRunStatus.FAILED if failed_parts else SyncRunStatus.FINISHED
    run.finished_at = _now()
    run.log = [
        *(run.log or []),
        {"at": _now().isoformat(), "part": "", "text": summary(run, time.monotonic() - started)},
    ][-LOG_LINES_KEPT:]
    db.session.commit()
    current_app.logger.info("sync run %s of integration %s: %s", run.id, integration.id, run.status)
    return {"run_id": run.id, "status": run.status.value, "counts": run.counts}


def summary(run: SyncRun, seconds: float) -> str:
    """ "Hämtade 2 300 artiklar och 412 kunder på 38 s" (integration-health.md)."""
    pieces = []
    for name in run.parts:
        fetched = int((run.counts or {}).get(name, {}).get("fetched", 0))
        if fetched:
            singular, plural = NOUNS[name]
            pieces.append(f"{_n(fetched)} {singular if fetched == 1 else plural}")
    if not pieces:
        what = "inga ändringar"
    elif len(pieces) == 1:
        what = pieces[0]
    else:
        what = ", ".join(pieces[:-1]) + " och " + pieces[-1]
    verb = "Hämtade" if pieces else "Hittade"
    return f"{verb} {what} på {max(1, round(seconds))} s"


# --- the small registers ----------------------------------------------------------------------


def _sync_register(
    context: SyncContext, register: str, items: list[dict[str, Any]], code_key: str
) -> None:
    """Replace the integration's copy of a small register with Fortnox's (always the whole
    list: these registers are a few dozen rows, and a removed code must disappear here)."""
    integration_id = context.integration.id
    ours = {
        row.code: row
        for row in db.session.scalars(
            select(RegisterItem).where(
                RegisterItem.integration_id == integration_id, RegisterItem.register == register
            )
        )
    }
    seen: set[str] = set()
    for item in items:
        code = str(item.get(code_key) or "").strip()
        if not code:
            context.count("skipped")
            continue
        seen.add(code)
        description = str(item.get("Description") or "").strip() or None
        description = description[:200] if description else None
        active = item.get("Active") is not False
        row = ours.get(code)
        if row is None:
            db.session.add(
                RegisterItem(
                    integration_id=integration_id,
                    register=register,
                    code=code,
                    description=description,
                    active=active,
                )
            )
            context.count("created")
        elif (row.description, row.active) != (description, active):
            row.description, row.active = description, active
            context.count("updated")
        else:
            context.count("unchanged")
    gone = [code for code in ours if code not in seen]
    if gone:
        db.session.execute(
            delete(RegisterItem).where(
                RegisterItem.integration_id == integration_id,
                RegisterItem.register == register,
                RegisterItem.code.in_(gone),
            )
        )
        context.count("updated", len(gone))
    context.count("fetched", len(items))
    context.cursor().records = len(seen)


SMALL_REGISTERS = {
    "cost_centers": "list_cost_centers",
    "terms_of_delivery": "list_terms_of_delivery",
    "ways_of_delivery": "list_ways_of_delivery",
}


def refresh_small_registers(integration: FortnoxIntegration, client: FortnoxClient) -> None:
    """Fetch the cost centers, terms and ways of delivery now, outside a sync run: a send that
    names a code we do not know fetches them once before failing (issue #14). Three list
    calls; the registers' cursors record the fetch. Commits."""
    started = _now()
    run = SyncRun(integration_id=integration.id, parts=[], counts={}, log=[])
    for name, method in SMALL_REGISTERS.items():
        context = SyncContext(run, integration, client, True, started, part=name)
        _sync_register(context, name, getattr(client, method)(), "Code")
        cursor = context.cursor()
        cursor.synced_at = _now()
        cursor.lastmodified = lastmodified_text(started)
        cursor.ok = True
    db.session.commit()


@part("cost_centers")
def sync_cost_centers(context: SyncContext) -> None:
    context.log("Hämtar kostnadsställen…")
    _sync_register(context, "cost_centers", context.client.list_cost_centers(), "Code")


@part("terms_of_delivery")
def sync_terms_of_delivery(context: SyncContext) -> None:
    context.log("Hämtar leveransvillkor…")
    _sync_register(context, "terms_of_delivery", context.client.list_terms_of_delivery(), "Code")


@part("ways_of_delivery")
def sync_ways_of_delivery(context: SyncContext) -> None:
    context.log("Hämtar leveranssätt…")
    _sync_register(context, "ways_of_delivery", context.client.list_ways_of_delivery(), "Code")


# --- status back ----------------------------------------------------------------------------


def _earliest_open_send(integration: FortnoxIntegration) -> datetime | None:
    """When the oldest order of this integration that may still change status was sent."""
    from sqlalchemy import func

    from app.integrations.models import FortnoxSend

    return db.session.scalar(
        select(func.min(Order.fortnox_sent_at))
        .join(FortnoxSend, FortnoxSend.order_id == Order.id)
        .where(
            FortnoxSend.integration_id == integration.id,
            Order.fortnox_state == FortnoxState.SENT,
        )
    )


def _orders_of(integration: FortnoxIntegration, column: Any, numbers: set[str]) -> list[Order]:
    from app.integrations.models import FortnoxSend

    if not numbers:
        return []
    sent_here = select(FortnoxSend.order_id).where(FortnoxSend.integration_id == integration.id)
    return list(
        db.session.scalars(
            select(Order).where(column.in_(sorted(numbers)), Order.id.in_(sent_here))
        )
    )


@part("invoice_status")
def sync_invoice_status(context: SyncContext) -> None:
    """Status back (§7): Fortnox orders and invoices changed since the cursor, one list call
    per document type and page (never one GET per order), applied to the orders sent here."""
    since = context.since()
    if since is None:
        earliest = _earliest_open_send(context.integration)
        if earliest is None and not context.full:
            context.log("Inga skickade ordrar att följa upp.")
            return
        since = lastmodified_text((earliest or _now()) - timedelta(days=1))
    context.log("Hämtar ändrade ordrar och fakturor…")
    orders = context.client.list_orders(lastmodified=since)
    invoices = context.client.list_invoices(lastmodified=since)
    context.count("fetched", len(orders) + len(invoices))
    by_order = {str(d.get("DocumentNumber")): d for d in orders}
    by_invoice = {str(d.get("DocumentNumber")): d for d in invoices}
    changed: set[int] = set()
    for order in _orders_of(context.integration, Order.fortnox_document_number, set(by_order)):
        if order.fortnox_document_type != "Order":
            continue
        document = by_order[str(order.fortnox_document_number)]
        if _apply_order_document(order, document):
            changed.add(order.id)
    # Invoices: ours in invoice mode, or made from our Fortnox orders (createinvoice, or the
    # accountant) — known by the invoice number the order carries.
    for order in _orders_of(context.integration, Order.fortnox_invoice_number, set(by_invoice)):
        if _apply_invoice(order, by_invoice[str(order.fortnox_invoice_number)]):
            changed.add(order.id)
    # An order whose invoice was made in Fortnox in this same window: its number came with the
    # order list above, the invoice list may carry it too.
    context.count("updated", len(changed))
    context.count("unchanged", len(orders) + len(invoices) - len(changed))


def _apply_order_document(order: Order, document: dict[str, Any]) -> bool:
    changed = False
    invoice = document.get("InvoiceReference")
    if invoice not in (None, "", "0", 0) and order.fortnox_invoice_number != str(invoice):
        order.fortnox_invoice_number = str(invoice)
        changed = True
    if document.get("Cancelled") and order.fortnox_state != FortnoxState.CANCELLED:
        order.fortnox_state = FortnoxState.CANCELLED
        order.fortnox_last_error = (
            f"Ordern är makulerad i Fortnox (Fortnox-order {order.fortnox_document_number}). "
            "Den faktureras inte därifrån."
        )
        changed = True
    return changed


def _apply_invoice(order: Order, invoice: dict[str, Any]) -> bool:
    if invoice.get("Cancelled"):
        if order.fortnox_state == FortnoxState.CANCELLED:
            return False
        order.fortnox_state = FortnoxState.CANCELLED
        order.fortnox_last_error = (
            f"Fakturan {order.fortnox_invoice_number} är makulerad i Fortnox."
        )
        return True
    if invoice.get("Sent") and order.fortnox_state != FortnoxState.INVOICED:
        # §7: invoiced once Fortnox reports the invoice as sent to the customer.
        order.fortnox_state = FortnoxState.INVOICED
        if order.status in (OrderStatus.SENT, OrderStatus.READY):
            order.status = OrderStatus.INVOICED
        return True
    return False


# --- reads for the pages and the API ----------------------------------------------------------


def register_rows(integration: FortnoxIntegration) -> list[dict[str, Any]]:
    """One row per register (integration-health.md "Settings → Integration"): when it was last
    fetched, how many records, whether the last fetch worked."""
    cursors = {
        c.register: c
        for c in db.session.scalars(
            select(SyncCursor).where(SyncCursor.integration_id == integration.id)
        )
    }
    rows = []
    for name in PARTS:
        cursor = cursors.get(name)
        rows.append(
            {
                "part": name,
                "synced_at": cursor.synced_at if cursor else None,
                "records": cursor.records if cursor else 0,
                "ok": cursor.ok if cursor else None,
            }
        )
    return rows


def clear_synced_data(integration: FortnoxIntegration) -> None:
    """ "Töm synkad data": the registers, links, cursors and sync history cached from Fortnox;
    never an order, customer or article that lives here."""
    from app.integrations.models import FortnoxLink

    for model in (RegisterItem, FortnoxLink, SyncCursor):
        db.session.execute(delete(model).where(model.integration_id == integration.id))
    db.session.execute(
        delete(SyncRun).where(
            SyncRun.integration_id == integration.id, SyncRun.status != SyncRunStatus.RUNNING
        )
    )
    db.session.flush()


__all__ = [
    "PARTS",
    "SyncContext",
    "clear_synced_data",
    "enqueue_sync",
    "part",
    "register_rows",
    "run_sync",
    "start_sync",
    "summary",
]
from app.integrations.fortnox import sync_registers  # noqa: E402,F401  (registers parts)
