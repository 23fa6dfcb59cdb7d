"""Registers going to Fortnox: a customer or an article changed here, sent through an outbox
like an order send (fortnox-settings.md §8; issue #15; docs/sync.md "Registers going to
Fortnox").

* :func:`queue_customer` / :func:`queue_article` are called by the customer and article
  services whenever a record is saved (the web forms and the API go through them; a sync from
  Fortnox writes in bulk and never does, so nothing that came in is pushed back). They decide by
  the integration's settings whether the record goes to Fortnox and record a pending
  :class:`FortnoxRegisterPush` in the caller's transaction (flushed, never committed). At most
  one push per integration, kind and key is pending: saving a record ten times before it is
  sent gives one push, and the job sends the record as it is when the job runs.
* After the caller's commit the new pushes are put on the job queue (a session event; a push
  recorded in a transaction that is rolled back is never enqueued). When the queue cannot be
  reached the push stays pending and :func:`sweep` enqueues it later.
* :func:`run_push` (the job) claims the push with a lease like a send (never two workers on one
  push, nor on two pushes of the same record), updates the record in Fortnox or creates it
  there, links it (:class:`FortnoxLink`) and marks the push done. A refusal ends the push as
  failed with the reason and records an integration error (``push:customer`` /
  ``push:article``); transient failures are retried with the send's back-off. A later success
  resolves the error once no other record of that kind stands failed.

Rules (§8): ``sync_updated_customers`` sends a customer changed here at once, when
``customer_sync_tag`` is set only a customer carrying that tag; the tag being added to a
customer sends it (also with ``sync_updated_customers`` off: removing and re-adding the tag
re-sends the customer). ``sync_updated_articles`` sends an article changed here at once;
``disable_article_creation`` keeps every article from going to Fortnox. A customer goes to
the integration that would send its orders (its subgroup's, else the organisation-wide one);
an article, having no subgroup, to every connected integration whose settings send it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import event, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, aliased

from app.articles.models import Article
from app.auth.models import User
from app.customers.models import Customer
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.errors import (
    FortnoxAuthorizationRevoked,
    FortnoxError,
    FortnoxNotFound,
    FortnoxUncertainError,
)
from app.integrations.fortnox.outbox import Failed, Outbox, Postponed, job_options
from app.integrations.fortnox.sending import (
    TRANSIENT,
    article_payload,
    customer_payload,
    link,
    raise_unless_created,
    unlink,
)
from app.integrations.fortnox.settings import FortnoxSettings
from app.integrations.models import FortnoxIntegration, FortnoxRegisterPush, PushStatus
from app.jobs import enqueue

CUSTOMER = "customer"
ARTICLE = "article"
KINDS = (CUSTOMER, ARTICLE)

# A push is a GET-less PUT, or a PUT, a POST and perhaps a GET: a minute is plenty. The lease
# outlasts the job's timeout, so a worker still holding a push is never overtaken.
JOB_TIMEOUT_SECONDS = 60
LEASE = timedelta(seconds=JOB_TIMEOUT_SECONDS + 30)
JOB_OPTIONS = job_options(JOB_TIMEOUT_SECONDS)  # retried with the send's back-off
# A push whose record is being sent by another worker waits this long before it is due again.
BUSY_WAIT = timedelta(seconds=15)
OUTBOX = Outbox(FortnoxRegisterPush, PushStatus, lease=lambda: LEASE, noun="push")

_QUEUED = "fortnox_pushes_to_enqueue"  # Session.info: push id → owner (user id), until commit


def operation(kind: str) -> str:
    """The IntegrationError operation of a kind's pushes."""
    return f"push:{kind}"


def _now() -> datetime:
    return datetime.now(UTC)


# --- deciding and recording -------------------------------------------------------------------


def customer_integrations(customer: Customer) -> list[FortnoxIntegration]:
    """The integration a customer goes to: the one that sends its subgroup's orders (the
    subgroup's own if connected, else the organisation-wide one, as for an order)."""
    candidates = []
    if customer.subgroup_id is not None:
        candidates.append(services.integration_for_subgroup(customer.subgroup_id))
    candidates.append(services.integration_for_subgroup(None))
    for integration in candidates:
        if integration is not None and integration.encrypted_tokens:
            return [integration]
    return []


def article_integrations() -> list[FortnoxIntegration]:
    """Articles are shared by every subgroup: every connected integration."""
    return [i for i in services.all_integrations() if i.encrypted_tokens]


def _tag_of(settings: FortnoxSettings) -> str:
    return settings.customer_sync_tag.strip().casefold()


