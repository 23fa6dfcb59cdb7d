"""Client-side rate limiting for Fortnox.

FACTS.md §2: Fortnox allows 25 requests per 5-second sliding window per access token (client id
+ tenant) and answers 429 beyond that. We allow 22 requests (90 %) in any 6 seconds, counted
per integration, across every worker process (Redis) or inside one process:

- 90 % of the count leaves room for clock and counting differences;
- the window is widened by 1 s (`LATENCY_ALLOWANCE`) because we count a request when we let it
  go and Fortnox when it arrives. A burst let go at once arrives spread over the time a request
  takes (a new TLS connection, a slow network), and the next burst, let go exactly one window
  later over warm connections, would otherwise land partly in the same Fortnox window. With
  the wider window, any requests arriving within 5 s at Fortnox were let go within 6 s here,
  whatever their latency up to 1 s. (The sandbox shows this with a 40 ms spread.)
- counting per integration rather than per access token is stricter: a refreshed token starts
  no new window here.

Both limiters keep a sliding-window log (the times of the calls in the last `period`), which
matches how Fortnox counts; a token bucket would allow bursts Fortnox refuses (softwerkab
fortnox-csharp-api-sdk#258: "5 per second" still drew 429s).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol

from redis import Redis

# FACTS.md §2: 25 requests / 5 s per access token; we take 90 % (rounded down) per 5 s + 1 s.
FORTNOX_LIMIT = 25
FORTNOX_PERIOD = 5.0
LATENCY_ALLOWANCE = 1.0
SAFE_LIMIT = int(FORTNOX_LIMIT * 0.9)  # 22
SAFE_PERIOD = FORTNOX_PERIOD + LATENCY_ALLOWANCE  # 6.0 s: 3.7 requests/s sustained


class RateLimiter(Protocol):
    """Blocks until one more Fortnox call may be made, and counts that call."""

    def acquire(self) -> None: ...


class InProcessRateLimiter:
    """A thread-safe sliding-window limiter for one process (`limit` calls per `period` s).

    `clock` returns seconds (monotonic by default) and `sleep` waits; tests inject both.
    Share one instance between every client of the same integration in the process.
    """

    def __init__(
        self,
        limit: int = SAFE_LIMIT,
        period: float = SAFE_PERIOD,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be ≥ 1 and period > 0")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._mutex = threading.Lock()

    def _try(self) -> float:
        """Count a call and return 0, or return how long to wait before trying again."""
        with self._mutex:
            now = self._clock()
            while self._calls and self._calls[0] <= now - self.period:
                self._calls.popleft()
            if len(self._calls) < self.limit:
                self._calls.append(now)
                return 0.0
            return self._calls[0] + self.period - now

    def acquire(self) -> None:
        while (wait := self._try()) > 0:
            self._sleep(wait)


# Sliding-window log in a sorted set (score = call time in ms). Atomic: Redis runs a script
# alone, so concurrent workers never both take the last slot. ARGV[4] is "now" in ms, or empty
# to use the Redis server's clock, so that every worker process counts on one clock.
_ACQUIRE_SCRIPT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, period)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + period - now
if wait < 1 then wait = 1 end
return wait
"""


class RedisRateLimiter:
    """A sliding-window limiter shared by every process using the same Redis and `key`
    (one key per integration, e.g. ``ordna:fortnox:ratelimit:<integration id>``).

    Time is the Redis server's clock unless `clock` (seconds, float) is given — tests inject
    one with `sleep` to count without waiting. The key expires one period after the last call.
    Raises redis.RedisError when Redis is unreachable.
    """

    def __init__(
        self,
        redis: Redis,
        key: str,
        limit: int = SAFE_LIMIT,
        period: float = SAFE_PERIOD,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be ≥ 1 and period > 0")
        self.key = key
        self.limit = limit
        self.period = period
        self._period_ms = max(1, round(period * 1000))
        self._clock = clock
        self._sleep = sleep
        self._script = redis.register_script(_ACQUIRE_SCRIPT)

    def _try(self) -> float:
        now = "" if self._clock is None else str(round(self._clock() * 1000))
        wait_ms = self._script(
            keys=[self.key], args=[self.limit, self._period_ms, uuid.uuid4().hex, now]
        )
        return int(wait_ms) / 1000.0

    def acquire(self) -> None:
        while (wait := self._try()) > 0:
            self._sleep(wait)
