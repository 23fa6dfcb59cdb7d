"""The change feed: what changes in Fortnox reaches Ordna within a minute, without anyone
clicking and without a full sync (issue #15; integration-health.md "Change feed"; FACTS.md §8).

One :class:`Listener` per deployment holds ONE WebSocket connection to Fortnox's topics for
every connected integration (Fortnox asks for one connection for all tenants). Which process
holds it is a lease in the database (:class:`FeedListener`, row 1): start ``flask fortnox
feed`` on two machines and the second waits as a standby until the first stops renewing.

* **Events** name a topic, a tenant and an entity; the listener turns them into *pending
  parts* of the integrations of that tenant (``customers`` → the customers part, ``invoices``
  → status back, …) and stores the topic's offset in the same transaction
  (:class:`FeedState`, :class:`FeedOffset`). A run of the pending parts starts after a short
  quiet spell (``FORTNOX_FEED_DEBOUNCE_SECONDS``), through the sync engine, which asks Fortnox
  only for what changed since its cursor. Delivery is at least once: a duplicate event marks a
  part pending that is already pending, or costs one list call that finds nothing new.
* **A restart** replays from the stored offsets (the event at the offset included), so a
  listener that died between storing an event and starting its run loses nothing: the pending
  parts are in the database too.
* **Status back also polls**: Fortnox documents no "invoice sent" event (FACTS.md §8), so while
  an integration has orders still "Skickad" the listener asks for changed orders and invoices
  once every ``FORTNOX_FEED_POLL_SECONDS`` (60): two calls a minute, none when nothing is open.
* **Fallback**: while the socket is down the listener polls with ``lastmodified`` instead, at
  most two calls a minute per integration, taking turns: status back (orders and invoices),
  then customers and articles. It tries the socket again with a growing pause (5 s … 5 min).
* **When the feed fails** it is an integration error (operation ``feed``) on every connected
  integration, with "Uppdatera" in the dialog (:func:`request_restart`); a later successful
  connection resolves it by itself.
"""

from __future__ import annotations

import json
import logging
import os
import socket as socket_module
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from flask import Flask
from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict
from app.extensions import db
from app.integrations.fortnox import services, sync
from app.integrations.fortnox.errors import FortnoxError
from app.integrations.models import (
    FeedListener,
    FeedOffset,
    FeedState,
    FortnoxIntegration,
    FortnoxSend,
    IntegrationError,
    SyncRun,
    SyncRunStatus,
)
from app.orders.models import FortnoxState, Order

log = logging.getLogger(__name__)

FEED_OPERATION = "feed"  # IntegrationError.operation of a failing feed
LISTENER_ID = 1
# Fortnox topic -> the sync parts a change on it asks for.
TOPIC_PARTS: dict[str, tuple[str, ...]] = {
    "orders": ("invoice_status",),
    "invoices": ("invoice_status",),
    "customers": ("customers",),
    "articles": ("articles", "prices"),
    "cost-centers": ("cost_centers",),
    "termsofdeliveries": ("terms_of_delivery",),
    "waysofdeliveries": ("ways_of_delivery",),
}
# While the socket is down: one of these per poll, in turn (each at most two list calls).
POLL_ROUNDS: tuple[tuple[str, ...], ...] = (("invoice_status",), ("customers", "articles"))
LEASE = timedelta(seconds=60)
RENEW_EVERY = 15.0  # seconds between renewals of a lease held (a write, not one a second)
STALE = timedelta(minutes=2)  # a listener without a heartbeat this long is not running
RECONNECT_PAUSES = (5, 10, 20, 40, 80, 160, 300)  # seconds, then 300 each time
TENANTS_EVERY = 30.0  # seconds between looks for integrations connected or gone
PRUNE_EVERY = 600.0
ANSWER_TIMEOUT = 10.0
MESSAGES_PER_TICK = 500
FORTNOX_FEED_URL = "wss://ws.fortnox.se/topics-v1"


class Socket(Protocol):
    def send(self, data: str) -> None: ...

    def receive(self, timeout: float | None = None) -> str | bytes | None: ...

    def close(self) -> None: ...