def _carries(customer: Customer, tag: str) -> bool:
    return tag in {t.name.strip().casefold() for t in customer.tags}


def customer_wanted(
    customer: Customer, settings: FortnoxSettings, *, tags_added: Iterable[str] = ()
) -> bool:
    """Whether saving ``customer`` sends it to Fortnox under ``settings`` (§8).
    ``tags_added``: the tag names this save gave the customer (a new one: all its tags)."""
    tag = _tag_of(settings)
    if not tag:
        return settings.sync_updated_customers
    if not _carries(customer, tag):
        return False
    # The tag just added sends it: removing and re-adding the tag re-sends the customer.
    return settings.sync_updated_customers or tag in {t.strip().casefold() for t in tags_added}


def article_wanted(settings: FortnoxSettings) -> bool:
    return settings.sync_updated_articles and not settings.disable_article_creation


def queue_customer(
    customer: Customer, by: User | None = None, *, tags_added: Iterable[str] = ()
) -> list[FortnoxRegisterPush]:
    """Record a push of ``customer`` to each integration whose settings send it now (see
    :func:`customer_wanted`); flushes, the caller commits, the job is enqueued after the
    commit. Returns the pending pushes (an existing pending one is reused)."""
    added = list(tags_added)
    return [
        _record(integration, CUSTOMER, customer.customer_number, by)
        for integration in customer_integrations(customer)
        if customer_wanted(customer, services.settings_of(integration), tags_added=added)
    ]


def queue_article(article: Article, by: User | None = None) -> list[FortnoxRegisterPush]:
    """Record a push of ``article`` to each connected integration with
    ``sync_updated_articles`` on and ``disable_article_creation`` off; as :func:`queue_customer`."""
    return [
        _record(integration, ARTICLE, article.article_number, by)
        for integration in article_integrations()
        if article_wanted(services.settings_of(integration))
    ]


def pending_push(integration_id: int, kind: str, key: str) -> FortnoxRegisterPush | None:
    return db.session.scalar(
        select(FortnoxRegisterPush).where(
            FortnoxRegisterPush.integration_id == integration_id,
            FortnoxRegisterPush.kind == kind,
            FortnoxRegisterPush.key == key,
            FortnoxRegisterPush.status == PushStatus.PENDING,
        )
    )


