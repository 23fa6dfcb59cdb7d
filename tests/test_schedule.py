"""The timetable: `flask scheduler` registers it with RQ's cron scheduler, and without Redis it
runs in a thread of the process."""

from __future__ import annotations

import threading

from app import schedule
from tests.conftest import work_off


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


def test_the_cron_scheduler_enqueues_the_sweeper_for_a_real_worker(rq_queue):
    due = schedule.cron_scheduler(rq_queue).enqueue_jobs()
    assert [job.name for job in due] == [
        "app.schedule.sweep_sends",
        "app.schedule.sweep_pushes",
        "app.schedule.hourly_sync",
        "app.schedule.nightly_sync",
    ]
    jobs = rq_queue.queue.get_jobs()
    work_off(rq_queue)
    for job in jobs:  # nothing to sweep or sync here: each ran and found nothing
        assert rq_queue.status(job.id) == {"status": "finished", "result": 0, "error": None}
