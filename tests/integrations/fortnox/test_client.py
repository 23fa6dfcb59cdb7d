"""FortnoxClient against the sandbox over real HTTP: resources, paging, errors, token refresh,
retries and what is never repeated. Time is simulated (the sandbox's clock and the client's
move together), so nothing waits for real backoffs or token expiry."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis

from app.integrations.fortnox import client as client_module
from app.integrations.fortnox.client import FortnoxClient
from app.integrations.fortnox.errors import (
    FortnoxAuthError,
    FortnoxAuthorizationRevoked,
    FortnoxConnectionError,
    FortnoxNotFound,
    FortnoxServerError,
    FortnoxUncertainError,
    FortnoxValidationError,
)
from app.integrations.fortnox.ratelimit import InProcessRateLimiter, RedisRateLimiter
from app.integrations.fortnox.tokens import MemoryTokenStore, RedisLock, ThreadLock, Tokens
from fortnox_sandbox.testing import SandboxServer, serve

try:  # tests/ as packages, or plain directories (pytest's default "prepend" import mode)
    from . import client_fixtures as fx
except ImportError:
    import client_fixtures as fx

sandbox_server = fx.sandbox_server
sandbox = fx.sandbox
redis_client = fx.redis_client
redis_prefix = fx.redis_prefix

ORDER = {
    "CustomerNumber": "1",
    "ExternalInvoiceReference1": "Ordna SO 1042",
    "OrderRows": [{"ArticleNumber": "100", "OrderedQuantity": "2", "DeliveredQuantity": "2"}],
}


class Connected:
    """A sandbox tenant connected through the code flow, with its store, clock and sleep."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.clock = fx.SimClock(sandbox)
        self.sleep = fx.RecordingSleep(self.clock)
        self.store = MemoryTokenStore(fx.connect(sandbox, self.clock))
        sandbox.clear_requests()

    def client(self, **options: Any) -> FortnoxClient:
        options.setdefault("sleep", self.sleep)
        return fx.make_client(self.sandbox, self.store, clock=self.clock, **options)

    def log(self, **filters: Any) -> list[dict[str, Any]]:
        return self.sandbox.requests_log(**filters)

    def wait_for_slow_request(self, path: str) -> None:
        """Let a request we gave up on (timeout) finish in the sandbox, so that it cannot land
        in the next test's log."""
        deadline = time.monotonic() + 5
        while not any(e["fault"] == "latency" for e in self.log(path=path)):
            assert time.monotonic() < deadline, f"the slow {path} never finished"
            time.sleep(0.05)

    def refreshes(self) -> list[dict[str, Any]]:
        return [
            e
            for e in self.log(method="POST", path="/oauth-v1/token")
            if e["body"].get("grant_type") == "refresh_token"
        ]


@pytest.fixture
def connected(sandbox: SandboxServer) -> Connected:
    return Connected(sandbox)


# --- Resources and paging ---------------------------------------------------------------------


def test_lists_read_every_page(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "PAGE_SIZE", 2)  # the tenant is seeded with 5 articles

    articles = connected.client().list_articles()

    assert [a["ArticleNumber"] for a in articles] == ["100", "101", "200", "201", "900"]
    pages = [(e["query"]["page"], e["query"]["limit"]) for e in connected.log(path="/3/articles")]
    assert pages == [("1", "2"), ("2", "2"), ("3", "2")]


def test_lists_ask_for_500_rows_and_send_lastmodified_in_swedish_time(
    connected: Connected,
) -> None:
    client = connected.client()
    since = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Stockholm (summer time)

    client.list_customers(lastmodified=since, filter="active")

    (entry,) = connected.log(path="/3/customers")
    assert entry["query"] == {
        "filter": "active",
        "lastmodified": "2026-06-01 12:00",
        "limit": "500",
        "page": "1",
    }


