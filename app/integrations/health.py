"""Integration health (integration-health.md): seeing and fixing what broke.

* The **status indicator** in the top bar of every page (:func:`integration_health`, a
  template global cached per request): a lightning icon per integration — green, red dot
  (an open error), struck through (not connected, or the authorisation is gone), spinner (a
  sync running) — with a popover (a ``<details>``) of the last sync, the latest documents
  sent and the open errors. It costs the same few queries whatever the history holds: one
  for the integrations with EXISTS / scalar subqueries, and only when there is something to
  show, one each for the sync runs, the open errors and the latest sends (each bounded).
* The **error banner and dialog**: :func:`error_page` explains an error (our words, then
  Fortnox's message and code), what it affects, and the fixes in order: "Hämta", "Anslut
  igen", "Åtgärdat" (:func:`resolve`, admin, records who).
* **Syncs from the pages**: "Synka nu" and "Hämta" (:func:`start`), a run followed live
  (:func:`run_json`, polled by app.js), the sync run log (:func:`runs`) with the history of
  errors, the schedule (:func:`schedule`) and "Töm synkad data" (:func:`clear`).
* The **first sign-in of the day** (:func:`refresh_on_login`, called by the login view)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import defer

from app.auth.models import Role, Subgroup, User
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.i18n import local_today
from app.integrations.fortnox import feed, services, sync
from app.integrations.fortnox.sending import SEND_OPERATION
from app.integrations.models import (
    FortnoxIntegration,
    FortnoxSend,
    FortnoxTokens,
    IntegrationError,
    SendStatus,
    SyncRun,
    SyncRunStatus,
)
from app.orders.models import FortnoxState, Order, OrderKind
from app.web import Page, admin_required, staff_required

bp = Blueprint("health", __name__)

# The roles that may run syncs (and so get the first-login sync).
SYNC_ROLES = (Role.ADMIN, Role.OFFICE)

RECENT_SENDS = 5  # the latest documents in the popover
ERRORS_SHOWN = 5  # open errors in the banner and the popover
AFFECTED_SHOWN = 20  # orders listed in the dialog (the rest: "Ej överförda")
LOG_LINES_POLLED = 100  # log lines in each answer of the live progress
CONFIRM_CLEAR = "TÖM"

REGISTER_LABELS = {
    "customers": _l("Kunder"),
    "articles": _l("Artiklar"),
    "prices": _l("Priser"),
    "cost_centers": _l("Kostnadsställen"),
    "terms_of_delivery": _l("Leveransvillkor"),
    "ways_of_delivery": _l("Leveranssätt"),
    "invoice_status": _l("Fakturastatus"),
}
# The order of the rows on Settings → Integration (integration-health.md).
REGISTER_ORDER = (
    "customers",
    "articles",
    "prices",
    "cost_centers",
    "terms_of_delivery",
    "ways_of_delivery",
    "invoice_status",
)
COUNT_LABELS = {
    "fetched": _l("Hämtade"),
    "created": _l("Nya"),
    "updated": _l("Ändrade"),
    "unchanged": _l("Oförändrade"),
    "skipped": _l("Överhoppade"),
    "failed": _l("Misslyckade"),
}
TRIGGER_LABELS = {
    "manual": _l("Manuell"),
    "scheduled": _l("Schemalagd"),
    "first_login": _l("Första inloggningen"),
    "feed": _l("Ändringsflöde"),
}
RUN_STATUS_LABELS = {
    SyncRunStatus.RUNNING: _l("Pågår"),
    SyncRunStatus.FINISHED: _l("Klar"),
    SyncRunStatus.FAILED: _l("Misslyckades"),
}
STATE_LABELS = {
    "ok": _l("Ansluten, inga problem"),
    "error": _l("Ett problem behöver åtgärdas"),
    "revoked": _l("Behörigheten till Fortnox har upphört"),
    "inactive": _l("Inte ansluten"),
    "syncing": _l("Synkning pågår"),
}


def register_label(part: str) -> str:
    return str(REGISTER_LABELS.get(part, part))


def implemented_parts() -> list[str]:
    """The parts a sync can run today (sync.py registers them as they are built)."""
    return [p for p in sync.PARTS if p in sync._PARTS]


# --- the indicator --------------------------------------------------------------------------------


@dataclass
class IndicatorItem:
    """One lightning icon: an integration as the top bar shows it."""

    id: int | None
    subgroup_id: int | None = None
    subgroup_name: str | None = None
    company_name: str | None = None
    connected: bool = False
    has_error: bool = False
    revoked: bool = False
    running_id: int | None = None
    last_run_id: int | None = None
    running: SyncRun | None = None
    last_run: SyncRun | None = None
    errors: list[IntegrationError] = field(default_factory=list)

    @property
    def state(self) -> str:
        """ok, error (red dot), revoked / inactive (struck through), syncing (spinner)."""
        if not self.connected:
            return "inactive"
        if self.running is not None:
            return "syncing"
        if self.revoked:
            return "revoked"
        return "error" if self.has_error else "ok"

    @property
    def struck(self) -> bool:
        return self.state in ("inactive", "revoked")

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def last_summary(self) -> str | None:
        run = self.last_run
        if run is None or run.finished_at is None or run.status == SyncRunStatus.FAILED:
            return None  # a failed run says so; its "Hittade inga ändringar" would mislead
        return sync.summary(run, (run.finished_at - run.started_at).total_seconds())


@dataclass
class RecentSend:
    integration_id: int
    order_id: int
    number: str
    document_type: str | None
    document_number: str | None
    invoice_number: str | None
    state: FortnoxState
    at: datetime | None


@dataclass
class Health:
    """What the top bar and the banner show for the signed-in user."""

    items: list[IndicatorItem]
    errors: list[IntegrationError]
    recent: list[RecentSend]

    @property
    def connected(self) -> bool:
        return any(item.connected for item in self.items)


def _visible_to(user: Any, subgroup_id: int | None) -> bool:
    """Admin and office see every integration; a technician the organisation's and their
    subgroup's."""
    return bool(user.is_staff) or subgroup_id is None or subgroup_id == user.subgroup_id


