"""The job layer: in-process without Redis, and once through a real RQ worker on Redis."""

from __future__ import annotations

import os
import uuid

import pytest

from app.jobs import InlineQueue, RQQueue, enqueue, job_status

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


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


def _redis_available() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def rq_queue(app):
    if not _redis_available():
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is not reachable (CI needs it)")
        pytest.skip("Redis not reachable; set REDIS_URL")
    queue = RQQueue(REDIS_URL, name=f"test-{uuid.uuid4().hex[:8]}")
    previous = app.extensions["jobs"]
    app.extensions["jobs"] = queue
    yield queue
    app.extensions["jobs"] = previous
    queue.queue.delete(delete_jobs=True)


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