def test_lastmodified_returns_only_what_changed_since(connected: Connected) -> None:
    client = connected.client()
    connected.clock.advance(24 * 3600)
    since = connected.clock.now() - timedelta(minutes=5)
    client.update_article("200", {"Description": "Filter F7 592x592 (ny)"})

    changed = client.list_articles(lastmodified=since)

    assert [(a["ArticleNumber"], a["Description"]) for a in changed] == [
        ("200", "Filter F7 592x592 (ny)")
    ]


def test_registers_and_company_information(connected: Connected) -> None:
    client = connected.client()

    assert client.company_information()["DatabaseNumber"] == 100001
    assert {c["Code"] for c in client.list_cost_centers()} == {"100", "200", "999"}
    assert {t["Code"] for t in client.list_terms_of_delivery()} == {"FVL", "FK"}
    assert {w["Code"] for w in client.list_ways_of_delivery()} == {"P", "HÄM"}
    assert client.get_customer("1")["Name"] == "Kyltekniker i Norr AB"


def test_order_to_booked_invoice_with_pdf(connected: Connected) -> None:
    client = connected.client()

    order = client.create_order(ORDER)
    invoice = client.create_invoice_from_order(order["DocumentNumber"])
    pdf = client.print_invoice(invoice["DocumentNumber"])
    booked = client.bookkeep_invoice(invoice["DocumentNumber"])

    assert invoice["OrderReference"] == order["DocumentNumber"]
    assert (
        client.get_order(order["DocumentNumber"])["InvoiceReference"] == invoice["DocumentNumber"]
    )
    assert pdf.startswith(b"%PDF")
    assert booked["Booked"] is True
    assert client.get_invoice(invoice["DocumentNumber"])["Sent"] is True  # print sets Sent


def test_state_actions_are_repeatable(connected: Connected) -> None:
    """Fortnox refuses bookkeeping a booked invoice; the client reports it as done."""
    client = connected.client()
    order = client.create_order(ORDER)
    invoice = client.create_invoice_from_order(order["DocumentNumber"])

    client.bookkeep_invoice(invoice["DocumentNumber"])
    again = client.bookkeep_invoice(invoice["DocumentNumber"])

    assert again["Booked"] is True
    with pytest.raises(FortnoxValidationError):  # a real refusal still raises
        client.cancel_invoice(invoice["DocumentNumber"])


# --- Errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("keys", ["lower", "capitalised"])
def test_validation_error_carries_code_and_swedish_fix(keys: str) -> None:
    with serve(SANDBOX_ERROR_KEYS=keys) as server:
        client = Connected(server).client()

        with pytest.raises(FortnoxValidationError) as caught:
            client.create_order({**ORDER, "CostCenter": "999"})  # inactive in the sandbox

    error = caught.value
    assert (error.status, error.code) == (400, 2000947)
    assert "999" in error.message  # Fortnox's own text is kept
    assert "Kostnadsstället är inaktivt i Fortnox" in error.user_message
    assert error.method == "POST" and error.path == "/orders"


def test_missing_document_is_not_found(connected: Connected) -> None:
    with pytest.raises(FortnoxNotFound) as caught:
        connected.client().get_order(9999)

    assert caught.value.status == 404 and caught.value.user_message


# --- Tokens -------------------------------------------------------------------------------------


def test_refreshes_before_expiry_and_saves_the_rotated_tokens(connected: Connected) -> None:
    client = connected.client()
    client.company_information()
    first = connected.store.load()
    assert first is not None and connected.refreshes() == []

    connected.clock.advance(54 * 60)  # 6 minutes left: still used as it is
    client.company_information()
    assert connected.refreshes() == []

    connected.clock.advance(2 * 60)  # 4 minutes left: refreshed before the call
    client.company_information()

    saved = connected.store.load()
    assert saved is not None and saved.refresh_token != first.refresh_token
    assert saved.expires_at > first.expires_at + timedelta(minutes=50)
    assert [e["status"] for e in connected.refreshes()] == [200]
    assert [e["status"] for e in connected.log(path="/3/*")] == [200, 200, 200]


