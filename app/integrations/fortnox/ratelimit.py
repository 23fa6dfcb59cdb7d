"""Client-side rate limiting for Fortnox.

FACTS.md §2: Fortnox allows 25 requests per 5-second sliding window per access token (client id
+ tenant), counted when a request arrives, and answers 429 beyond that. We let Fortnox's full
25 through, per integration, across every worker process (Redis) or inside one process, and
never draw a 429 whatever the latency — because a call is counted from when we let it go until
`period` after it has COMPLETED (its answer received, or it failed):

- `acquire()` lets a call go only while fewer than `limit` calls are counted, and returns a
  ticket; the call counts as in flight. `release(ticket)` records its completion; its slot
  frees `period` (5 s + `MARGIN`) after that.
- Why that is safe for any latency: take any 26 requests and the one of them let go last, B.
  When B went, at most 24 calls were counted, so one of the 25 others, A, was no longer
  counted: it had completed at least `period` before B went. A arrived at Fortnox before it
  completed and B after it went, so A arrived at least `period` (> 5 s) before B, and the 26
  never fall within one 5-s Fortnox window.
  `MARGIN` (0.1 s) covers clock resolution and steps, and whether Fortnox's window is open or
  closed at its edges; the argument itself needs none.
- A process that dies mid-request never releases. So an in-flight call is kept in the log at a
  provisional time, let-go + `MAX_FLIGHT` (60 s), as if it completed then: its slot frees at
  the latest `MAX_FLIGHT + period` after it went. That is safe as long as a request arrives
  within `MAX_FLIGHT` of being let go (the client connects within 5 s and sends at once);
  a release after that only moves its time later, which is safe too.
- A waiting caller sleeps until the earliest moment a slot can free — `period` after the oldest
  completion counted, or, while every counted call is still in flight, `period` from now (none
  can complete earlier than now) — then tries again. Nothing is lost to polling.
- Counting per integration rather than per access token is stricter: a refreshed token starts
  no new window here.

Compared with counting a call only when it is let go (which needs a widened window and a lower
count to be safe against latency: 22 per 6 s, ≈ 1.6 × the time Fortnox needs for 100 calls),
this lets 100 calls through in 3 × 5.1 s plus the time the workers take to send the first 25
(and the last): benchmarks/bench_send.py.

Both limiters keep a sliding-window log (the times of the calls counted), which matches how
Fortnox counts; a token bucket would allow bursts Fortnox refuses (softwerkab
fortnox-csharp-api-sdk#258: "5 per second" still drew 429s).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from redis import Redis, RedisError

log = logging.getLogger(__name__)

# FACTS.md §2: 25 requests / 5 s per access token.
FORTNOX_LIMIT = 25
FORTNOX_PERIOD = 5.0
MARGIN = 0.1  # seconds added to the window: clock resolution and steps, Fortnox's window edges
DEFAULT_LIMIT = FORTNOX_LIMIT
DEFAULT_PERIOD = FORTNOX_PERIOD + MARGIN
# Longer than a request can take to reach Fortnox (the client's connect timeout is 5 s): an
# unreleased call (its process died) counts as completed this long after it was let go.
MAX_FLIGHT = 60.0


class RateLimiter(Protocol):
    """Lets a Fortnox call go when one more may be made, and counts it until `period` after it
    completes.

    `acquire()` blocks until the call may be made and returns its ticket; `release(ticket)` is
    called once its answer has come back or it failed (always: in a ``finally``)."""

    def acquire(self) -> str: ...

    def release(self, ticket: str) -> None: ...


def _check(limit: int, period: float, max_flight: float) -> None:
    if limit < 1 or period <= 0 or max_flight <= 0:
        raise ValueError("limit must be ≥ 1, period and max_flight > 0")


class InProcessRateLimiter:
    """A thread-safe limiter for one process: at most `limit` calls counted, each from when it
    is let go until `period` s after it completes (see the module's docstring).

    `clock` returns seconds (monotonic by default) and `sleep` waits; tests inject both.
    Share one instance between every client of the same integration in the process.
    """

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        period: float = DEFAULT_PERIOD,
        *,
        max_flight: float = MAX_FLIGHT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check(limit, period, max_flight)
        self.limit = limit
        self.period = period
        self.max_flight = max_flight
        self._clock = clock
        self._sleep = sleep
        # ticket → completion time (provisional, let-go + max_flight, while in flight)
        self._calls: dict[str, float] = {}
        self._tickets = itertools.count(1)
        self._mutex = threading.Lock()

    def _try(self) -> tuple[str | None, float]:
        """Count a call: its ticket; or None and how long to wait before trying again."""
        with self._mutex:
            now = self._clock()
            horizon = now - self.period
            for ticket in [t for t, done in self._calls.items() if done <= horizon]:
                del self._calls[ticket]
            if len(self._calls) < self.limit:
                ticket = str(next(self._tickets))
                self._calls[ticket] = now + self.max_flight
                return ticket, 0.0
            # The earliest a slot can free: `period` after the oldest completion, or after now
            # if every counted call is still in flight.
            # (A microsecond more, so that float rounding never wakes a waiter a hair early.)
            oldest = min(min(self._calls.values()), now)
            return None, max(oldest + self.period - now, 0.0) + 1e-6

    def acquire(self) -> str:
        while True:
            ticket, wait = self._try()
            if ticket is not None:
                return ticket
            self._sleep(wait)

    def release(self, ticket: str) -> None:
        with self._mutex:
            if ticket in self._calls:
                self._calls[ticket] = self._clock()


# A sliding-window log in a sorted set: member = ticket, score = completion time in ms
# (provisional, let-go + max flight, while in flight). Atomic: Redis runs a script alone, so
# concurrent workers never both take the last slot. "now" (the last argument) is in ms, or
# empty to use the Redis server's clock, so that every worker process counts on one clock.
_NOW = """
local now
if ARGV[#ARGV] ~= '' then
  now = tonumber(ARGV[#ARGV])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# ARGV: limit, period ms, max flight ms, ticket, now. Returns 0 (counted) or the ms to wait.
_ACQUIRE_SCRIPT = (
    _NOW
    + """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local flight = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now + flight, ARGV[4])
  redis.call('PEXPIRE', key, flight + period)
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
if oldest > now then oldest = now end
local wait = oldest + period - now
if wait < 1 then wait = 1 end
return wait
"""
)

# ARGV: ticket, now. The call completed now; a ticket no longer in the log is left out (XX).
_RELEASE_SCRIPT = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])
return 0
"""
)


class RedisRateLimiter:
    """The limiter shared by every process using the same Redis and `key` (one key per
    integration, e.g. ``ordna:fortnox:<integration id>:rate``); see the module's docstring.

    Time is the Redis server's clock unless `clock` (seconds, float) is given — tests inject
    one with `sleep` to count without waiting. The key expires `max_flight + period` after the
    last call was let go. `acquire` raises redis.RedisError when Redis is unreachable;
    `release` logs it instead (the call is done; its slot then frees at its provisional time,
    which is only slower).
    """

    def __init__(
        self,
        redis: Redis,
        key: str,
        limit: int = DEFAULT_LIMIT,
        period: float = DEFAULT_PERIOD,
        *,
        max_flight: float = MAX_FLIGHT,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check(limit, period, max_flight)
        self.key = key
        self.limit = limit
        self.period = period
        self.max_flight = max_flight
        self._period_ms = max(1, round(period * 1000))
        self._flight_ms = max(1, round(max_flight * 1000))
        self._clock = clock
        self._sleep = sleep
        self._acquire = redis.register_script(_ACQUIRE_SCRIPT)
        self._release = redis.register_script(_RELEASE_SCRIPT)

    def _now(self) -> str:
        return "" if self._clock is None else str(round(self._clock() * 1000))

    def acquire(self) -> str:
        ticket = uuid.uuid4().hex
        while True:
            wait_ms = self._acquire(
                keys=[self.key],
                args=[self.limit, self._period_ms, self._flight_ms, ticket, self._now()],
            )
            if int(wait_ms) == 0:
                return ticket
            self._sleep(int(wait_ms) / 1000.0)

    def release(self, ticket: str) -> None:
        try:
            self._release(keys=[self.key], args=[ticket, self._now()])
        except RedisError as exc:
            log.warning(
                "Fortnox rate limit: could not record a completed call (%s); its slot frees "
                "%.0f s after it went",
                exc,
                self.max_flight + self.period,
            )
