"""The job layer: in-process without Redis, and once through a real RQ worker on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.jobs import InlineQueue, RQQueue, enqueue, job_status


def fail_on_purpose(reason: str) -> None:
    raise ValueError(reason)


def count_customers() -> int:
    from sqlalchemy import func, select

    from app.customers.models import Customer
    from app.extensions import db

    return db.session.scalar(select(func.count()).select_from(Customer))


def test_inline_queue_runs_at_once_and_records_failures(app):
    assert isinstance(app.extensions["jobs"], InlineQueue)
    ok = enqueue(count_customers)
    assert job_status(ok) == {"status": "finished", "result": 0, "error": None}
    failed = enqueue(fail_on_purpose, "trasigt")
    status = job_status(failed)
    assert status["status"] == "failed" and "trasigt" in status["error"]


def test_jobs_run_through_a_real_rq_worker_on_redis(app, rq_queue):
    from rq import SimpleWorker

    from tests import factories

    factories.customer(name="Via kön AB")
    ok = enqueue(count_customers)
    failed = enqueue(fail_on_purpose, "avsiktligt fel")
    assert job_status(ok)["status"] == "queued"
    # The worker runs in this process with the app context, as `flask worker` does.
    SimpleWorker([rq_queue.queue], connection=rq_queue.connection).work(burst=True)
    assert job_status(ok) == {"status": "finished", "result": 1, "error": None}
    status = job_status(failed)
    assert status["status"] == "failed" and "avsiktligt fel" in status["error"]


# --- `flask worker` itself ----------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.fixture
def worker_redis_url() -> str:
    """REDIS_URL, reachable, with the queue `flask worker` takes jobs from emptied. Without it
    the test is skipped, except under CI=true, where it fails instead."""
    from redis import Redis
    from rq import Queue

    url = os.environ.get("REDIS_URL")
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    if not url:
        if ci:
            pytest.fail("REDIS_URL is not set (CI needs it)", pytrace=False)
        pytest.skip("needs Redis: set REDIS_URL")
    try:
        connection = Redis.from_url(url, socket_connect_timeout=2)
        connection.ping()
    except Exception as exc:
        if ci:
            pytest.fail(f"Redis at {url} is not reachable ({exc}) and CI needs it", pytrace=False)
        pytest.skip(f"Redis at {url} is not reachable ({exc})")
    Queue("default", connection=connection).empty()
    connection.close()
    return url


@pytest.fixture
def rq_app_config(worker_redis_url: str) -> dict[str, object]:
    return {"REDIS_URL": worker_redis_url, "JOBS_INLINE": False}


@pytest.fixture
def app_config(request: pytest.FixtureRequest) -> dict[str, object]:
    """This module's app: jobs in-process, or on Redis for tests that ask for `rq_app_config`."""
    if "rq_app_config" in request.fixturenames:
        return request.getfixturevalue("rq_app_config")
    return {}


def test_flask_worker_burst_runs_the_jobs_the_app_enqueued(app, rq_app_config):
    """The real `flask worker --burst` (wsgi.py, production config from the environment), in a
    process of its own, runs what the app put on Redis against the same database."""
    from tests import factories
    from tests.conftest import DATABASE_URL

    assert isinstance(app.extensions["jobs"], RQQueue)
    factories.customer(name="Via kön AB")
    ok = enqueue(count_customers)
    failed = enqueue(fail_on_purpose, "avsiktligt fel")
    assert job_status(ok)["status"] == "queued"
    drop = ("TEST_DATABASE_URL", "FLASK_DEBUG", "ORDNA_ENV", "JOBS_INLINE")
    env = {
        **{k: v for k, v in os.environ.items() if k not in drop},
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": rq_app_config["REDIS_URL"],
        "SECRET_KEY": "test-secret-key",
        "FORTNOX_CLIENT_ID": "test-client",
        "FORTNOX_CLIENT_SECRET": "test-secret",
    }

    worker = subprocess.run(
        [FLASK, "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert worker.returncode == 0, worker.stderr[-3000:]
    assert job_status(ok) == {"status": "finished", "result": 1, "error": None}
    status = job_status(failed)
    assert status["status"] == "failed" and "avsiktligt fel" in status["error"]


def test_flask_worker_without_redis_says_no_worker_is_needed(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
