"""The client-side Fortnox rate limiters count calls in a 5-second sliding window (FACTS.md §2)
and never let more than their limit through, alone or under concurrency. Time is injected:
nothing here waits for real or asserts on elapsed wall time."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from redis import Redis

from app.integrations.fortnox.ratelimit import (
    FORTNOX_LIMIT,
    FORTNOX_PERIOD,
    LATENCY_ALLOWANCE,
    SAFE_LIMIT,
    SAFE_PERIOD,
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


@pytest.fixture(params=["in-process", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> LimiterFactory:
    """Builds limiters of one kind; several Redis limiters share one key, as processes do."""
    if request.param == "in-process":
        return lambda **kw: InProcessRateLimiter(**kw)
    request.applymarker(pytest.mark.redis)
    client: Redis = request.getfixturevalue("redis_client")
    key = request.getfixturevalue("redis_prefix") + "ratelimit"
    return lambda **kw: RedisRateLimiter(client, key, **kw)


def max_in_any_window(times: list[float], period: float) -> int:
    """The most calls in any half-open window (t - period, t]."""
    return max(sum(1 for u in times if t - period < u <= t) for t in times)


def test_default_is_90_percent_of_fortnox_limit_over_a_window_widened_for_latency() -> None:
    assert (FORTNOX_LIMIT, FORTNOX_PERIOD) == (25, 5.0)  # FACTS.md §2
    assert (SAFE_LIMIT, SAFE_PERIOD) == (22, FORTNOX_PERIOD + LATENCY_ALLOWANCE) == (22, 6.0)
    limiter = InProcessRateLimiter()
    assert (limiter.limit, limiter.period) == (SAFE_LIMIT, SAFE_PERIOD)


def test_burst_up_to_the_limit_passes_then_waits_for_the_oldest_call(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime()
    limiter = make_limiter(clock=t.clock, sleep=t.sleep)
    for _ in range(SAFE_LIMIT):
        limiter.acquire()
    assert t.sleeps == []

    limiter.acquire()

    assert t.sleeps == [pytest.approx(SAFE_PERIOD)]


def test_window_slides_calls_free_up_as_they_age(make_limiter: LimiterFactory) -> None:
    t = fx.FakeTime(start=100.0)
    limiter = make_limiter(limit=4, period=5.0, clock=t.clock, sleep=t.sleep)
    limiter.acquire()
    limiter.acquire()  # two at t=100
    t.now = 102.5
    limiter.acquire()
    limiter.acquire()  # two at t=102.5: window full
    t.now = 104.0

    limiter.acquire()  # must wait until the two from t=100 age out, at t=105

    assert t.sleeps == [pytest.approx(1.0)]
    limiter.acquire()  # the second slot freed at t=105
    assert len(t.sleeps) == 1
    limiter.acquire()  # next slot frees when the t=102.5 calls age out
    assert t.now == pytest.approx(107.5)


def test_sustained_demand_never_exceeds_the_limit_in_any_window(
    make_limiter: LimiterFactory,
) -> None:
    t = fx.FakeTime()
    limiter = make_limiter(clock=t.clock, sleep=t.sleep)
    start = t.now
    times: list[float] = []
    while t.now - start < 60.0:
        limiter.acquire()
        times.append(t.now)
        t.now += 0.01  # the call itself takes 10 ms

    assert max_in_any_window(times, SAFE_PERIOD) <= SAFE_LIMIT
    # Whatever each request's latency (up to the 1-s allowance), Fortnox's 5-s window, counted
    # on arrival, never sees more than 22.
    jitter = random.Random(7)
    arrivals = sorted(t + jitter.uniform(0, LATENCY_ALLOWANCE) for t in times)
    assert max_in_any_window(arrivals, FORTNOX_PERIOD) <= SAFE_LIMIT
    # …and it uses what it may: 22 per 6 s for a minute.
    assert len(times) >= SAFE_LIMIT * 10


def test_concurrent_callers_never_get_more_than_the_limit(make_limiter: LimiterFactory) -> None:
    """With time frozen, 8 threads race for slots through 3 limiters that share one window
    (three Redis limiters on one key, as three processes would hold; in-process, one object
    shared by every client): exactly `limit` get one, every other caller is told to wait."""
    t = fx.FakeTime()
    first = make_limiter(clock=t.clock, sleep=fx.refusing_sleep)
    limiters: list[RateLimiter]
    if isinstance(first, InProcessRateLimiter):
        limiters = [first] * 3
    else:
        limiters = [first] + [make_limiter(clock=t.clock, sleep=fx.refusing_sleep) for _ in "ab"]
    granted: list[int] = []
    refused: list[float] = []
    mutex = threading.Lock()
    go = threading.Barrier(8)

    def worker(n: int) -> None:
        go.wait()
        for i in range(6):
            try:
                limiters[(n + i) % 3].acquire()
            except fx.StopWaiting as waiting:
                with mutex:
                    refused.append(waiting.args[0])
            else:
                with mutex:
                    granted.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == SAFE_LIMIT
    assert len(refused) == 8 * 6 - SAFE_LIMIT
    assert all(0 < wait <= SAFE_PERIOD for wait in refused)


@pytest.mark.redis
def test_redis_limiter_counts_on_the_redis_server_clock_by_default(
    redis_client: Redis, redis_prefix: str
) -> None:
    limiter = RedisRateLimiter(
        redis_client, redis_prefix + "rl", limit=2, period=30.0, sleep=fx.refusing_sleep
    )
    limiter.acquire()
    limiter.acquire()

    with pytest.raises(fx.StopWaiting) as waiting:
        limiter.acquire()

    # Told to wait for the first call to age out: a little under 30 s (no timing tolerance
    # is needed beyond the few milliseconds these three calls take).
    assert 25.0 < waiting.value.args[0] <= 30.0
    assert redis_client.zcard(redis_prefix + "rl") == 2
    assert 0 < redis_client.pttl(redis_prefix + "rl") <= 30_000


@pytest.mark.redis
def test_redis_limiters_on_different_keys_do_not_share(
    redis_client: Redis, redis_prefix: str
) -> None:
    t = fx.FakeTime()
    first = RedisRateLimiter(
        redis_client, redis_prefix + "a", limit=1, clock=t.clock, sleep=t.sleep
    )
    second = RedisRateLimiter(
        redis_client, redis_prefix + "b", limit=1, clock=t.clock, sleep=t.sleep
    )
    first.acquire()
    second.acquire()
    assert t.sleeps == []