class FeedDown(Exception):
    """The socket could not be opened or was lost; the message says why."""


def _now() -> datetime:
    return datetime.now(UTC)


def feed_url(config: dict[str, Any] | Any) -> str:
    """``FORTNOX_FEED_URL``, else derived from the API's address: Fortnox's own topics for
    api.fortnox.se, ``ws://<host>/topics-v1`` for the sandbox or another emulator."""
    explicit = config.get("FORTNOX_FEED_URL")
    if explicit:
        return str(explicit)
    api = urlsplit(str(config["FORTNOX_API_URL"]))
    if api.hostname == "api.fortnox.se":
        return FORTNOX_FEED_URL
    scheme = "wss" if api.scheme == "https" else "ws"
    return urlunsplit((scheme, api.netloc, "/topics-v1", "", ""))


def open_socket(url: str) -> Socket:
    """A WebSocket to ``url`` (simple-websocket's client; TLS for ``wss://``)."""
    from simple_websocket import Client

    try:
        return Client.connect(url)  # type: ignore[no-any-return]
    except Exception as exc:  # refused, DNS, TLS, an HTTP status instead of the upgrade
        raise FeedDown(str(exc) or type(exc).__name__) from exc


# --- what the pages read and do ---------------------------------------------------------------


def status() -> dict[str, Any]:
    """The feed as the pages and the API show it: ``state`` is ``connected``, ``polling``
    (the socket is down, changes come by polling) or ``stopped`` (no listener runs)."""
    row = db.session.get(FeedListener, LISTENER_ID)
    if row is None or row.heartbeat_at is None or row.heartbeat_at < _now() - STALE:
        return {"state": "stopped", "since": None, "error": None}
    if row.connected:
        return {"state": "connected", "since": row.since, "error": None}
    return {"state": "polling", "since": row.since, "error": row.error}


def request_restart() -> bool:
    """ "Uppdatera": ask the listener to reconnect now. Returns whether a listener runs (if
    none does, nothing here can restart it: the page says so). Flushes."""
    row = db.session.get(FeedListener, LISTENER_ID)
    if row is None:
        row = FeedListener(id=LISTENER_ID, connected=False)
        db.session.add(row)
    row.restart_requested_at = _now()
    db.session.flush()
    return row.heartbeat_at is not None and row.heartbeat_at >= _now() - STALE


# --- the listener ---------------------------------------------------------------------------