@pytest.mark.parametrize("auth_status", [401, 403])
def test_refused_token_is_refreshed_once_and_the_call_repeated(auth_status: int) -> None:
    """FACTS.md §3: 401 and 403 + 2000310 are treated alike."""
    with serve(SANDBOX_AUTH_ERROR_STATUS=auth_status) as server:
        connected = Connected(server)
        client = connected.client()
        server.advance_clock(2 * 3600)  # expired at "Fortnox"; our clock does not know

        info = client.company_information()

        assert info["CompanyName"] == "Sandlådan AB"
        statuses = [(e["path"], e["status"]) for e in connected.log()]
        assert statuses == [
            ("/3/companyinformation", auth_status),
            ("/oauth-v1/token", 200),
            ("/3/companyinformation", 200),
        ]


def test_revoked_authorisation_raises_revoked(connected: Connected) -> None:
    client = connected.client()
    client.company_information()
    connected.sandbox.add_fault("revoke", path_pattern="/3/*")

    with pytest.raises(FortnoxAuthorizationRevoked) as caught:
        client.list_orders()

    assert "Anslut igen" in caught.value.user_message
    assert [e["status"] for e in connected.refreshes()] == [400]  # tried once: invalid_grant


def test_not_connected_is_an_auth_error(sandbox: SandboxServer) -> None:
    client = fx.make_client(sandbox, MemoryTokenStore())

    with pytest.raises(FortnoxAuthError):
        client.company_information()


# --- Retries and what is never repeated ---------------------------------------------------------


def test_get_is_retried_on_5xx(connected: Connected) -> None:
    connected.sandbox.add_fault(
        "status", method="GET", path_pattern="/3/customers/1", status=503, count=2
    )

    customer = connected.client().get_customer("1")

    assert customer["CustomerNumber"] == "1"
    assert [e["status"] for e in connected.log(path="/3/customers/1")] == [503, 503, 200]
    assert len(connected.sleep.waits) == 2


def test_retries_run_out_into_a_server_error(connected: Connected) -> None:
    connected.sandbox.add_fault(
        "status", method="GET", path_pattern="/3/articles", status=502, count=None
    )

    with pytest.raises(FortnoxServerError):
        connected.client(max_retries=2).list_articles()

    assert len(connected.log(path="/3/articles")) == 3


def test_429_burst_is_absorbed_with_backoff_of_at_least_5_seconds(connected: Connected) -> None:
    connected.sandbox.add_fault("rate_limit", path_pattern="/3/articles", count=3)

    articles = connected.client().list_articles()

    assert len(articles) == 5
    assert [e["status"] for e in connected.log(path="/3/articles")] == [429, 429, 429, 200]
    assert len(connected.sleep.waits) == 3 and min(connected.sleep.waits) >= 5.0


def test_concurrent_burst_over_fortnox_limit_is_answered_in_full(connected: Connected) -> None:
    """8 clients with no limiter of their own fire 64 calls at once: Fortnox (the sandbox's
    25 per 5 s) answers 429, the clients back off, and every call is answered."""
    clients = [connected.client(rate_limiter=fx.NoLimit()) for _ in range(8)]

    results = fx.run_workers(8, lambda n, i: clients[n].get_customer("1"), calls=8)

    assert len(results) == 64 and all(r["CustomerNumber"] == "1" for r in results)
    statuses = [e["status"] for e in connected.log(path="/3/customers/1")]
    assert statuses.count(200) == 64 and statuses.count(429) > 0


