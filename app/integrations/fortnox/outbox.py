"""The bookkeeping every Fortnox outbox job shares: order sends (:mod:`.sending`, the
:class:`FortnoxSend` rows) and register pushes (:mod:`.pushing`, the
:class:`FortnoxRegisterPush` rows).

A row is worked on by one worker at a time. :meth:`Outbox.claim` takes it with a lease and a
random claim token; every later write of the job goes through :meth:`Outbox.commit`, which
commits only while the row still carries this worker's token (a worker that outlived its lease
and was overtaken writes nothing: :class:`LostClaim`). :meth:`Outbox.run` is the job around
the domain's own work, :meth:`Outbox.requeue` the back-off after a transient failure and
:meth:`Outbox.sweep` re-enqueues what is due. What a send or a push *does* — and what it
records on failure — stays in its own module.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select, update

from app.extensions import db
from app.integrations.models import (
    FortnoxRegisterPush,
    FortnoxSend,
    PushStatus,
    SendStatus,
)
from app.jobs import JobOptions, enqueue

# A transient failure is retried by RQ after these waits (the same ones are recorded as the
# row's next_attempt_at, which the sweeper honours); after MAX_ATTEMPTS the row has failed.
BACKOFF_SECONDS = (10, 60, 300)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
SWEEP_GRACE = timedelta(minutes=2)  # a pending row's job normally runs well within this


class LostClaim(Exception):
    """Another worker has taken the row (this one outlived its lease): write nothing."""


class Failed(Exception):
    """The row's work cannot succeed as things are: the row fails (the reason, in Swedish, is
    the exception's text)."""


class Postponed(Exception):
    """A transient failure: the row goes back to the queue."""