class Listener:
    """The feed's one connection and its loop (:meth:`run`). ``connect`` and ``clock`` are
    seams for tests; everything the listener knows that another process must see is in the
    database."""

    def __init__(
        self,
        app: Flask,
        *,
        connect: Callable[[str], Socket] = open_socket,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.connect = connect
        self.clock = clock
        self.owner = f"{socket_module.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.socket: Socket | None = None
        self.tenants: dict[int, str] = {}  # integration id -> its tenant id, added to the socket
        self.next_connect = 0.0
        self.failures = 0
        self.restart_seen: datetime | None = None
        self.last_tenant_check = -TENANTS_EVERY
        self.last_prune = 0.0
        self.holding = False
        self.renewed = 0.0
        self.wait = 1.0  # seconds a round waits on the socket for events

    @property
    def config(self) -> Any:
        return self.app.config

    # -- the loop

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set; then close the socket and give up the lease."""
        log.info("Fortnox change feed listener %s starting", self.owner)
        while not stop.is_set():
            waited = self.tick_once()
            if not waited:
                stop.wait(1.0)
        with self.app.app_context():
            self.close()
            self.release()

    def tick_once(self) -> bool:
        """One round in its own app context; True when it already waited on the socket."""
        with self.app.app_context():
            try:
                return self.tick()
            except Exception:  # never let one bad round end the listener
                log.exception("Fortnox change feed: a round failed")
                db.session.rollback()
                return False
            finally:
                db.session.remove()

    def tick(self) -> bool:
        if not self.hold_lease():
            self.close()
            return False
        self.check_restart()
        if self.socket is None and self.clock() >= self.next_connect:
            self.open()
        elif self.socket is not None and self.clock() - self.last_tenant_check >= TENANTS_EVERY:
            self.check_tenants()
        waited = False
        if self.socket is not None:
            self.receive()
            waited = True
        self.poll()
        self.flush_pending()
        if self.clock() - self.last_prune >= PRUNE_EVERY:
            self.last_prune = self.clock()
            prune_quiet_runs()
        return waited

    # -- the lease: one listener holds the connection

    def hold_lease(self) -> bool:
        if self.holding and self.clock() - self.renewed < RENEW_EVERY:
            return True
        now = _now()
        taken = db.session.execute(
            update(FeedListener)
            .where(
                FeedListener.id == LISTENER_ID,
                (FeedListener.owner == self.owner)
                | FeedListener.owner.is_(None)
                | (FeedListener.lease_until < now),
            )
            .values(owner=self.owner, lease_until=now + LEASE, heartbeat_at=now)
        )
        if taken.rowcount == 0:  # type: ignore[attr-defined]
            if db.session.get(FeedListener, LISTENER_ID) is None:
                try:
                    with db.session.begin_nested():
                        db.session.add(
                            FeedListener(
                                id=LISTENER_ID,
                                owner=self.owner,
                                lease_until=now + LEASE,
                                heartbeat_at=now,
                                connected=False,
                            )
                        )
                except IntegrityError:
                    db.session.rollback()
                    return False
            else:
                db.session.rollback()
                if self.holding:
                    log.warning("Fortnox change feed: lease lost to another listener")
                self.holding = False
                return False
        db.session.commit()
        self.renewed = self.clock()
        if not self.holding:
            self.holding = True
            row = db.session.get(FeedListener, LISTENER_ID)
            self.restart_seen = row.restart_requested_at if row else None
        return True

    def release(self) -> None:
        db.session.execute(
            update(FeedListener)
            .where(FeedListener.id == LISTENER_ID, FeedListener.owner == self.owner)
            .values(owner=None, lease_until=None, connected=False)
        )
        db.session.commit()
        self.holding = False

    def check_restart(self) -> None:
        row = db.session.get(FeedListener, LISTENER_ID)
        asked = row.restart_requested_at if row else None
        if asked is not None and (self.restart_seen is None or asked > self.restart_seen):
            self.restart_seen = asked
            log.info("Fortnox change feed: restart asked from the pages")
            self.close()
            self.failures = 0
            self.next_connect = 0.0

    # -- the socket

    def connected_integrations(self) -> list[FortnoxIntegration]:
        return [i for i in services.all_integrations() if i.encrypted_tokens]

    def open(self) -> None:
        """Connect, add every connected integration's tenant, the topics from their offsets,
        and subscribe. A failure is recorded on every connected integration."""
        integrations = self.connected_integrations()
        if not integrations:
            return
        tokens: dict[int, str] = {}
        for integration in integrations:
            try:
                client = services.client_for(integration)
                try:
                    tokens[integration.id] = client.tokens().access_token
                finally:
                    client.close()
            except FortnoxError as exc:  # that integration's own error says why
                services.record_fortnox_failure(integration, FEED_OPERATION, exc)
        db.session.commit()
        if not tokens:
            return
        try:
            socket = self.connect(feed_url(self.config))
            try:
                added = self._add_tenants(socket, tokens)
                self._add_topics(socket)
                self._command(socket, {"command": "subscribe-v1"}, "subscribe-v1")
            except Exception:
                socket.close()
                raise
        except FeedDown as exc:
            self.down(str(exc))
            return
        self.socket = socket
        self.tenants = added
        self.failures = 0
        self.last_tenant_check = self.clock()
        row = db.session.get(FeedListener, LISTENER_ID)
        if row is not None:
            row.connected, row.since, row.error = True, _now(), None
        for integration in integrations:
            if integration.id in added:
                services.resolve_errors(integration, FEED_OPERATION, by=None)
        db.session.commit()
        log.info("Fortnox change feed connected for %d integration(s)", len(added))

    def _send(self, socket: Socket, body: dict[str, Any]) -> None:
        try:
            socket.send(json.dumps(body))
        except Exception as exc:
            raise FeedDown(f"sending failed: {exc}") from exc

    def _command(self, socket: Socket, body: dict[str, Any], response: str) -> dict[str, Any]:
        """Send a command and wait for its response (events before it are handled)."""
        self._send(socket, body)
        deadline = self.clock() + ANSWER_TIMEOUT
        while self.clock() < deadline:
            try:
                message = socket.receive(timeout=1.0)
            except Exception as exc:
                raise FeedDown(f"connection lost: {exc}") from exc
            if message is None:
                continue
            answer = _decode(message)
            if answer.get("response") == response:
                if answer.get("result") == "error" and response == "subscribe-v1":
                    raise FeedDown(f"Fortnox refused {response}: {answer}")
                return answer
            if "topic" in answer:
                self.handle_events([answer])
        raise FeedDown(f"no answer to {response} in {ANSWER_TIMEOUT:.0f} s")

    def _add_tenants(self, socket: Socket, tokens: dict[int, str]) -> dict[int, str]:
        answer = self._command(
            socket,
            {
                "command": "add-tenants-v1",
                "clientSecret": self.config["FORTNOX_CLIENT_SECRET"],
                "accessTokens": list(tokens.values()),
            },
            "add-tenants-v1",
        )
        tenant_ids = answer.get("tenantIds") or {}
        invalid = set(answer.get("invalidTokens") or [])
        added: dict[int, str] = {}
        for integration_id, token in tokens.items():
            integration = db.session.get(FortnoxIntegration, integration_id)
            if integration is None:
                continue
            if token in invalid or token not in tenant_ids:
                services.record_error(
                    integration,
                    FEED_OPERATION,
                    "Fortnox tog inte emot behörigheten för ändringsflödet. Ändringar hämtas "
                    "med jämna mellanrum i stället; anslut igen om felet står kvar.",
                    fortnox_message="add-tenants-v1: invalid token",
                )
                continue
            tenant = str(tenant_ids[token])
            if integration.tenant_id != tenant:
                integration.tenant_id = tenant
            added[integration_id] = tenant
        db.session.commit()
        if not added:
            raise FeedDown("Fortnox accepted none of the integrations' authorisations")
        return added

    def _add_topics(self, socket: Socket) -> None:
        offsets = {row.topic: row.offset for row in db.session.scalars(select(FeedOffset))}
        topics = [
            {"topic": topic, **({"offset": offsets[topic]} if topic in offsets else {})}
            for topic in TOPIC_PARTS
        ]
        answer = self._command(
            socket, {"command": "add-topics-v1", "topics": topics}, "add-topics-v1"
        )
        invalid = [t for t in answer.get("invalidTopics") or [] if t in TOPIC_PARTS]
        if invalid:
            # An offset Fortnox no longer keeps (over 14 days old): take the topic from now
            # and let a sync of its parts catch up by lastmodified.
            log.warning("Fortnox change feed: offsets refused for %s; catching up", invalid)
            self._command(
                socket,
                {"command": "add-topics-v1", "topics": [{"topic": t} for t in invalid]},
                "add-topics-v1",
            )
            for topic in invalid:
                db.session.execute(delete(FeedOffset).where(FeedOffset.topic == topic))
            for integration in self.connected_integrations():
                _mark_pending(integration, [p for t in invalid for p in TOPIC_PARTS[t]])
            db.session.commit()

    def check_tenants(self) -> None:
        """An integration connected since the socket opened: reconnect to add it (one
        connection carries every tenant)."""
        self.last_tenant_check = self.clock()
        wanted = {i.id for i in self.connected_integrations()}
        if wanted - set(self.tenants):
            log.info("Fortnox change feed: a new integration; reconnecting to add it")
            self.close()
            self.next_connect = 0.0

    def receive(self) -> None:
        """Wait up to a second for events, then take what has come (bounded)."""
        assert self.socket is not None
        events: list[dict[str, Any]] = []
        try:
            message = self.socket.receive(timeout=self.wait)
            while message is not None and len(events) < MESSAGES_PER_TICK:
                answer = _decode(message)
                if "topic" in answer and "offset" in answer:
                    events.append(answer)
                message = self.socket.receive(timeout=0)
        except Exception as exc:  # closed by Fortnox, the network, or a restart of theirs
            if events:
                self.handle_events(events)
            self.down(f"connection lost: {exc}")
            return
        if events:
            self.handle_events(events)

    def handle_events(self, events: Iterable[dict[str, Any]]) -> None:
        """Mark the parts the events ask for as pending on their integrations and store each
        topic's offset, in one transaction: at least once, idempotently."""
        by_tenant: dict[str, list[FortnoxIntegration]] = {}
        for integration in self.connected_integrations():
            if integration.tenant_id:
                by_tenant.setdefault(str(integration.tenant_id), []).append(integration)
        offsets: dict[str, str] = {}
        for event in events:
            topic = str(event.get("topic"))
            offsets[topic] = str(event.get("offset"))[:100]
            parts = TOPIC_PARTS.get(topic)
            if not parts:
                continue
            for integration in by_tenant.get(str(event.get("tenantId")), []):
                _mark_pending(integration, parts, event=True)
        for topic, offset in offsets.items():
            row = db.session.get(FeedOffset, topic)
            if row is None:
                db.session.add(FeedOffset(topic=topic, offset=offset))
            else:
                row.offset = offset
        db.session.commit()

    def down(self, reason: str) -> None:
        """The socket is gone: poll instead, try again after a growing pause, and show it."""
        self.close()
        pause = RECONNECT_PAUSES[min(self.failures, len(RECONNECT_PAUSES) - 1)]
        self.failures += 1
        self.next_connect = self.clock() + pause
        log.warning("Fortnox change feed down (%s); next try in %d s", reason, pause)
        row = db.session.get(FeedListener, LISTENER_ID)
        if row is not None:
            if row.connected or row.since is None:
                row.since = _now()
            row.connected, row.error = False, reason[:500]
        minutes = max(1, round(self.poll_seconds * len(POLL_ROUNDS) / 60))
        for integration in self.connected_integrations():
            services.record_error(
                integration,
                FEED_OPERATION,
                "Ändringsflödet från Fortnox är nere. Ordna hämtar ändringar med jämna "
                f"mellanrum i stället (inom {minutes} min) och försöker ansluta igen. "
                "Tryck på Uppdatera för att försöka nu.",
                fortnox_message=reason[:500],
            )
        db.session.commit()

    def close(self) -> None:
        if self.socket is not None:
            try:
                self.socket.close()
            except Exception:  # already closed by the other side
                pass
        self.socket = None
        self.tenants = {}

    # -- polling and starting runs

    @property
    def poll_seconds(self) -> float:
        return float(self.config.get("FORTNOX_FEED_POLL_SECONDS", 60))

    def poll(self) -> None:
        """Status back every poll interval while orders are open; with the socket down, the
        registers too, in turns (at most two list calls a poll)."""
        now = _now()
        for integration in self.connected_integrations():
            if _has_open_error(integration, services.TOKEN_OPERATION):
                continue  # nothing works until someone reconnects; the error says so
            state = _state_of(integration)
            if state.last_poll_at and now - state.last_poll_at < timedelta(
                seconds=self.poll_seconds
            ):
                continue
            if self.socket is not None and integration.id in self.tenants:
                parts: tuple[str, ...] = ("invoice_status",) if _has_open_sends(integration) else ()
            else:
                parts = POLL_ROUNDS[state.poll_round % len(POLL_ROUNDS)]
                state.poll_round = (state.poll_round or 0) + 1
                if parts == ("invoice_status",) and not _has_open_sends(integration):
                    parts = POLL_ROUNDS[state.poll_round % len(POLL_ROUNDS)]
                    state.poll_round += 1
            state.last_poll_at = now
            if parts:
                _mark_pending(integration, parts, due=True)
        db.session.commit()

    @property
    def debounce(self) -> timedelta:
        return timedelta(seconds=float(self.config.get("FORTNOX_FEED_DEBOUNCE_SECONDS", 2)))

    def flush_pending(self) -> None:
        """Start a run of each integration's pending parts once they have been quiet for the
        debounce; a run already going keeps them pending for the next round."""
        due = _now() - self.debounce
        states = list(
            db.session.scalars(
                select(FeedState).where(
                    FeedState.pending_since.is_not(None), FeedState.pending_since <= due
                )
            )
        )
        for state in states:
            integration = db.session.get(FortnoxIntegration, state.integration_id)
            parts = [p for p in sync.PARTS if p in (state.pending or [])]
            if integration is None or not integration.encrypted_tokens or not parts:
                state.pending, state.pending_since = [], None
                db.session.commit()
                continue
            if sync.running(integration) is not None:
                continue
            try:
                run = sync.start_sync(integration, parts, trigger="feed", by=None)
            except Conflict:
                db.session.rollback()
                continue
            state.pending, state.pending_since = [], None
            db.session.commit()
            sync.enqueue_sync(run)


def _decode(message: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(message)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _state_of(integration: FortnoxIntegration) -> FeedState:
    state = db.session.get(FeedState, integration.id)
    if state is None:
        state = FeedState(integration_id=integration.id, pending=[], events=0, poll_round=0)
        db.session.add(state)
        db.session.flush()
    return state


def _mark_pending(
    integration: FortnoxIntegration,
    parts: Iterable[str],
    *,
    event: bool = False,
    due: bool = False,
) -> None:
    """Add ``parts`` to what the integration's next feed run syncs. ``prices`` only under
    ``sync_prices``; ``due`` makes the run start at the next round (a poll, no debounce)."""
    wanted = set(parts)
    if "prices" in wanted and not services.settings_of(integration).sync_prices:
        wanted.discard("prices")
    state = _state_of(integration)
    state.pending = [p for p in sync.PARTS if p in wanted or p in (state.pending or [])]
    now = _now()
    if state.pending_since is None:
        state.pending_since = now - timedelta(days=1) if due else now
    if event:
        state.events = (state.events or 0) + 1
        state.last_event_at = now


def _has_open_sends(integration: FortnoxIntegration) -> bool:
    """Whether an order this integration sent may still change status ("Skickad")."""
    sent_here = select(FortnoxSend.order_id).where(FortnoxSend.integration_id == integration.id)
    return bool(
        db.session.scalar(
            select(
                exists().where(Order.fortnox_state == FortnoxState.SENT, Order.id.in_(sent_here))
            )
        )
    )


def _has_open_error(integration: FortnoxIntegration, operation: str) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    IntegrationError.integration_id == integration.id,
                    IntegrationError.operation == operation,
                    IntegrationError.resolved_at.is_(None),
                )
            )
        )
    )


