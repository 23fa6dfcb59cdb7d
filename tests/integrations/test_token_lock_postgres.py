"""Token refresh without Redis on PostgreSQL (several gunicorn workers, no REDIS_URL): the
refresh of one integration still happens one at a time, through a PostgreSQL advisory lock,
and a job that recorded an error (holding the integration's row) never waits on the token
store's own write."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens


@pytest.fixture
def app_config(sandbox_config):
    """The module's sandbox (tests/integrations/conftest.py), no Redis."""
    return {**sandbox_config, "REDIS_URL": None}


@pytest.fixture
def postgres(app):
    if db.engine.dialect.name != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("CI runs the suite on PostgreSQL (TEST_DATABASE_URL)")
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")


def _expired_integration(sandbox):
    tenant = sandbox.create_tenant("Ingen Redis AB", "556000-7777")
    issued = sandbox.issue_tokens(tenant)
    integration = services.get_or_create_integration(None)
    stale = Tokens(issued.access_token, issued.refresh_token, datetime.now(UTC) - timedelta(1))
    integration.encrypted_tokens = encrypt_tokens(stale, services.token_key())
    db.session.commit()
    return integration, stale


def test_without_redis_the_lock_is_a_postgres_advisory_lock(app, postgres):
    assert isinstance(services.lock_for(1), services.PostgresAdvisoryLock)


def test_six_processes_without_redis_refresh_once(app, postgres, sandbox):
    integration, stale = _expired_integration(sandbox)
    integration_id = integration.id
    barrier = threading.Barrier(6)
    failures: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                from app.integrations.models import FortnoxIntegration

                mine = db.session.get(FortnoxIntegration, integration_id)
                # Each its own lock object, as separate gunicorn processes have: only the
                # database is shared.
                lock = services.PostgresAdvisoryLock(db.engine, integration_id)
                client = services.client_for(mine, lock=lock)
                barrier.wait(timeout=30)
                client.company_information()
                client.close()
            except Exception as exc:
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    token_calls = sandbox.requests_log(method="POST", path="/oauth-v1/token")
    assert [call["status"] for call in token_calls] == [200]  # one refresh, no invalid_grant
    stored = services.DbTokenStore(integration_id, services.token_key()).load()
    assert stored.refresh_token != stale.refresh_token


def test_a_refresh_after_recording_an_error_does_not_wait_on_its_own_row(app, postgres, sandbox):
    integration, _stale = _expired_integration(sandbox)
    # The job's session changes the integration's row and has not committed yet...
    services.record_error(integration, "sync:articles", "Artiklarna kunde inte hämtas.")
    outcome: list[object] = []

    client = services.client_for(integration)

    def call() -> None:
        with app.app_context():
            try:
                outcome.append(client.company_information()["CompanyName"])
            except Exception as exc:  # reported by the assertion below
                outcome.append(exc)
            finally:
                client.close()
                db.session.remove()

    # ...and the refresh (saved in the store's own transaction) must not wait for it.
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "the token refresh waited on the job's own row lock"
    assert outcome == ["Ingen Redis AB"]
    db.session.commit()