def job_options(timeout_seconds: int) -> JobOptions:
    """RQ's options for an outbox job: retried after each of BACKOFF_SECONDS."""
    return JobOptions(
        retries=len(BACKOFF_SECONDS), intervals=BACKOFF_SECONDS, timeout=timeout_seconds
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """One outbox table: ``model`` with ``status``, ``attempts``, ``lease_until``,
    ``claim_token``, ``next_attempt_at`` and ``created_at``; ``statuses`` its status enum, whose
    PENDING is a row waiting and SENDING a row being worked on; ``lease`` says how long a claim
    holds; ``noun`` names a row in logs and in the job's result (``"send"`` → ``send_id``)."""

    def __init__(
        self,
        model: type[FortnoxSend] | type[FortnoxRegisterPush],
        statuses: type[SendStatus] | type[PushStatus],
        *,
        lease: Callable[[], timedelta],
        noun: str,
    ) -> None:
        self.model = model
        self.pending = statuses.PENDING
        self.sending = statuses.SENDING
        self.lease = lease
        self.noun = noun
        # The claim this thread holds on each row it works on (a job runs in one thread).
        self._claims = threading.local()

    def _tokens(self) -> dict[int, str]:
        if not hasattr(self._claims, "tokens"):
            self._claims.tokens = {}
        tokens: dict[int, str] = self._claims.tokens
        return tokens

    def claim(
        self, row_id: int, *, now: datetime, unless: ColumnElement[bool] | None = None
    ) -> bool:
        """Take the row for this worker: pending and due, or being worked on with a lease run
        out (its worker died), and not ``unless``. Counts the attempt, starts the lease and
        remembers the claim token; flushes only: the caller commits (or rolls back when the
        row was not taken, False)."""
        model = self.model
        conditions: list[ColumnElement[bool]] = [
            model.id == row_id,
            or_(
                (model.status == self.pending)
                & or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
                (model.status == self.sending) & (model.lease_until < now),
            ),
        ]
        if unless is not None:
            conditions.append(~unless)
        token = uuid.uuid4().hex
        claimed = db.session.execute(  # type: ignore[attr-defined]
            update(model)
            .where(*conditions)
            .values(
                status=self.sending,
                lease_until=now + self.lease(),
                attempts=model.attempts + 1,
                claim_token=token,
            )
        ).rowcount
        if not claimed:
            return False
        self._tokens()[row_id] = token
        return True

    def commit(self, row_id: int, *, release: bool = False) -> None:
        """Commit the job's work on a row, but only while this worker still holds it; renews
        the lease (``release``: ends it, the row is done or back in the queue). Raises
        LostClaim (after rolling back) when another worker has taken the row."""
        model = self.model
        token = self._tokens().get(row_id)
        held = db.session.execute(  # type: ignore[attr-defined]
            update(model)
            .where(model.id == row_id, model.claim_token == token)
            .values(lease_until=None if release else _now() + self.lease())
        ).rowcount
        if token is None or not held:
            db.session.rollback()
            raise LostClaim(row_id)
        db.session.commit()

    def run(
        self,
        row_id: int,
        *,
        claim: Callable[[int], bool],
        perform: Callable[[Any], dict[str, Any]],
        fail: Callable[[int, Any], None],
        postpone: Callable[[int, str], bool],
    ) -> dict[str, Any]:
        """The job around a row's work; safe to run twice, by two workers at once, or after a
        worker died.

        ``claim`` takes the row (see :meth:`claim`); ``perform`` does the work on the claimed
        row and returns what the job reports on success (with ``status``). :class:`Failed`
        raised by it ends the row through ``fail`` (the row id and the exception);
        :class:`Postponed` (a transient failure) goes through ``postpone`` (the row id and the
        reason), which returns whether the row is back in the queue: then the exception is
        raised again, so RQ retries the job after its interval (in-process: the sweeper does).
        Any other error is postponed as "unexpected error" and raised. A lost claim writes
        nothing more."""
        key = f"{self.noun}_id"
        if not claim(row_id):
            return {key: row_id, "status": "not_claimed"}
        row = db.session.get(self.model, row_id)
        assert row is not None
        try:
            try:
                outcome = perform(row)
            except Failed as exc:
                fail(row_id, exc)
                return {key: row_id, "status": "failed", "error": str(exc)}
            except Postponed as exc:
                if postpone(row_id, str(exc)):
                    raise
                return {key: row_id, "status": "failed", "error": str(exc)}
            except LostClaim:
                raise
            except Exception:
                db.session.rollback()
                postpone(row_id, "unexpected error")
                raise
        except LostClaim:
            current_app.logger.warning("%s %s was taken over by another worker", self.noun, row_id)
            return {key: row_id, "status": "lost_claim"}
        finally:
            self._tokens().pop(row_id, None)
        return {key: row_id, **outcome}

    def requeue(self, row_id: int, reason: str) -> Any:
        """After a transient failure (rolls back first): the row back to pending, due again
        after the back-off for its attempts, with ``reason`` as its error (not committed: the
        caller adds its own and commits). None when the last attempt is spent: the caller
        fails the row."""
        db.session.rollback()
        row: Any = db.session.get(self.model, row_id)
        assert row is not None
        if row.attempts >= MAX_ATTEMPTS:
            return None
        delay = BACKOFF_SECONDS[min(row.attempts, len(BACKOFF_SECONDS)) - 1]
        row.status = self.pending
        row.next_attempt_at = _now() + timedelta(seconds=delay)
        row.error_message = reason[:500]
        return row

    def sweep(self, job: Callable[..., Any], options: JobOptions, *, limit: int) -> int:
        """Re-enqueue ``job`` for the rows that are due: a retry whose time has come, a
        pending row nobody took within SWEEP_GRACE (its job was lost), or a row whose lease ran
        out (its worker died) — the longest overdue first. Not a row that is simply waiting in
        the queue. Harmless when run twice (the job claims a row once). Returns how many were
        enqueued."""
        now = _now()
        model = self.model
        overdue = func.coalesce(model.lease_until, model.next_attempt_at, model.created_at)
        due = db.session.scalars(
            select(model.id)
            .where(
                or_(
                    (model.status == self.pending)
                    & or_(
                        model.next_attempt_at <= now,
                        model.next_attempt_at.is_(None) & (model.created_at < now - SWEEP_GRACE),
                    ),
                    (model.status == self.sending) & (model.lease_until < now),
                )
            )
            .order_by(overdue, model.id)
            .limit(limit)
        ).all()
        db.session.rollback()
        for row_id in due:
            enqueue(job, row_id, options=options)
        return len(due)
