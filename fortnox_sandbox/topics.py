"""Fortnox's WebSocket change notifications, emulated (FACTS.md §8).

Fortnox serves them at ``wss://ws.fortnox.se/topics-v1``; the sandbox at ``/topics-v1`` of its
own server (``ws://…``). One connection carries every tenant a client adds:

* ``{"command": "add-tenants-v1", "clientSecret": "…", "accessTokens": ["…"]}`` →
  ``{"response": "add-tenants-v1", "result": "ok", "tenantIds": {"<token>": 100001},
  "invalidTokens": []}`` (a token that is unknown, expired or whose authorisation was revoked is
  invalid; a wrong client secret makes every token invalid and the result ``error``);
* ``{"command": "add-topics-v1", "topics": [{"topic": "orders", "offset": "…"}]}`` →
  ``{"response": "add-topics-v1", "result": "ok" | "error", "invalidTopics": [...]}``;
* ``{"command": "subscribe-v1"}`` → ``{"response": "subscribe-v1", "result": "ok"}``, then the
  events, as text frames: ``{"topic", "offset", "type", "tenantId", "entityId", "timestamp"}``;
* ``remove-tenants-v1`` and ``list-tenants-v1``.

Every change the sandbox's API makes (:func:`record_change`, called where a record's
``_modified`` is set) is an event on its topic: ``orders``, ``invoices``, ``customers``,
``articles`` (a price change is an ``article-updated-v1`` of its article: an assumption, Fortnox
documents no price topic), ``cost-centers``, ``termsofdeliveries``, ``waysofdeliveries``.
Invoices sent to the customer are ``invoice-updated-v1`` events (FACTS.md §8 says this is
unconfirmed for Fortnox; clients must poll as well, as Ordna's fallback does).

Offsets are opaque strings, ordered per topic. A topic added with an offset replays from that
event on, the event itself included (at-least-once delivery: a client that stored the offset
of the last event it handled gets it once more); without an offset only new events come.
The log keeps :data:`KEPT` events (Fortnox keeps 14 days).

Test controls: ``/_sandbox/topics`` shows the log and the open connections; ``{"down": true}``
closes every connection and refuses new ones (503) until ``{"down": false}``; ``{"duplicate":
true}`` sends every event twice (at-least-once delivery made visible).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from flask import Flask

    from .resources import Ctx
    from .state import SandboxState

STOCKHOLM = ZoneInfo("Europe/Stockholm")
KEPT = 20_000
# FACTS.md §8: the topics relevant here (a client may add any of these).
TOPICS = frozenset(
    "orders invoices customers articles cost-centers termsofdeliveries waysofdeliveries projects "
    "currencies termsofpayments offers vouchers suppliers supplier-invoices financial-years "
    "warehouse-stockbalances".split()
)
# The /3 resource a change was made through -> its topic.
TOPIC_OF_RESOURCE = {
    "orders": "orders",
    "invoices": "invoices",
    "customers": "customers",
    "articles": "articles",
    "prices": "articles",
    "costcenters": "cost-centers",
    "termsofdeliveries": "termsofdeliveries",
    "waysofdeliveries": "waysofdeliveries",
}
# The entity an event names: the record's key in its register.
ENTITY_KEY = {
    "orders": "DocumentNumber",
    "invoices": "DocumentNumber",
    "customers": "CustomerNumber",
    "articles": "ArticleNumber",
    "cost-centers": "Code",
    "termsofdeliveries": "Code",
    "waysofdeliveries": "Code",
}
EVENT_NOUN = {
    "orders": "order",
    "invoices": "invoice",
    "customers": "customer",
    "articles": "article",
    "cost-centers": "costcenter",
    "termsofdeliveries": "termsofdelivery",
    "waysofdeliveries": "wayofdelivery",
}


def encode_offset(sequence: int) -> str:
    """An opaque, per-topic ordered offset (Fortnox's look like "xDy7J")."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        sequence, rest = divmod(sequence, 36)
        text = digits[rest] + text
        if not sequence:
            break
    return "o" + text.rjust(6, "0")


def decode_offset(offset: str) -> int | None:
    if not isinstance(offset, str) or not offset.startswith("o") or len(offset) > 20:
        return None
    try:
        return int(offset[1:], 36)
    except ValueError:
        return None


class EventLog:
    """The events of every topic, in order, and the connections waiting for them."""

    def __init__(self, kept: int = KEPT) -> None:
        self.changed = threading.Condition()
        self.kept = kept
        self.clear()

    def clear(self) -> None:
        with self.changed:
            self.events: deque[dict[str, Any]] = deque(maxlen=self.kept)
            self.sequence = 0
            self.down = False
            self.duplicate = False
            self.generation = getattr(self, "generation", 0) + 1  # open connections close
            self.connections = 0
            self.changed.notify_all()

    def append(self, topic: str, kind: str, tenant: int, entity: str, when: float) -> None:
        noun = EVENT_NOUN.get(topic, topic.rstrip("s"))
        version = "v2" if (topic, kind) == ("customers", "updated") else "v1"
        moment = dt.datetime.fromtimestamp(when, STOCKHOLM)
        with self.changed:
            self.sequence += 1
            self.events.append(
                {
                    "_sequence": self.sequence,
                    "topic": topic,
                    "offset": encode_offset(self.sequence),
                    "type": f"{noun}-{kind}-{version}",
                    "tenantId": tenant,
                    "entityId": entity,
                    "timestamp": moment.isoformat(timespec="milliseconds"),
                }
            )
            self.changed.notify_all()

    def after(self, positions: dict[str, int], tenants: set[int]) -> list[dict[str, Any]]:
        """Events on the topics of ``positions`` from each topic's position on (inclusive) for
        ``tenants``; moves the positions past them."""
        with self.changed:
            start = min(positions.values(), default=self.sequence + 1)
            found = []
            for event in reversed(self.events):  # newest first, stop before the oldest wanted
                if event["_sequence"] < start:
                    break
                topic = event["topic"]
                if (
                    topic in positions
                    and event["_sequence"] >= positions[topic]
                    and event["tenantId"] in tenants
                ):
                    found.append(event)
            found.reverse()
            for topic in positions:  # other tenants' events are passed over too
                positions[topic] = max(positions[topic], self.sequence + 1)
            return [{k: v for k, v in event.items() if k != "_sequence"} for event in found]

    def newest(self) -> int:
        with self.changed:
            return self.sequence + 1

    def describe(self) -> dict[str, Any]:
        with self.changed:
            return {
                "down": self.down,
                "duplicate": self.duplicate,
                "connections": self.connections,
                "events": [{k: v for k, v in e.items() if k != "_sequence"} for e in self.events][
                    -200:
                ],
            }


def record_change(ctx: Ctx, record: dict[str, Any], created: bool) -> None:
    """Log the change of ``record`` by the call ``ctx`` as an event on its topic."""
    topic = _topic_of(ctx, record)
    if topic is None:
        return
    key = "ArticleNumber" if ctx.path.startswith("/3/prices") else ENTITY_KEY[topic]
    entity = record.get(key)
    if entity in (None, ""):
        return
    path = ctx.path.rstrip("/")
    if path.endswith("/cancel"):
        kind = "cancelled"
    elif path.endswith("/bookkeep") and topic == "invoices":
        kind = "bookkeep"
    elif created and not ctx.path.startswith("/3/prices"):
        kind = "created"
    else:
        kind = "updated"
    ctx.state.topics.append(topic, kind, ctx.tenant.database_number, str(entity), ctx.now())


def _topic_of(ctx: Ctx, record: dict[str, Any]) -> str | None:
    if "DocumentNumber" in record:
        # Documents change through /3/orders, /3/invoices and the accountant's own actions
        # (an order turned into an invoice): an invoice carries an OCR, an order never does.
        return "invoices" if "OCR" in record or "InvoiceDate" in record else "orders"
    parts = ctx.path.split("/")
    resource = parts[2] if len(parts) > 2 and parts[1] == "3" else ""
    return TOPIC_OF_RESOURCE.get(resource)


# --- the WebSocket --------------------------------------------------------------------------


def register(app: Flask) -> None:
    """Serve ``/topics-v1`` on the sandbox app."""
    from flask import Response
    from flask_sock import Sock

    state: SandboxState = app.extensions["fortnox_sandbox"]
    sock = Sock(app)

    @app.before_request
    def refuse_when_down() -> Response | None:
        from flask import request

        if request.path == "/topics-v1" and state.topics.down:
            return Response("topics are down (sandbox control)", status=503)
        return None

    @sock.route("/topics-v1")
    def topics(ws: Any) -> None:
        Connection(state, ws).serve()


class Connection:
    """One client's socket: its tenants, its topics and where it is in each."""

    def __init__(self, state: SandboxState, ws: Any) -> None:
        self.state, self.ws = state, ws
        self.log: EventLog = state.topics
        self.tenants: dict[str, int] = {}  # access token -> tenant
        self.positions: dict[str, int] = {}
        self.subscribed = False

    def serve(self) -> None:
        generation = self.log.generation
        with self.log.changed:
            self.log.connections += 1
        try:
            while self.log.generation == generation and not self.log.down:
                message = self.ws.receive(timeout=0 if self.subscribed else 0.2)
                if message is not None:
                    self.handle(message)
                if self.subscribed:
                    self.push()
                    with self.log.changed:
                        if self.log.generation == generation and not self.log.down:
                            self.log.changed.wait(0.2)
        finally:
            with self.log.changed:
                self.log.connections = max(0, self.log.connections - 1)
            self.ws.close(reason=1001, message="going away")

    def send(self, body: dict[str, Any]) -> None:
        self.ws.send(json.dumps(body))

    def handle(self, message: str | bytes) -> None:
        try:
            command = json.loads(message)
        except ValueError:
            command = None
        if not isinstance(command, dict):
            self.send({"response": "error", "result": "error", "message": "invalid json"})
            return
        name = command.get("command")
        if name == "add-tenants-v1":
            self.add_tenants(command)
        elif name == "remove-tenants-v1":
            gone = [t for t in command.get("accessTokens") or [] if t in self.tenants]
            for token in gone:
                self.tenants.pop(token, None)
            self.send({"response": name, "result": "ok"})
        elif name == "list-tenants-v1":
            self.send({"response": name, "result": "ok", "tenantIds": sorted(self._tenant_set())})
        elif name == "add-topics-v1":
            self.add_topics(command)
        elif name == "subscribe-v1":
            self.subscribed = True
            self.send({"response": name, "result": "ok"})
        else:
            self.send({"response": str(name), "result": "error", "message": "unknown command"})

    def add_tenants(self, command: dict[str, Any]) -> None:
        tokens = [t for t in command.get("accessTokens") or [] if isinstance(t, str)]
        secret = command.get("clientSecret")
        valid: dict[str, int] = {}
        invalid: list[str] = []
        with self.state.lock:
            for value in tokens:
                token = self.state.access_tokens.get(value)
                client = self.state.check_client(token.client_id, secret) if token else None
                if (
                    token is None
                    or client is None
                    or token.expires <= self.state.clock.time()
                    or not self.state.grant_active(token.grant_id)
                ):
                    invalid.append(value)
                else:
                    valid[value] = token.tenant
        self.tenants.update(valid)
        self.send(
            {
                "response": "add-tenants-v1",
                "result": "ok" if valid or not tokens else "error",
                "tenantIds": valid,
                "invalidTokens": invalid,
            }
        )

    def add_topics(self, command: dict[str, Any]) -> None:
        invalid: list[str] = []
        for entry in command.get("topics") or []:
            topic = entry.get("topic") if isinstance(entry, dict) else None
            if topic not in TOPICS:
                invalid.append(str(topic))
                continue
            offset = entry.get("offset")
            if offset in (None, ""):
                self.positions[topic] = self.log.newest()
                continue
            position = decode_offset(offset)
            if position is None:
                invalid.append(topic)
                continue
            self.positions[topic] = position
        self.send(
            {
                "response": "add-topics-v1",
                "result": "error" if invalid else "ok",
                "invalidTopics": invalid,
            }
        )

    def _tenant_set(self) -> set[int]:
        return set(self.tenants.values())

    def push(self) -> None:
        for event in self.log.after(self.positions, self._tenant_set()):
            self.send(event)
            if self.log.duplicate:
                self.send(event)
