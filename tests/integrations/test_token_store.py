"""The app's own token store (encrypted in the database) shared by 8 workers, each with a
client built by `services.client_for`, over more than an hour of simulated time: the refresh
token is spent exactly once per renewal and never twice."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.errors import FortnoxError
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def _redis_or_skip() -> None:
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable (CI needs it): {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


@pytest.fixture
def app_config(sandbox_config):
    """The module's sandbox (tests/integrations/conftest.py) and Redis."""
    _redis_or_skip()
    # RedisLock and RedisRateLimiter, as every worker process has
    return {**sandbox_config, "REDIS_URL": REDIS_URL}


class SimulatedClock:
    """Our workers' clock and the sandbox's, moved together."""

    def __init__(self, sandbox) -> None:  # type: ignore[no-untyped-def]
        self.sandbox = sandbox
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: int) -> None:
        self.offset += timedelta(seconds=seconds)
        self.sandbox.advance_clock(seconds)


def test_eight_workers_share_the_database_token_store_without_invalid_grant(app, sandbox):
    clock = SimulatedClock(sandbox)
    tenant = sandbox.create_tenant("Delad Token AB", "556000-4242")
    issued = sandbox.issue_tokens(tenant)
    integration = services.get_or_create_integration(None)
    first = Tokens(issued.access_token, issued.refresh_token, clock.now() + timedelta(hours=1))
    integration.encrypted_tokens = encrypt_tokens(first, services.token_key())
    db.session.commit()
    integration_id = integration.id
    # The lock and limiter live in Redis: give this test run keys of its own.
    redis = Redis.from_url(REDIS_URL)
    redis.delete(
        f"ordna:fortnox:{integration_id}:refresh-lock", f"ordna:fortnox:{integration_id}:rate"
    )

    rounds, workers = 10, 8  # 10 × 7 simulated minutes = 70 minutes
    barrier = threading.Barrier(workers + 1)
    failures: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                from app.integrations.models import FortnoxIntegration

                mine = db.session.get(FortnoxIntegration, integration_id)
                client = services.client_for(mine, clock=clock.now)
                for _ in range(rounds):
                    barrier.wait(timeout=60)  # all workers call at once
                    client.company_information()
                    barrier.wait(timeout=60)  # then the main thread moves time on
                client.close()
            except (FortnoxError, threading.BrokenBarrierError, Exception) as exc:
                failures.append(exc)
                barrier.abort()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(rounds):
            barrier.wait(timeout=60)
            barrier.wait(timeout=60)
            clock.advance(7 * 60)
    except threading.BrokenBarrierError:
        pass
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures

    token_calls = sandbox.requests_log(method="POST", path="/oauth-v1/token")
    assert token_calls, "the token must have been renewed within 70 minutes"
    assert all(call["status"] == 200 for call in token_calls), token_calls  # no invalid_grant
    assert len(token_calls) == 1  # one renewal, made by one worker for all eight
    db.session.expire_all()
    stored = services.DbTokenStore(integration_id, services.token_key()).load()
    assert stored.refresh_token != first.refresh_token
    assert stored.expires_at > clock.now()
