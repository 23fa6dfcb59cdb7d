"""The job layer: one interface, run in-process (no REDIS_URL) or on RQ.

Jobs are module-level functions that take ids and are safe to run twice (state lives in the
database). Enqueue only after the transaction that recorded the work has committed."""

from __future__ import annotations

import traceback
import uuid
from collections.abc import Callable
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext


class InlineQueue:
    """Runs each job at once in the calling process and remembers its outcome."""

    def __init__(self) -> None:
        self._jobs: dict[str, dict[str, Any]] = {}

    def enqueue(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        job_id = uuid.uuid4().hex
        record: dict[str, Any] = {"status": "started", "result": None, "error": None}
        self._jobs[job_id] = record
        try:
            record["result"] = func(*args, **kwargs)
            record["status"] = "finished"
        except Exception as exc:  # recorded for GET /jobs/{id}; the job logged its reason
            current_app.logger.warning("inline job %s failed: %s", func.__name__, exc)
            record["status"] = "failed"
            record["error"] = f"{type(exc).__name__}: {exc}"
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        return self._jobs.get(job_id)


class RQQueue:
    """Puts jobs on Redis for `flask worker`."""

    def __init__(self, redis_url: str, name: str = "default") -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(name, connection=self.connection)

    def enqueue(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        job = self.queue.enqueue(func, *args, **kwargs)
        return job.id

    def status(self, job_id: str) -> dict[str, Any] | None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        # RQ has more states than the API's queued|started|finished|failed.
        state = JobStatus(job.get_status(refresh=True))
        status = {
            JobStatus.QUEUED: "queued",
            JobStatus.DEFERRED: "queued",
            JobStatus.SCHEDULED: "queued",
            JobStatus.STARTED: "started",
            JobStatus.FINISHED: "finished",
        }.get(state, "failed")
        error = None
        if status == "failed":
            result = job.latest_result()
            lines = (result.exc_string or "").strip().splitlines() if result else []
            error = lines[-1] if lines else "failed"
        return {
            "status": status,
            "result": job.return_value() if status == "finished" else None,
            "error": error,
        }


def init_jobs(app: Flask) -> None:
    if app.config.get("JOBS_INLINE") or not app.config.get("REDIS_URL"):
        app.extensions["jobs"] = InlineQueue()
    else:
        app.extensions["jobs"] = RQQueue(app.config["REDIS_URL"])


def get_queue() -> InlineQueue | RQQueue:
    return current_app.extensions["jobs"]


def enqueue(func: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run `func(*args, **kwargs)` as a job; returns the job id."""
    return get_queue().enqueue(func, *args, **kwargs)


def job_status(job_id: str) -> dict[str, Any] | None:
    return get_queue().status(job_id)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run an RQ worker inside the app context (Redash's pattern)."""
    # SimpleWorker runs jobs in this process: no fork, so the app context and the database
    # engine stay valid (a forked work-horse would share pooled connections).
    from rq import SimpleWorker

    queue = get_queue()
    if not isinstance(queue, RQQueue):
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed")
    try:
        SimpleWorker([queue.queue], connection=queue.connection).work(
            burst=burst, with_scheduler=True
        )
    except Exception:
        click.echo(traceback.format_exc(), err=True)
        raise
