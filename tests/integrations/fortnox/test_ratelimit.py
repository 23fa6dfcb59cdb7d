"""The client-side Fortnox rate limiters count a call from when they let it go until `period`
after it completes (ratelimit.py), so Fortnox's 5-second window, counted on arrival, never sees
more than 25 requests whatever their latency — alone or under concurrency. Time is injected:
nothing here waits for real or asserts on elapsed wall time."""

from __future__ import annotations

import heapq
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from redis import ConnectionError as RedisConnectionError
from redis import Redis, RedisError

from app.integrations.fortnox.ratelimit import (
    DEFAULT_PERIOD,
    MAX_FLIGHT,
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)

try:  # tests/ as packages, or plain directories (pytest's default "prepend" import mode)
    from . import client_fixtures as fx
except ImportError:
    import client_fixtures as fx

redis_client = fx.redis_client
redis_prefix = fx.redis_prefix

LimiterFactory = Callable[..., RateLimiter]

# What Fortnox allows (FACTS.md §2; the Spec's info.description: "25 requests per 5 seconds"),
# written here, not imported: the limiter's own constants are part of what is under test.
FORTNOX_ALLOWS = 25
FORTNOX_WINDOW = 5.0
# How much longer than Fortnox's window the limiter may hold a slot before it wastes capacity.
SLACK = 0.5


