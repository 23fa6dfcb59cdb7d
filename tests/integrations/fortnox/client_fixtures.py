"""Fixtures and helpers shared by the Fortnox client tests (test_client*, test_oauth*,
test_ratelimit*). Test modules bind the fixtures they use as module globals
(`sandbox = fx.sandbox`), which keeps them out of the directory's conftest."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from redis import Redis, RedisError

from app.integrations.fortnox.client import FortnoxClient
from app.integrations.fortnox.oauth import authorization_url, exchange_code
from app.integrations.fortnox.ratelimit import InProcessRateLimiter, RateLimiter
from app.integrations.fortnox.tokens import LockFactory, ThreadLock, Tokens, TokenStore, utcnow
from fortnox_sandbox.testing import SandboxServer, serve

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    """A connection to REDIS_URL (default the local Redis). Unreachable Redis fails the test
    when CI is set and skips it, with the reason, otherwise."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    client: Redis = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except RedisError as exc:
        client.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis is unreachable at {url} ({exc}) and CI is set")
        pytest.skip(f"Redis is unreachable at {url} ({exc}); set REDIS_URL or start Redis")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Redis) -> Iterator[str]:
    """A key prefix unique to the test; every key under it is deleted afterwards."""
    prefix = f"test:ordna:fortnox:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


class FakeTime:
    """A clock in seconds that moves only when `sleep` is called; thread-safe.

    `sleeps` records every requested wait.
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._mutex = threading.Lock()

    def clock(self) -> float:
        with self._mutex:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._mutex:
            self.sleeps.append(seconds)
            self.now += seconds


class StopWaiting(Exception):
    """Raised by `refusing_sleep` so that a test can count who would have had to wait."""


def refusing_sleep(seconds: float) -> None:
    raise StopWaiting(seconds)


# --- The sandbox ------------------------------------------------------------------------------

CLIENT_ID = "ordna-dev"
CLIENT_SECRET = "ordna-dev-secret"
REDIRECT_URI = "http://127.0.0.1:5000/integrations/fortnox/callback"
SCOPES = ("companyinformation", "customer", "article", "costcenter", "settings", "order",
          "invoice", "salary")  # fmt: skip


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[SandboxServer]:
    """One sandbox per test module, served over real HTTP on 127.0.0.1."""
    with serve() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The module's sandbox, reset: no tenants, tokens, faults or logged requests; real time."""
    sandbox_server.reset()
    return sandbox_server


class SimClock:
    """Simulated time for clients: real time plus an offset that `advance` moves together with
    the sandbox's clock, so client and "Fortnox" agree on when tokens expire."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.offset = 0.0
        self._mutex = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def seconds(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        with self._mutex:
            self.sandbox.advance_clock(seconds)
            self.offset += seconds


class RecordingSleep:
    """A `sleep` for clients that records each wait and, instead of waiting, moves simulated
    time on (so the sandbox's rate-limit window moves too)."""

    def __init__(self, clock: SimClock | None = None) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


def authorization_code(sandbox: SandboxServer, state: str = "state-abc") -> str:
    """Walk the consent step as the browser would, with the sandbox approving at once."""
    sandbox.set_auto_approve(True)
    url = authorization_url(sandbox.oauth_url, CLIENT_ID, REDIRECT_URI, SCOPES, state)
    response = requests.get(url, allow_redirects=False, timeout=5)
    assert response.status_code in (302, 303), response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def connect(sandbox: SandboxServer, clock: SimClock | None = None) -> Tokens:
    """Connect to the sandbox through the real authorization-code flow."""
    code = authorization_code(sandbox)
    return exchange_code(
        sandbox.oauth_url,
        CLIENT_ID,
        CLIENT_SECRET,
        code,
        REDIRECT_URI,
        clock=clock.now if clock else utcnow,
    )


def make_client(
    sandbox: SandboxServer,
    store: TokenStore,
    *,
    clock: SimClock | None = None,
    lock: LockFactory | None = None,
    rate_limiter: RateLimiter | None = None,
    sleep: Callable[[float], None] | None = None,
    **options: Any,
) -> FortnoxClient:
    return FortnoxClient(
        api_url=sandbox.api_url,
        oauth_url=sandbox.oauth_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_store=store,
        lock=lock or ThreadLock(),
        rate_limiter=rate_limiter or InProcessRateLimiter(),
        clock=clock.now if clock else utcnow,
        sleep=sleep or RecordingSleep(clock),
        **options,
    )


class NoLimit:
    """A rate limiter that never waits (to let Fortnox's own limit speak)."""

    def acquire(self) -> str:
        return ""

    def release(self, ticket: str) -> None:
        pass


def run_workers(
    threads: int,
    call: Callable[[int, int], Any],
    calls: int,
    before_each_round: Callable[[int], None] | None = None,
) -> list[Any]:
    """Run `call(worker, i)` for i in range(calls) in `threads` threads started together.

    With `before_each_round`, the threads move in lockstep: round i starts once every thread
    has finished round i-1 and `before_each_round(i)` has run. Returns every result; re-raises
    the first exception a worker met.
    """
    rounds = iter(range(calls))
    action = (lambda: before_each_round(next(rounds))) if before_each_round else None
    barrier = threading.Barrier(threads, action=action)
    results: list[Any] = []
    errors: list[BaseException] = []
    mutex = threading.Lock()

    def worker(n: int) -> None:
        try:
            if before_each_round is None:
                barrier.wait()
            for i in range(calls):
                if before_each_round is not None:
                    barrier.wait()
                result = call(n, i)
                with mutex:
                    results.append(result)
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # reported to the test below
            with mutex:
                errors.append(exc)
            barrier.abort()

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in pool), "a worker hung"
    return results