def load_health(user: Any) -> Health:
    """The indicator's data for ``user``: a constant number of bounded queries."""
    integration = FortnoxIntegration
    open_error = select(IntegrationError.id).where(
        IntegrationError.integration_id == integration.id,
        IntegrationError.resolved_at.is_(None),
    )
    running_id = (
        select(SyncRun.id)
        .where(SyncRun.integration_id == integration.id, SyncRun.status == SyncRunStatus.RUNNING)
        .limit(1)
        .scalar_subquery()
    )
    last_run_id = (
        select(SyncRun.id)
        .where(SyncRun.integration_id == integration.id, SyncRun.status != SyncRunStatus.RUNNING)
        .order_by(SyncRun.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(
            integration.id,
            integration.subgroup_id,
            Subgroup.name,
            integration.company_name,
            integration.connected_at,
            FortnoxTokens.encrypted.is_not(None).label("connected"),
            exists(open_error).label("has_error"),
            exists(open_error.where(IntegrationError.operation == services.TOKEN_OPERATION)).label(
                "revoked"
            ),
            running_id.label("running_id"),
            last_run_id.label("last_run_id"),
        )
        .outerjoin(FortnoxTokens, FortnoxTokens.integration_id == integration.id)
        .outerjoin(Subgroup, Subgroup.id == integration.subgroup_id)
        .order_by(integration.subgroup_id.is_not(None), Subgroup.name)
    ).all()
    items = [
        IndicatorItem(
            id=row.id,
            subgroup_id=row.subgroup_id,
            subgroup_name=row[2],
            company_name=row.company_name,
            connected=bool(row.connected),
            has_error=bool(row.has_error),
            revoked=bool(row.revoked),
            running_id=row.running_id,
            last_run_id=row.last_run_id,
        )
        for row in rows
        # Integrations that were never connected are settings only, not an icon.
        if (row.connected or row.connected_at is not None) and _visible_to(user, row.subgroup_id)
    ]
    if not items:
        return Health([IndicatorItem(id=None)], [], [])

    run_ids = [i for item in items for i in (item.running_id, item.last_run_id) if i]
    if run_ids:
        runs = {
            run.id: run
            for run in db.session.scalars(
                select(SyncRun).where(SyncRun.id.in_(run_ids)).options(defer(SyncRun.log))
            )
        }
        stale_before = datetime.now(UTC) - sync.STALE_AFTER
        for item in items:
            running = runs.get(item.running_id) if item.running_id else None
            if running is not None and (running.heartbeat_at or running.started_at) > stale_before:
                item.running = running
            item.last_run = runs.get(item.last_run_id) if item.last_run_id else None

    ids = [item.id for item in items]
    errors: list[IntegrationError] = []
    if any(item.has_error for item in items):
        errors = list(
            db.session.scalars(
                select(IntegrationError)
                .where(
                    IntegrationError.integration_id.in_(ids),
                    IntegrationError.resolved_at.is_(None),
                )
                .order_by(IntegrationError.first_at)
                .limit(ERRORS_SHOWN)
            )
        )
        for item in items:
            item.errors = [e for e in errors if e.integration_id == item.id]

    recent: list[RecentSend] = []
    if user.is_staff:  # a technician sees only their subgroup's orders
        recent = [
            RecentSend(
                integration_id=row.integration_id,
                order_id=row.id,
                number=f"{OrderKind(row.kind).prefix} {row.number}",
                document_type=row.document_type,
                document_number=row.document_number,
                invoice_number=row.invoice_number,
                state=row.fortnox_state,
                at=row.finished_at,
            )
            for row in db.session.execute(
                select(
                    Order.id,
                    Order.kind,
                    Order.number,
                    Order.fortnox_state,
                    FortnoxSend.document_type,
                    FortnoxSend.document_number,
                    FortnoxSend.invoice_number,
                    FortnoxSend.finished_at,
                    FortnoxSend.integration_id,
                )
                .join(Order, Order.id == FortnoxSend.order_id)
                .where(
                    FortnoxSend.integration_id.in_(ids),
                    FortnoxSend.status == SendStatus.SUCCEEDED,
                )
                .order_by(FortnoxSend.id.desc())
                .limit(RECENT_SENDS)
            )
        ]
    return Health(items, errors, recent)


@bp.app_template_global()
def integration_health() -> Health | None:
    """The indicator's data for this request (None when nobody is signed in, or when the
    database cannot be read: an error page must still render)."""
    if not current_user or not current_user.is_authenticated:
        return None
    if "integration_health" not in g:
        try:
            g.integration_health = load_health(current_user)
        except SQLAlchemyError:
            current_app.logger.exception("the integration indicator could not be read")
            db.session.rollback()
            g.integration_health = None
    return g.integration_health  # type: ignore[no-any-return]


# Pages that show the error banner (integration-health.md: order pages, Settings →
# Integration, the sync pages).
BANNER_ENDPOINTS = frozenset(
    {
        "integrations.settings",
        "integrations.save_settings",
        "integrations.order_preview",
        "health.runs",
        "health.run",
    }
)
BANNER_SECTIONS = frozenset({"orders", "fortnox_send"})


@bp.app_template_global()
def shows_health_banner() -> bool:
    endpoint = request.endpoint or ""
    return endpoint in BANNER_ENDPOINTS or endpoint.split(".")[0] in BANNER_SECTIONS


@bp.app_template_filter("headline")
def headline(message: str | None) -> str:
    """The first sentence of an error message: the banner's one line (the dialog has all)."""
    text = (message or "").strip()
    cut = text.find(". ")
    return text[: cut + 1] if cut > 0 else text


@bp.app_template_global()
def count_label(key: str) -> str:
    return str(COUNT_LABELS[key])


@bp.app_template_global()
def register_name(part: str) -> str:
    return register_label(part)


# --- helpers for the pages ------------------------------------------------------------------------


def _subgroup_id() -> int | None:
    raw = request.values.get("subgroup_id") or ""
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 10 or db.session.get(Subgroup, int(raw)) is None:
        abort(404)
    return int(raw)


def _local_target(target: str | None) -> str | None:
    """A local path to go back to, never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if urlsplit(target).netloc or "\\" in target:
        return None
    return target


def _settings_url(integration: FortnoxIntegration | None, anchor: str = "") -> str:
    subgroup_id = integration.subgroup_id if integration is not None else None
    return url_for("integrations.settings", subgroup_id=subgroup_id) + anchor


def _paged(query: Select[Any], param: str, per_page: int) -> Page:
    raw = request.args.get(param, "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, page=number, per_page=per_page, total=total or 0)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@dataclass
class RunView:
    """A sync run as the pages show it."""

    run: SyncRun
    started_by: str | None

    @property
    def trigger_label(self) -> str:
        return str(TRIGGER_LABELS.get(self.run.trigger, self.run.trigger))

    @property
    def status_label(self) -> str:
        return str(RUN_STATUS_LABELS[self.run.status])

    @property
    def duration(self) -> str:
        run = self.run
        end = run.finished_at or (run.heartbeat_at if run.status == SyncRunStatus.RUNNING else None)
        return duration_text((end - run.started_at).total_seconds()) if end else ""

    @property
    def summary(self) -> str | None:
        """The run's closing line ("Hämtade 2 300 artiklar och 412 kunder på 38 s"); for a run
        that failed, what it could not fetch (and what it did fetch, if anything)."""
        run = self.run
        if run.status == SyncRunStatus.RUNNING:
            return None
        line = None
        for entry in reversed(run.log or []):
            text = str(entry.get("text", ""))
            if not entry.get("part") and text.startswith(("Hämtade", "Hittade")):
                line = text
                break
        if line is None and run.finished_at is not None:
            line = sync.summary(run, (run.finished_at - run.started_at).total_seconds())
        if line and line.endswith(" s"):
            line = line[:-2] + "\u00a0s"  # "38 s" never breaks
        if run.status != SyncRunStatus.FAILED:
            return line
        failed = [
            part
            for part in dict.fromkeys(
                str(entry.get("part", ""))
                for entry in run.log or []
                if str(entry.get("text", "")).startswith("Fel:")
            )
            if part in sync.NOUNS
        ]
        if not failed:
            return _("Synkningen misslyckades.")
        nouns = [sync.NOUNS[part][1] for part in failed]
        what = nouns[0] if len(nouns) == 1 else ", ".join(nouns[:-1]) + " och " + nouns[-1]
        refused = _("Kunde inte hämta %(what)s.", what=what)
        if line and line.startswith("Hämtade"):
            return f"{line}. {refused}"
        return refused

    @property
    def part_counts(self) -> list[tuple[str, dict[str, int]]]:
        counts = self.run.counts or {}
        return [
            (part, {k: int(counts.get(part, {}).get(k, 0)) for k in sync.COUNT_KEYS})
            for part in self.run.parts or []
        ]

    @property
    def failures(self) -> list[str]:
        """The records that failed (named in the log) and the reasons parts failed."""
        return [
            str(entry.get("text", ""))
            for entry in self.run.log or []
            if str(entry.get("text", "")).startswith(("Misslyckades:", "Fel:"))
        ]


def live_run(integration: FortnoxIntegration) -> SyncRun | None:
    """The integration's running sync, unless its worker has died (no heartbeat for
    sync.STALE_AFTER): then "Synka nu" is offered again, and starting marks the dead one
    failed."""
    running = sync.running(integration)
    if running is None:
        return None
    beat = running.heartbeat_at or running.started_at
    return running if beat > datetime.now(UTC) - sync.STALE_AFTER else None


def _run_views(runs: list[SyncRun]) -> list[RunView]:
    user_ids = {run.started_by_id for run in runs if run.started_by_id}
    names = (
        dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    return [
        RunView(run, names.get(run.started_by_id) if run.started_by_id else None) for run in runs
    ]


def settings_context(integration: FortnoxIntegration) -> dict[str, Any]:
    """What Settings → Integration shows of the integration's health: the registers, the
    running sync or the last one, the schedule."""
    if integration.id is None:
        return {
            "registers": [_register_row(part, None, set()) for part in REGISTER_ORDER],
            "running_run": None,
            "last_run": None,
            "implemented": implemented_parts(),
        }
    by_part = {row["part"]: row for row in sync.register_rows(integration)}
    failing = {
        error.operation.removeprefix("sync:")
        for error in services.open_errors(integration)
        if error.operation.startswith("sync:")
    }
    running = live_run(integration)
    last = db.session.scalar(
        select(SyncRun)
        .where(SyncRun.integration_id == integration.id, SyncRun.status != SyncRunStatus.RUNNING)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    views = _run_views([r for r in (running, last) if r is not None])
    return {
        "registers": [_register_row(part, by_part.get(part), failing) for part in REGISTER_ORDER],
        "running_run": views[0] if running is not None else None,
        "last_run": views[-1] if last is not None else None,
        "implemented": implemented_parts(),
        "feed": feed.status(),
    }


def _register_row(part: str, row: dict[str, Any] | None, failing: set[str]) -> dict[str, Any]:
    """A register's row: last fetched, records, and the result — red while its fetch has an
    open error or the last fetch failed, green after a good one, none before the first."""
    fetched = row is not None and row["synced_at"] is not None
    ok: bool | None = None
    if part in failing or (row is not None and row["ok"] is False):
        ok = False
    elif fetched:
        ok = True
    return {
        "part": part,
        "label": register_label(part),
        "implemented": part in sync._PARTS,
        "synced_at": row["synced_at"] if row else None,
        "records": row["records"] if row else 0,
        "ok": ok,
    }


# --- the error dialog -----------------------------------------------------------------------------


def _error_or_404(error_id: int) -> tuple[IntegrationError, FortnoxIntegration]:
    error = db.get_or_404(IntegrationError, error_id)
    integration = db.get_or_404(FortnoxIntegration, error.integration_id)
    if not _visible_to(current_user, integration.subgroup_id):
        abort(404)
    return error, integration


def _failed_orders(integration: FortnoxIntegration) -> tuple[int, list[Order]]:
    """The orders of this integration whose send failed, as far as the user may see them:
    how many, and the latest few."""
    from app.orders.services import visible_orders

    sent_here = select(FortnoxSend.order_id).where(FortnoxSend.integration_id == integration.id)
    query = visible_orders(current_user).where(
        Order.fortnox_state == FortnoxState.FAILED, Order.id.in_(sent_here)
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    shown = list(db.session.scalars(query.order_by(Order.updated_at.desc()).limit(AFFECTED_SHOWN)))
    return total, shown


def _part_of(error: IntegrationError) -> str | None:
    if error.operation.startswith("sync:"):
        part = error.operation.removeprefix("sync:")
        return part if part in sync.PARTS else None
    return None


@bp.get("/integration/errors/<int:error_id>")
@login_required
def error_page(error_id: int) -> ResponseReturnValue:
    """The dialog: what happened, when, what it affects, and the fixes in the order that
    usually works. A technician may read it; only admin and office act (the page says who)."""
    error, integration = _error_or_404(error_id)
    affected_total, affected = 0, list[Order]()
    if error.operation == SEND_OPERATION:
        affected_total, affected = _failed_orders(integration)
    resolver = db.session.get(User, error.resolved_by_id) if error.resolved_by_id else None
    part = _part_of(error)
    fetch_parts = [part] if part and part in sync._PARTS else implemented_parts()
    running = live_run(integration) if integration.encrypted_tokens else None
    back = _local_target(request.args.get("next")) or _local_target(_referrer_path())
    return render_template(
        "integrations/error.html",
        error=error,
        integration=integration,
        affected=affected,
        affected_total=affected_total,
        resolver=resolver,
        part=part,
        fetch_parts=fetch_parts,
        running=running,
        back=back or url_for("orders.index"),
        is_send=error.operation == SEND_OPERATION,
        is_token=error.operation in (services.TOKEN_OPERATION, "connection"),
        is_feed=error.operation == feed.FEED_OPERATION,
    )


def _referrer_path() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc and parts.netloc != request.host:
        return None
    if parts.path == request.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.post("/integration/errors/<int:error_id>/resolve")
@admin_required
def resolve(error_id: int) -> ResponseReturnValue:
    """ "Åtgärdat": an admin marks the error resolved by hand; the history keeps who."""
    error, integration = _error_or_404(error_id)
    if error.resolved_at is not None:
        flash(_("Problemet är redan åtgärdat."), "info")
    else:
        services.resolve_errors(integration, error.operation, by=current_user)
        db.session.commit()
        flash(_("Problemet är markerat som åtgärdat."), "success")
    target = _local_target(request.form.get("next"))
    return redirect(target or url_for(".error_page", error_id=error.id))


@bp.post("/integration/errors/<int:error_id>/restart-feed")
@staff_required
def restart_feed(error_id: int) -> ResponseReturnValue:
    """ "Uppdatera" on a change-feed error: the listener reconnects now instead of waiting
    for its next try; a connection that works resolves the error by itself."""
    error, _integration = _error_or_404(error_id)
    if feed.request_restart():
        flash(_("Ändringsflödet ansluts igen. Det tar några sekunder."), "success")
    else:
        flash(
            _(
                "Ändringsflödet körs inte på servern (flask fortnox feed). Ändringar kommer "
                "med timsynkningen tills driften har startat det."
            ),
            "error",
        )
    db.session.commit()
    return redirect(url_for(".error_page", error_id=error.id))


# --- syncs from the pages -------------------------------------------------------------------------


@bp.post("/settings/integration/sync")
@staff_required
def start() -> ResponseReturnValue:
    """ "Synka nu" (every part that is built) and "Hämta" (one register: ``part``). Never a
    second sync of the same integration: start_sync refuses, and the page says so."""
    subgroup_id = _subgroup_id()
    integration = services.integration_for_subgroup(subgroup_id)
    wanted = request.form.getlist("part")
    if len(wanted) > len(sync.PARTS) or any(p not in sync.PARTS for p in wanted):
        abort(400)
    target = _local_target(request.form.get("next"))
    if integration is None or not integration.encrypted_tokens:
        flash(_("Fortnox är inte anslutet."), "error")
        return redirect(target or _settings_url(integration))
    try:
        run = sync.start_sync(integration, wanted or None, trigger="manual", by=current_user)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(target or _settings_url(integration, "#sync"))
    except ValidationFailed:
        db.session.rollback()
        flash(_("Den delen kan inte hämtas än."), "error")
        return redirect(target or _settings_url(integration, "#sync"))
    db.session.commit()
    sync.enqueue_sync(run)
    if target:
        return redirect(target)
    if current_user.is_admin:
        return redirect(_settings_url(integration, "#sync"))
    return redirect(url_for(".run", run_id=run.id))


def _run_or_404(run_id: int) -> SyncRun:
    return db.get_or_404(SyncRun, run_id)


@bp.get("/settings/integration/sync/<int:run_id>")
@staff_required
def run(run_id: int) -> ResponseReturnValue:
    """One run: its log lines (live while it runs), counts per part and failed records."""
    found = _run_or_404(run_id)
    integration = db.session.get(FortnoxIntegration, found.integration_id)
    (view,) = _run_views([found])
    return render_template("integrations/run.html", view=view, integration=integration)


@bp.get("/settings/integration/sync/<int:run_id>.json")
@staff_required
def run_json(run_id: int) -> ResponseReturnValue:
    """A run as JSON for the page that follows it (about once a second while it runs)."""
    found = _run_or_404(run_id)
    (view,) = _run_views([found])
    log = list(found.log or [])
    response = jsonify(
        {
            "id": found.id,
            "status": found.status.value,
            "status_label": view.status_label,
            "running": found.status == SyncRunStatus.RUNNING,
            "log_total": len(log),
            "log": [
                {"time": _clock(entry.get("at")), "text": entry.get("text", "")}
                for entry in log[-LOG_LINES_POLLED:]
            ],
            "summary": view.summary,
            "counts": found.counts or {},
        }
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _clock(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return ""
    return format_datetime(moment, "HH:mm:ss")


@bp.app_template_filter("clock")
def clock_filter(value: Any) -> str:
    return _clock(value)


@bp.get("/settings/integration/runs")
@staff_required
def runs() -> ResponseReturnValue:
    """Settings → Synk: every run (trigger, who, start, end, duration, counts per part) and
    the history of errors, resolved ones too."""
    subgroup_id = _subgroup_id()
    integration = services.integration_for_subgroup(subgroup_id)
    subgroups = db.session.scalars(select(Subgroup).order_by(Subgroup.name)).all()
    run_page = errors_page = None
    resolvers: dict[int, str] = {}
    if integration is not None:
        run_page = _paged(
            select(SyncRun)
            .where(SyncRun.integration_id == integration.id)
            .order_by(SyncRun.id.desc()),
            "page",
            20,
        )
        run_page.items = _run_views(run_page.items)
        errors_page = _paged(
            select(IntegrationError)
            .where(IntegrationError.integration_id == integration.id)
            .order_by(IntegrationError.last_at.desc(), IntegrationError.id.desc()),
            "errors_page",
            10,
        )
        ids = {e.resolved_by_id for e in errors_page.items if e.resolved_by_id}
        if ids:
            resolvers = dict(
                db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()
            )
    return render_template(
        "integrations/runs.html",
        integration=integration,
        subgroups=subgroups,
        subgroup_id=subgroup_id,
        run_page=run_page,
        errors_page=errors_page,
        resolvers=resolvers,
    )


@bp.post("/settings/integration/schedule")
@admin_required
def schedule() -> ResponseReturnValue:
    """ "Synkning varje timme" and "Nattlig synkronisering"."""
    integration = services.get_or_create_integration(_subgroup_id())
    integration.hourly_sync = request.form.get("hourly_sync") == "y"
    integration.nightly_sync = request.form.get("nightly_sync") == "y"
    db.session.commit()
    flash(_("Schemat är sparat."), "success")
    return redirect(_settings_url(integration, "#schedule"))


@bp.post("/settings/integration/clear")
@admin_required
def clear() -> ResponseReturnValue:
    """ "Töm synkad data" after typing TÖM: the registers, links, cursors and sync history
    cached from Fortnox. Orders, customers and articles stay."""
    integration = services.integration_for_subgroup(_subgroup_id())
    if integration is None:
        abort(404)
    typed = (request.form.get("confirm") or "").strip().upper()
    if typed != CONFIRM_CLEAR:
        flash(_("Skriv TÖM i rutan för att tömma den synkade datan."), "error")
        return redirect(_settings_url(integration, "#clear"))
    if sync.running(integration) is not None:
        flash(_("En synkning pågår. Töm den synkade datan när den är klar."), "error")
        return redirect(_settings_url(integration, "#clear"))
    sync.clear_synced_data(integration)
    db.session.commit()
    flash(
        _("Den synkade datan är tömd. Ordrar, kunder och artiklar finns kvar."),
        "success",
    )
    return redirect(_settings_url(integration, "#sync"))


# --- the first sign-in of the day -----------------------------------------------------------------


def refresh_on_login(user: User) -> list[SyncRun]:
    """At the first successful sign-in of the day (the organisation's date) of a user whose
    role may run syncs and who has "Hämta från Fortnox vid första inloggningen varje dag" on:
    start a sync (trigger first_login, the parts that are built) of every connected
    integration that is not syncing already. Once per user per day; never fails the sign-in."""
    try:
        return _refresh_on_login(user)
    except Exception:  # the sign-in goes on whatever happens here
        current_app.logger.exception("first-login sync for user %s failed to start", user.id)
        db.session.rollback()
        return []


def _refresh_on_login(user: User) -> list[SyncRun]:
    if not current_app.config.get("FORTNOX_LOGIN_REFRESH", True):
        return []
    if user.role not in SYNC_ROLES or not user.fortnox_refresh_on_login:
        return []
    today = local_today()
    if user.last_login_refresh_on == today:
        return []
    # Claim the day in one UPDATE, so two sign-ins at once start one sync.
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.last_login_refresh_on.is_(None), User.last_login_refresh_on != today),
        )
        .values(last_login_refresh_on=today)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not getattr(claimed, "rowcount", 0):
        return []
    started: list[SyncRun] = []
    for integration in services.all_integrations():
        if not integration.encrypted_tokens or sync.running(integration) is not None:
            continue
        try:
            run = sync.start_sync(integration, None, trigger="first_login", by=user)
        except (Conflict, ValidationFailed):
            db.session.rollback()
            continue
        db.session.commit()
        started.append(run)
    for run in started:
        sync.enqueue_sync(run)
    return started


__all__ = [
    "Health",
    "IndicatorItem",
    "bp",
    "integration_health",
    "load_health",
    "refresh_on_login",
    "settings_context",
]