def test_our_limiter_keeps_a_burst_under_fortnox_limit() -> None:
    """The same kind of burst through one shared limiter, in real time: Fortnox never has to
    say 429. Time is scaled down 5:1 to keep the test short — Fortnox's window 1 s, ours 1.2 s
    (90 % of the count over a window widened for latency, as the defaults 22 / 6 s are) — and
    the first requests open fresh connections, so their latency differs from the later ones',
    which is what the widening is for."""
    with serve(SANDBOX_RATE_LIMIT=(25, 1.0)) as server:
        connected = Connected(server)
        limiter = InProcessRateLimiter(limit=22, period=1.2)
        clients = [connected.client(rate_limiter=limiter) for _ in range(8)]

        results = fx.run_workers(8, lambda n, i: clients[n].get_customer("1"), calls=4)

        assert len(results) == 32
        assert {e["status"] for e in connected.log(path="/3/customers/1")} == {200}


NEW = {"Name": "Ny AB"}


def _order(client: FortnoxClient) -> str:
    return str(client.create_order(ORDER)["DocumentNumber"])


def _invoice(client: FortnoxClient) -> str:
    return str(client.create_invoice_from_order(_order(client))["DocumentNumber"])


# name: (method, fault path, set-up giving a document number, the call)
UNSAFE_CALLS: dict[str, tuple[str, str, Any, Any]] = {
    "create_order": ("POST", "/3/orders", None, lambda c, n: c.create_order(ORDER)),
    "create_customer": ("POST", "/3/customers", None, lambda c, n: c.create_customer(NEW)),
    "createinvoice": (
        "PUT", "/3/orders/*/createinvoice", _order, lambda c, n: c.create_invoice_from_order(n)
    ),
    "email_invoice": ("GET", "/3/invoices/*/email", _invoice, lambda c, n: c.email_invoice(n)),
    "update_order_with_row_ids": (
        "PUT",
        "/3/orders/*",
        _order,
        lambda c, n: c.update_order(n, {"OrderRows": [{"RowId": 1, "OrderedQuantity": "3"}]}),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", UNSAFE_CALLS)
def test_unsafe_request_is_never_repeated_after_a_5xx(connected: Connected, name: str) -> None:
    method, pattern, setup, call = UNSAFE_CALLS[name]
    client = connected.client()
    number = setup(client) if setup else None
    connected.sandbox.clear_requests()
    connected.sandbox.add_fault("status", method=method, path_pattern=pattern, status=500)

    with pytest.raises(FortnoxUncertainError) as caught:
        call(client, number)

    assert len(connected.log(method=method, path=pattern)) == 1
    assert connected.sleep.waits == []
    assert caught.value.method == method and caught.value.reason == "HTTP 500"


def test_update_without_row_ids_is_repeated_after_a_5xx(connected: Connected) -> None:
    client = connected.client()
    number = _order(client)
    connected.sandbox.add_fault("status", method="PUT", path_pattern="/3/orders/*", status=503)

    updated = client.update_order(number, {"YourReference": "Eva Lind"})

    assert updated["YourReference"] == "Eva Lind"
    assert [e["status"] for e in connected.log(method="PUT", path="/3/orders/*")] == [503, 200]


def test_create_dropped_after_it_was_made_is_uncertain_and_made_once(connected: Connected) -> None:
    client = connected.client()
    connected.sandbox.add_fault("drop_after_create", method="POST", path_pattern="/3/orders")

    with pytest.raises(FortnoxUncertainError) as caught:
        client.create_order(ORDER)

    assert caught.value.payload == {"Order": ORDER}  # what to look for before re-creating
    assert len(connected.log(method="POST", path="/3/orders")) == 1
    # The send layer's look-up by reference finds the order Fortnox did make.
    found = client.list_orders(externalinvoicereference1="Ordna SO 1042")
    assert len(found) == 1


def test_create_timing_out_is_uncertain(connected: Connected) -> None:
    client = connected.client(timeout=(2.0, 0.3))
    connected.sandbox.add_fault("latency", method="POST", path_pattern="/3/orders", latency_ms=600)

    with pytest.raises(FortnoxUncertainError) as caught:
        client.create_order(ORDER)

    assert "ReadTimeout" in caught.value.reason
    connected.wait_for_slow_request("/3/orders")


def test_read_timing_out_is_retried(connected: Connected) -> None:
    client = connected.client(timeout=(2.0, 0.3))
    connected.sandbox.add_fault(
        "latency", method="GET", path_pattern="/3/customers/1", latency_ms=600
    )

    assert client.get_customer("1")["CustomerNumber"] == "1"
    assert len(connected.sleep.waits) == 1
    connected.wait_for_slow_request("/3/customers/1")


def test_create_is_repeated_after_429_because_fortnox_did_not_process_it(
    connected: Connected,
) -> None:
    connected.sandbox.add_fault("rate_limit", method="POST", path_pattern="/3/orders")

    connected.client().create_order(ORDER)

    assert [e["status"] for e in connected.log(method="POST", path="/3/orders")] == [429, 201]
    assert len(connected.client().list_orders()) == 1


def test_create_is_repeated_when_the_connection_was_refused_before_sending(
    connected: Connected,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = FortnoxClient(
        api_url=f"http://127.0.0.1:{closed_port}/3",
        oauth_url=connected.sandbox.oauth_url,
        client_id=fx.CLIENT_ID,
        client_secret=fx.CLIENT_SECRET,
        token_store=connected.store,
        lock=ThreadLock(),
        rate_limiter=fx.NoLimit(),
        clock=connected.clock.now,
        sleep=connected.sleep,
        max_retries=2,
    )

    with pytest.raises(FortnoxConnectionError):
        client.create_order(ORDER)

    assert len(connected.sleep.waits) == 2  # retried: provably never reached Fortnox


# --- Shared lock and limiter: 8 workers over simulated hours ------------------------------------


@pytest.mark.redis
def test_eight_workers_over_hours_refresh_together_without_invalid_grant(
    connected: Connected, redis_client: Redis, redis_prefix: str
) -> None:
    """8 threads, each with its own client, share the token store, a RedisLock and a
    RedisRateLimiter (on the simulated clock). Every 7 simulated minutes all 8 call Fortnox at
    once, for 112 minutes; then "Fortnox's" clock alone jumps an hour, so all 8 get a 401 at
    once. Each time the token needs renewing exactly one worker refreshes; the others take its
    tokens. No refresh token is ever spent twice."""
    lock = RedisLock(redis_client, redis_prefix + "refresh-lock", timeout=10, blocking_timeout=20)
    limiter = RedisRateLimiter(
        redis_client,
        redis_prefix + "ratelimit",
        clock=connected.clock.seconds,
        sleep=connected.clock.advance,
    )
    clients = [connected.client(lock=lock, rate_limiter=limiter) for _ in range(8)]
    steps = 16

    def step(n: int, i: int) -> Any:
        if i < steps:
            return (clients[n].company_information(), clients[n].list_cost_centers())
        return clients[n].get_customer("1")

    def between_steps(i: int) -> None:
        if i < steps:
            connected.clock.advance(7 * 60)
        else:  # only "Fortnox" moves on: every worker's token is refused at once
            connected.sandbox.advance_clock(3600 + 60)

    results = fx.run_workers(8, step, calls=steps + 1, before_each_round=between_steps)

    assert len(results) == 8 * (steps + 1)
    token_calls = connected.log(method="POST", path="/oauth-v1/token")
    assert [e["status"] for e in token_calls] == [200, 200, 200]  # at 56, at 112, after the 401s
    api_statuses = [e["status"] for e in connected.log(path="/3/*")]
    assert api_statuses.count(401) == 8  # the jump: each worker refused once, then served
    assert set(api_statuses) == {200, 401}  # and no 429: the shared limiter kept us under
    assert connected.sleep.waits == []


def test_client_repr_shows_no_secret(connected: Connected) -> None:
    assert fx.CLIENT_SECRET not in repr(connected.client())
    tokens = connected.store.load()
    assert isinstance(tokens, Tokens) and tokens.access_token not in repr(tokens)
