"""The timetable: `flask scheduler` registers it with RQ's cron scheduler, and without Redis it
runs in a thread of the process."""

from __future__ import annotations

import threading

from app import schedule


def test_the_inline_scheduler_runs_the_sweeper(app, monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr(
        schedule, "TIMETABLE", (schedule.Entry(lambda: ran.set() or 0, interval=3600),)
    )
    stop = threading.Event()
    thread = schedule.start_inline_scheduler(app, stop)
    try:
        assert ran.wait(timeout=10)
    finally:
        stop.set()
        thread.join(timeout=5)


def test_scheduler_command_refuses_without_redis(runner):
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output


def test_the_cron_scheduler_enqueues_the_sweeper_for_a_real_worker(app):
    import os
    import uuid

    import pytest
    from redis import Redis
    from rq import SimpleWorker

    from app.jobs import RQQueue

    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REDIS_URL is not set (CI needs Redis)")
        pytest.skip("REDIS_URL not set")
    Redis.from_url(url).ping()
    queue = RQQueue(url, name=f"test-cron-{uuid.uuid4().hex[:8]}")
    try:
        due = schedule.cron_scheduler(queue).enqueue_jobs()
        assert [job.name for job in due] == [
            "app.schedule.sweep_sends",
            "app.schedule.hourly_sync",
            "app.schedule.nightly_sync",
        ]
        jobs = queue.queue.get_jobs()
        SimpleWorker([queue.queue], connection=queue.connection).work(burst=True)
        for job in jobs:  # nothing to sweep or sync here: each ran and found nothing
            assert queue.status(job.id) == {"status": "finished", "result": 0, "error": None}
    finally:
        queue.queue.delete(delete_jobs=True)