def prune_quiet_runs(older_than: timedelta = timedelta(minutes=10), batch: int = 500) -> int:
    """Feed runs that found nothing are not history worth keeping (a poll a minute would
    bury the run log): delete finished ones that created, updated, skipped and failed
    nothing. Returns how many."""
    finished = list(
        db.session.scalars(
            select(SyncRun)
            .where(
                SyncRun.trigger == "feed",
                SyncRun.status == SyncRunStatus.FINISHED,
                SyncRun.finished_at < _now() - older_than,
            )
            .order_by(SyncRun.id)
            .limit(batch)
        )
    )
    quiet = [
        run.id
        for run in finished
        if not any(
            int(counts.get(key, 0) or 0)
            for counts in (run.counts or {}).values()
            for key in ("created", "updated", "skipped", "failed")
        )
    ]
    if quiet:
        db.session.execute(delete(SyncRun).where(SyncRun.id.in_(quiet)))
    db.session.commit()
    return len(quiet)


def start_inline_feed(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Run the listener in a daemon thread of this process (`make run`)."""
    stop = stop or threading.Event()
    listener = Listener(app)
    thread = threading.Thread(target=listener.run, args=(stop,), name="fortnox-feed", daemon=True)
    thread.start()
    return thread


__all__ = [
    "FEED_OPERATION",
    "Listener",
    "TOPIC_PARTS",
    "feed_url",
    "request_restart",
    "start_inline_feed",
    "status",
]