def _record(
    integration: FortnoxIntegration, kind: str, key: str, by: User | None
) -> FortnoxRegisterPush:
    existing = pending_push(integration.id, kind, key)
    if existing is not None:
        # Its job is queued already and sends the latest state, unless a worker claims it at
        # this moment (it may read the record before this save commits): only a push still
        # pending is reused, and the row lock taken here makes a claim wait for the commit.
        touched = db.session.execute(  # type: ignore[attr-defined]
            update(FortnoxRegisterPush)
            .where(
                FortnoxRegisterPush.id == existing.id,
                FortnoxRegisterPush.status == PushStatus.PENDING,
            )
            .values(updated_at=_now())
        ).rowcount
        if touched:
            return existing
    push = FortnoxRegisterPush(
        integration_id=integration.id, kind=kind, key=key, status=PushStatus.PENDING
    )
    try:
        with db.session.begin_nested():
            db.session.add(push)
    except IntegrityError:  # recorded by a concurrent save at the same moment
        existing = pending_push(integration.id, kind, key)
        if existing is None:
            raise
        return existing
    session = db.session()
    session.info.setdefault(_QUEUED, {})[push.id] = by.id if by is not None else None
    return push


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    """The pushes recorded in the committed transaction go on the job queue. A queue that
    cannot be reached loses nothing: the push stays pending for :func:`sweep`."""
    if session.in_nested_transaction():  # a savepoint: the real commit comes later
        return
    queued = session.info.pop(_QUEUED, None)
    for push_id, owner_id in (queued or {}).items():
        try:
            enqueue(run_push, push_id, options=JOB_OPTIONS, owner_id=owner_id)
        except Exception:  # logged; the sweeper enqueues it
            current_app.logger.exception("could not enqueue Fortnox push %s", push_id)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without a commit took its pushes with it."""
    if transaction.parent is None:
        session.info.pop(_QUEUED, None)


# --- the job ----------------------------------------------------------------------------------


class PushFailed(Failed):
    """A push that cannot succeed as things are: the reason in Swedish, and the Fortnox error
    that refused it (if one did)."""

    def __init__(self, message: str, *, fortnox: FortnoxError | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fortnox = fortnox


class PushPostponed(Postponed):
    """A transient failure: the push goes back to the queue."""


def _commit(push_id: int) -> None:
    """Commit the job's work on a push while this worker still holds it, ending the lease;
    LostClaim when another worker has taken it (:meth:`Outbox.commit`)."""
    OUTBOX.commit(push_id, release=True)


def run_push(push_id: int) -> dict[str, Any]:
    """The push job: safe to run twice, by two workers at once, or after a worker died
    (:meth:`Outbox.run`). Succeeded: "done", or "skipped" when there was nothing to send."""
    return OUTBOX.run(push_id, claim=_claim, perform=_perform_job, fail=_fail, postpone=_postpone)


def _perform_job(push: FortnoxRegisterPush) -> dict[str, Any]:
    return {"status": "skipped" if _perform(push) else "done"}


def _claim(push_id: int) -> bool:
    """Take the push for this worker: pending and due, or sending with a lease run out; never
    while another push of the same record is being sent (the later one waits for it, so
    Fortnox ends with our latest state)."""
    now = _now()
    push = FortnoxRegisterPush
    sibling = aliased(FortnoxRegisterPush)
    busy = exists().where(
        sibling.integration_id == push.integration_id,
        sibling.kind == push.kind,
        sibling.key == push.key,
        sibling.id != push.id,
        sibling.status == PushStatus.SENDING,
        sibling.lease_until >= now,
    )
    if not OUTBOX.claim(push_id, now=now, unless=busy):
        # Held back by a push of the same record: due again shortly (the sweeper takes it).
        db.session.execute(
            update(push)
            .where(push.id == push_id, push.status == PushStatus.PENDING, busy)
            .values(next_attempt_at=now + BUSY_WAIT)
        )
        db.session.commit()
        return False
    db.session.commit()
    return True


def record_of(kind: str, key: str) -> Customer | Article | None:
    """Our customer or article with this number (None: removed or renumbered since)."""
    if kind == CUSTOMER:
        return db.session.scalar(select(Customer).where(Customer.customer_number == key))
    return db.session.scalar(select(Article).where(Article.article_number == key))


def _perform(push: FortnoxRegisterPush) -> bool:
    """Send the record; True when there was nothing to send any more (skipped)."""
    integration = push.integration
    if not integration.encrypted_tokens:
        raise PushFailed(
            "Fortnox-integrationen är inte ansluten. En administratör ansluter igen under "
            "Inställningar → Integration."
        )
    settings = services.settings_of(integration)
    record = record_of(push.kind, push.key)
    if record is None or not _still_wanted(push.kind, record, settings):
        _finish(push, PushStatus.SKIPPED)
        return True
    payload = (
        customer_payload(record)
        if isinstance(record, Customer)
        else _article_payload(record, settings)
    )
    client = services.client_for(integration)
    try:
        _put(client, push.kind, push.key, payload, integration.id)
    except FortnoxError as exc:
        if isinstance(exc, TRANSIENT):
            raise PushPostponed(str(exc)) from exc
        what = "Kunden" if push.kind == CUSTOMER else "Artikeln"
        raise PushFailed(
            f"{what} {push.key} kunde inte skickas till Fortnox. {exc.user_message}",
            fortnox=exc,
        ) from exc
    finally:
        client.close()
    link(integration.id, push.kind, push.key)
    _finish(push, PushStatus.DONE)
    if _standing_failures(integration.id, push.kind, besides=push.key) == 0:
        services.resolve_errors(integration, operation(push.kind), by=None)
    _commit(push.id)
    return False


def _still_wanted(kind: str, record: Customer | Article, settings: FortnoxSettings) -> bool:
    """Settings may have changed since the push was recorded: a customer without the sync tag,
    or any article under ``disable_article_creation``, is never sent (§8)."""
    if isinstance(record, Customer):
        tag = _tag_of(settings)
        return not tag or _carries(record, tag)
    return not settings.disable_article_creation


def _article_payload(article: Article, settings: FortnoxSettings) -> dict[str, Any]:
    """The send's article payload; under ``sync_prices`` prices follow articles both ways
    (§8), so the price goes with it (``SalesPrice``, which the sync reads back)."""
    payload = article_payload(article)
    if settings.sync_prices:
        payload["SalesPrice"] = float(article.price or 0)
    return payload


def _put(client: Any, kind: str, key: str, payload: dict[str, Any], integration_id: int) -> None:
    """Update the record in Fortnox, or create it there when Fortnox lacks it. An uncertain
    create is checked with a GET (never created blindly twice); a create refused because the
    number is taken (another worker created it meanwhile) becomes an update when the record is
    there after all."""
    if kind == CUSTOMER:
        get, create, put = client.get_customer, client.create_customer, client.update_customer
        number_field = "CustomerNumber"
    else:
        get, create, put = client.get_article, client.create_article, client.update_article
        number_field = "ArticleNumber"
    changes = {k: v for k, v in payload.items() if k != number_field}
    try:
        put(key, changes)
        return
    except FortnoxNotFound:
        unlink(integration_id, kind, [key])
    try:
        create(payload)
    except FortnoxUncertainError as uncertain:
        raise_unless_created(get, key, uncertain)
    except FortnoxError as refused:
        if isinstance(refused, TRANSIENT):
            raise
        try:
            get(key)
        except FortnoxNotFound:
            raise refused from None
        put(key, changes)


def _finish(push: FortnoxRegisterPush, status: PushStatus) -> None:
    push.status = status
    push.finished_at = _now()
    push.next_attempt_at = None
    push.error_code = None
    push.error_message = None
    if status == PushStatus.SKIPPED:
        _commit(push.id)


def _standing_failures(integration_id: int, kind: str, *, besides: str | None = None) -> int:
    """How many records of ``kind`` stand failed for the integration: their latest push
    failed and the record is still ours (a record renumbered or removed since, or sent
    successfully later, no longer counts)."""
    later = aliased(FortnoxRegisterPush)
    push = FortnoxRegisterPush
    newer_exists = exists().where(
        later.integration_id == push.integration_id,
        later.kind == push.kind,
        later.key == push.key,
        later.id > push.id,
    )
    model: Any = Customer if kind == CUSTOMER else Article
    number = model.customer_number if kind == CUSTOMER else model.article_number
    query = select(func.count(func.distinct(push.key))).where(
        push.integration_id == integration_id,
        push.kind == kind,
        push.status == PushStatus.FAILED,
        ~newer_exists,
        exists().where(number == push.key),
    )
    if besides is not None:
        query = query.where(push.key != besides)
    return db.session.scalar(query) or 0


def _fail(push_id: int, exc: PushFailed) -> None:
    """The push failed for good: the reason on the push, an integration error."""
    db.session.rollback()
    push = db.session.get(FortnoxRegisterPush, push_id)
    assert push is not None
    push.status = PushStatus.FAILED
    push.finished_at = _now()
    push.next_attempt_at = None
    fortnox = exc.fortnox
    push.error_code = str(fortnox.code) if fortnox is not None and fortnox.code else None
    push.error_message = _with_fortnox(exc)
    db.session.flush()
    integration = push.integration
    if isinstance(fortnox, FortnoxAuthorizationRevoked):
        services.record_fortnox_failure(integration, operation(push.kind), fortnox)
    else:
        failed = _standing_failures(integration.id, push.kind)
        if push.kind == CUSTOMER:
            summary = "1 kund" if failed == 1 else f"{failed} kunder"
        else:
            summary = "1 artikel" if failed == 1 else f"{failed} artiklar"
        services.record_error(
            integration,
            operation(push.kind),
            f"{summary} kunde inte skickas till Fortnox. Senast: {exc.message}",
            fortnox_code=fortnox.code if fortnox is not None else None,
            fortnox_message=fortnox.message if fortnox is not None else None,
        )
    _commit(push_id)
    current_app.logger.info("push %s of %s %s failed: %s", push_id, push.kind, push.key, exc)


def _with_fortnox(exc: PushFailed) -> str:
    fortnox = exc.fortnox
    if fortnox is not None and fortnox.message and fortnox.message not in exc.message:
        code = f" (kod {fortnox.code})" if fortnox.code is not None else ""
        return f"{exc.message} Fortnox: {fortnox.message}{code}"
    return exc.message


def _postpone(push_id: int, reason: str) -> bool:
    """A transient failure: back to the queue with the send's back-off (True), or failed
    after the last try (False)."""
    if OUTBOX.requeue(push_id, reason) is None:
        _fail(
            push_id,
            PushFailed(
                f"Fortnox svarade inte efter flera försök. Försök igen om en stund. ({reason})"
            ),
        )
        return False
    try:
        _commit(push_id)
    except IntegrityError:
        # The record was saved again meanwhile: that pending push sends the latest state.
        db.session.rollback()
        push = db.session.get(FortnoxRegisterPush, push_id)
        assert push is not None
        push.status = PushStatus.SKIPPED
        push.finished_at = _now()
        _commit(push_id)
    return True


def sweep(*, limit: int = 200) -> int:
    """Re-enqueue pushes that are due (:meth:`Outbox.sweep`): a retry whose time has come, a
    pending push nobody took within SWEEP_GRACE, or a push whose worker died. Returns how
    many were enqueued."""
    return OUTBOX.sweep(run_push, JOB_OPTIONS, limit=limit)