@pytest.fixture(params=["in-process", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> LimiterFactory:
    """Builds limiters of one kind; several Redis limiters share one key, as processes do."""
    if request.param == "in-process":
        return lambda **kw: InProcessRateLimiter(**kw)
    request.applymarker(pytest.mark.redis)
    client: Redis = request.getfixturevalue("redis_client")
    key = request.getfixturevalue("redis_prefix") + "ratelimit"
    return lambda **kw: RedisRateLimiter(client, key, **kw)


def sharing(make_limiter: LimiterFactory, count: int, **kw: object) -> list[RateLimiter]:
    """`count` limiters sharing one window: Redis limiters on one key, as `count` processes
    hold; in-process, one object shared by every client of the process."""
    first = make_limiter(**kw)
    if isinstance(first, InProcessRateLimiter):
        return [first] * count
    return [first] + [make_limiter(**kw) for _ in range(count - 1)]


def max_in_any_window(times: list[float], period: float) -> int:
    """The most times in any half-open window (t - period, t] — how Fortnox counts."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - period:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- How long a caller waits ------------------------------------------------------------------


def test_burst_up_to_the_limit_passes_then_waits_for_the_oldest_completion(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime(start=100.0)
    limiter = make_limiter(clock=t.clock, sleep=t.sleep)
    for _ in range(FORTNOX_ALLOWS):  # 25 calls, 40 ms each, one after the other
        ticket = limiter.acquire()
        t.now += 0.04
        limiter.release(ticket)
    assert t.sleeps == []

    limiter.acquire()

    # The first call completed at 100.04: its slot frees one window (5 s + margin) later.
    assert t.now == pytest.approx(100.04 + DEFAULT_PERIOD)
    assert FORTNOX_WINDOW < t.now - 100.04 <= FORTNOX_WINDOW + SLACK
    assert len(t.sleeps) == 1


def test_while_every_counted_call_is_in_flight_a_waiter_waits_for_the_first_completion(
    make_limiter: LimiterFactory,
) -> None:
    """No slot can free before `period` after the first answer comes in; the waiter sleeps one
    period (nothing can free sooner), then exactly until that answer is one period old."""
    t = fx.FakeTime(start=100.0)

    def sleep(seconds: float) -> None:  # during the first wait, call 2's answer comes in
        t.sleeps.append(seconds)
        if len(t.sleeps) == 1:
            t.now += 0.5
            limiter.release(tickets[1])
            t.now += seconds - 0.5
        else:
            t.now += seconds

    limiter = make_limiter(limit=3, period=5.0, clock=t.clock, sleep=sleep)
    tickets = [limiter.acquire() for _ in range(3)]

    limiter.acquire()

    assert t.sleeps == [pytest.approx(5.0), pytest.approx(0.5)]
    assert t.now == pytest.approx(100.5 + 5.0)


def test_window_slides_each_slot_frees_a_period_after_its_call_completed(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime(start=100.0)
    limiter = make_limiter(limit=4, period=5.0, clock=t.clock, sleep=t.sleep)

    def call(latency: float) -> None:
        ticket = limiter.acquire()
        t.now += latency
        limiter.release(ticket)

    first, second = limiter.acquire(), limiter.acquire()  # two go at t=100…
    t.now = 100.2
    limiter.release(first)  # …and complete at 100.2
    limiter.release(second)
    t.now = 102.5
    call(0.1)  # completes at 102.6
    call(0.0)  # completes at 102.6: the window is full
    t.now = 104.0

    limiter.acquire()  # waits until the calls that completed at 100.2 are a period old

    assert t.sleeps == [pytest.approx(1.2)]
    limiter.acquire()  # the other slot freed at 105.2 too
    assert len(t.sleeps) == 1
    limiter.acquire()  # next: when the calls completed at 102.6 are a period old
    assert t.now == pytest.approx(107.6)


def test_a_call_never_released_frees_its_slot_a_period_after_the_flight_cap(
    make_limiter: LimiterFactory,
) -> None:
    """A worker that dies mid-request never releases: its call counts as completed
    `max_flight` after it was let go."""
    t = fx.FakeTime(start=100.0)
    limiter = make_limiter(limit=1, period=5.0, max_flight=60.0, clock=t.clock, sleep=t.sleep)
    limiter.acquire()  # never released

    limiter.acquire()

    assert t.now == pytest.approx(100.0 + 60.0 + 5.0)


def test_releasing_a_ticket_that_has_aged_out_does_not_count_it_again(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime(start=100.0)
    limiter = make_limiter(
        limit=2, period=5.0, max_flight=60.0, clock=t.clock, sleep=fx.refusing_sleep
    )
    stale = limiter.acquire()
    t.now = 170.0  # 65 s on: the unreleased call no longer counts
    limiter.acquire()  # in flight

    limiter.release(stale)  # its answer comes in after all
    limiter.release("never-issued")

    limiter.acquire()  # the second slot is free: the stale call was not counted again


# --- Fortnox never sees more than 25 in any 5 s -------------------------------------------------


@dataclass
class Call:
    let_go: float
    arrival: float  # at Fortnox: between let-go and completion
    completed: float | None  # None: the worker died mid-request


Latency = Callable[[random.Random], float]

PROFILES: dict[str, Latency] = {
    "fast": lambda rng: rng.uniform(0.005, 0.2),
    "slow tail": lambda rng: rng.uniform(0.01, 0.3) if rng.random() < 0.9 else rng.uniform(1, 20),
    "up to the cap": lambda rng: rng.uniform(0, MAX_FLIGHT),
    "bimodal": lambda rng: rng.choice([0.01, 0.5, 2.0, 4.9, 5.2]),
}


def simulate(
    limiters: list[RateLimiter],
    t: fx.FakeTime,
    latency: Latency,
    *,
    callers: int = 30,
    duration: float = 120.0,
    deaths: float = 0.0,
    seed: int = 7,
) -> list[Call]:
    """`callers` workers call Fortnox back to back for `duration` simulated seconds through
    `limiters` (caller n uses limiters[n % len]). Each request arrives at Fortnox at a random
    moment of its flight — at once, at the very end, or between — so bursts that arrive late
    are followed by bursts that arrive early. With `deaths`, that share of callers die
    mid-request (never releasing; the request arrives within the flight cap) and are replaced.
    The limiters must be built with `clock=t.clock, sleep=fx.refusing_sleep`: a refusal says
    how long to wait, and the caller tries again then."""
    rng = random.Random(seed)
    start = t.now
    sequence = 0
    events: list[tuple[float, int, int, str | None]] = []  # (time, seq, caller, ticket)

    def at(when: float, caller: int, ticket: str | None = None) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (when, sequence, caller, ticket))

    for caller in range(callers):
        at(start, caller)
    calls: list[Call] = []
    while events:
        when, _, caller, ticket = heapq.heappop(events)
        t.now = when
        limiter = limiters[caller % len(limiters)]
        if ticket is not None:  # the answer is in
            limiter.release(ticket)
            at(when, caller)
            continue
        if when - start >= duration:
            continue
        try:
            ticket = limiter.acquire()
        except fx.StopWaiting as waiting:
            at(when + waiting.args[0], caller)
            continue
        flight = latency(rng)
        arrival = when + rng.choice([0.0, flight, rng.uniform(0, flight)])
        if rng.random() < deaths:
            calls.append(Call(when, when + rng.uniform(0, MAX_FLIGHT), None))
            at(when + rng.uniform(0, 2), caller)  # a new worker takes its place
        else:
            calls.append(Call(when, arrival, when + flight))
            at(when + flight, caller, ticket)
    return calls


@pytest.mark.parametrize("profile", PROFILES)
def test_fortnox_never_sees_more_than_25_in_any_window_whatever_the_latency(
    make_limiter: LimiterFactory, profile: str
) -> None:
    t = fx.FakeTime()
    limiters = sharing(make_limiter, 3, clock=t.clock, sleep=fx.refusing_sleep)

    calls = simulate(limiters, t, PROFILES[profile])

    assert max_in_any_window([c.arrival for c in calls], FORTNOX_WINDOW) <= FORTNOX_ALLOWS
    if profile == "fast":  # …and it uses what it may: 25 per window of 5.1 s + a flight
        assert max_in_any_window([c.arrival for c in calls], FORTNOX_WINDOW) == FORTNOX_ALLOWS
        assert len(calls) >= FORTNOX_ALLOWS * int(120.0 / (FORTNOX_WINDOW + SLACK + 0.2))


def test_workers_that_die_mid_request_never_let_fortnox_see_more_than_25(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime()
    limiters = sharing(make_limiter, 3, clock=t.clock, sleep=fx.refusing_sleep)

    calls = simulate(limiters, t, PROFILES["slow tail"], duration=180.0, deaths=0.05)

    assert any(c.completed is None for c in calls)
    assert max_in_any_window([c.arrival for c in calls], FORTNOX_WINDOW) <= FORTNOX_ALLOWS


class _CountsOnlyWhenLettingGo(InProcessRateLimiter):
    """25 per 5 s counted when a call is let go — what Fortnox's count would be if requests
    arrived at once."""

    def release(self, ticket: str) -> None:
        pass


def test_the_simulation_catches_a_limiter_that_counts_only_when_it_lets_go() -> None:
    """The check above has teeth: counting on let-go alone, with Fortnox's own 25 per 5 s,
    lets late-arriving bursts and early-arriving ones meet in one Fortnox window."""
    t = fx.FakeTime()
    limiter = _CountsOnlyWhenLettingGo(
        limit=25, period=5.0, max_flight=1e-9, clock=t.clock, sleep=fx.refusing_sleep
    )

    calls = simulate([limiter], t, PROFILES["bimodal"])

    assert max_in_any_window([c.arrival for c in calls], FORTNOX_WINDOW) > FORTNOX_ALLOWS


# --- Concurrency and Redis ---------------------------------------------------------------------


def test_concurrent_callers_never_get_more_than_the_limit(make_limiter: LimiterFactory) -> None:
    """With time frozen, 8 threads race for slots through 3 limiters that share one window:
    exactly `limit` get one, every other caller is told to wait — a full period, since every
    counted call is still in flight. When those all complete at once, their slots free
    together one period later."""
    t = fx.FakeTime()
    limiters = sharing(make_limiter, 3, clock=t.clock, sleep=fx.refusing_sleep)
    granted: list[str] = []
    refused: list[float] = []
    mutex = threading.Lock()

    def race() -> None:
        go = threading.Barrier(8)

        def worker(n: int) -> None:
            go.wait()
            for i in range(6):
                try:
                    ticket = limiters[(n + i) % 3].acquire()
                except fx.StopWaiting as waiting:
                    with mutex:
                        refused.append(waiting.args[0])
                else:
                    with mutex:
                        granted.append(ticket)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    race()

    assert len(set(granted)) == FORTNOX_ALLOWS
    assert len(refused) == 8 * 6 - FORTNOX_ALLOWS
    assert refused == [pytest.approx(DEFAULT_PERIOD)] * len(refused)
    assert FORTNOX_WINDOW < DEFAULT_PERIOD <= FORTNOX_WINDOW + SLACK

    for n, ticket in enumerate(granted):  # every answer comes in at the same moment
        limiters[n % 3].release(ticket)
    t.now += DEFAULT_PERIOD - 0.01
    with pytest.raises(fx.StopWaiting) as waiting:
        limiters[0].acquire()
    assert waiting.value.args[0] == pytest.approx(0.01, abs=1e-4)
    t.now += 0.01
    granted.clear()
    refused.clear()

    race()

    assert len(granted) == FORTNOX_ALLOWS and len(refused) == 8 * 6 - FORTNOX_ALLOWS


def _server_ms(client: Redis) -> int:
    seconds, microseconds = client.time()
    return int(seconds) * 1000 + int(microseconds) // 1000


@pytest.mark.redis
def test_redis_limiter_counts_on_the_redis_server_clock_by_default(
    redis_client: Redis, redis_prefix: str
) -> None:
    key = redis_prefix + "rl"
    limiter = RedisRateLimiter(redis_client, key, limit=2, period=30.0, sleep=fx.refusing_sleep)
    first = limiter.acquire()
    limiter.acquire()

    now = _server_ms(redis_client)
    # In flight: counted as if it completes one flight cap after it went (server time).
    assert now + MAX_FLIGHT * 1000 - 1000 < (redis_client.zscore(key, first) or 0)
    assert (redis_client.zscore(key, first) or 0) <= now + MAX_FLIGHT * 1000
    limiter.release(first)
    assert abs((redis_client.zscore(key, first) or 0) - _server_ms(redis_client)) < 1000

    with pytest.raises(fx.StopWaiting) as waiting:
        limiter.acquire()

    # Told to wait until the first call's completion is 30 s old: a little under 30 s (no
    # timing tolerance is needed beyond the few milliseconds these calls take).
    assert 25.0 < waiting.value.args[0] <= 30.0
    assert redis_client.zcard(key) == 2
    assert MAX_FLIGHT * 1000 < redis_client.pttl(key) <= (MAX_FLIGHT + 30.0) * 1000


@pytest.mark.redis
def test_redis_limiters_on_different_keys_do_not_share(
    redis_client: Redis, redis_prefix: str
) -> None:
    t = fx.FakeTime()
    first = RedisRateLimiter(
        redis_client, redis_prefix + "a", limit=1, clock=t.clock, sleep=fx.refusing_sleep
    )
    second = RedisRateLimiter(
        redis_client, redis_prefix + "b", limit=1, clock=t.clock, sleep=fx.refusing_sleep
    )
    first.acquire()
    second.acquire()


class _DownRedis:
    """A Redis that cannot be reached: every script call fails as redis-py's would."""

    def register_script(self, script: str) -> Callable[..., object]:
        def run(**_: object) -> object:
            raise RedisConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )

        return run


def test_unreachable_redis_refuses_to_let_a_call_go_but_a_release_only_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without Redis no call may go (nothing is counted); a call that went is done, so
    failing to record its completion must not turn its answer into an error — its slot then
    frees at its provisional time."""
    limiter = RedisRateLimiter(_DownRedis(), "ordna:test:down", sleep=fx.refusing_sleep)  # type: ignore[arg-type]

    with pytest.raises(RedisError):
        limiter.acquire()
    with caplog.at_level(logging.WARNING, logger="app.integrations.fortnox.ratelimit"):
        limiter.release("some-ticket")

    assert "could not record a completed call" in caplog.text
