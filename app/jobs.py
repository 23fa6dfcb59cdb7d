"""The job layer: one interface, run in-process (no REDIS_URL) or on RQ.

Jobs are module-level functions that take ids and are safe to run twice (state lives in the
database). Enqueue only after the transaction that recorded the work has committed.

Every job runs in an app context of its own, so it has its own database session, removed when
it ends: a job can never see or leave behind another job's (or the request's) half-done work.
In-process jobs go the same way (a fresh app context), and only the latest
:data:`INLINE_RESULTS_KEPT` outcomes are kept in memory."""

from __future__ import annotations

import functools
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

P = ParamSpec("P")
R = TypeVar("R")

INLINE_RESULTS_KEPT = 1000


def isolated(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` in a fresh app context (its own ``db.session``), removed afterwards.

    Both queues apply it to every job, so a worker (one app context for its life) and the
    in-process queue (inside a request) run each job isolated."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from app.extensions import db

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.rollback()  # nothing uncommitted survives the job
                db.session.remove()

    return run


def run_isolated(func_path: str, *args: Any, **kwargs: Any) -> Any:
    """What an RQ worker runs: the job function named by its import path, isolated."""
    from rq.utils import import_attribute

    func = import_attribute(func_path)
    return isolated(func)(*args, **kwargs)


@dataclass(frozen=True)
class JobOptions:
    """How a job is run on RQ: retries with back-off for transient failures and a timeout."""

    retries: int = 0
    intervals: tuple[int, ...] = (10, 60, 300)  # seconds between attempts
    timeout: int = 300  # seconds; RQ stops the job after this


class InlineQueue:
    """Runs each job at once in the calling process (in its own app context, see
    :func:`isolated`) and remembers the latest outcomes."""

    def __init__(self, keep: int = INLINE_RESULTS_KEPT) -> None:
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._owners: dict[str, int | None] = {}
        self._keep = keep

    def enqueue(
        self,
        func: Callable[..., Any],
        *args: Any,
        options: JobOptions | None = None,
        owner_id: int | None = None,
        **kwargs: Any,
    ) -> str:
        job_id = uuid.uuid4().hex
        record: dict[str, Any] = {"status": "started", "result": None, "error": None}
        self._jobs[job_id] = record
        self._owners[job_id] = owner_id
        while len(self._owners) > self._keep:
            self._owners.pop(next(iter(self._owners)))
        while len(self._jobs) > self._keep:
            self._jobs.popitem(last=False)
        try:
            record["result"] = isolated(func)(*args, **kwargs)
            record["status"] = "finished"
        except Exception as exc:  # recorded for GET /jobs/{id}; the job logged its reason
            current_app.logger.warning("inline job %s failed: %s", func.__name__, exc)
            record["status"] = "failed"
            record["error"] = f"{type(exc).__name__}: {exc}"
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        return self._jobs.get(job_id)

    def owner(self, job_id: str) -> int | None:
        return self._owners.get(job_id)


class RQQueue:
    """Puts jobs on Redis for `flask worker`."""

    def __init__(self, redis_url: str, name: str = "default") -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(name, connection=self.connection)

    def enqueue(
        self,
        func: Callable[..., Any],
        *args: Any,
        options: JobOptions | None = None,
        owner_id: int | None = None,
        **kwargs: Any,
    ) -> str:
        from rq import Retry

        options = options or JobOptions()
        retry = (
            Retry(max=options.retries, interval=list(options.intervals))
            if options.retries
            else None
        )
        job = self.queue.enqueue_call(
            run_isolated,
            args=(f"{func.__module__}.{func.__qualname__}", *args),
            kwargs=kwargs,
            timeout=options.timeout,
            retry=retry,
            description=f"{func.__module__}.{func.__qualname__}{args!r}",
            meta={"owner_id": owner_id},
        )
        return job.id

    def owner(self, job_id: str) -> int | None:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        owner = job.meta.get("owner_id")
        return owner if isinstance(owner, int) else None

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


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    options: JobOptions | None = None,
    owner_id: int | None = None,
    **kwargs: Any,
) -> str:
    """Run `func(*args, **kwargs)` as a job (isolated: its own app context and session);
    returns the job id. ``options``: retries and timeout on RQ. ``owner_id``: the user who
    asked for it — only they (and admins) may read its status."""
    return get_queue().enqueue(func, *args, options=options, owner_id=owner_id, **kwargs)


def job_owner(job_id: str) -> int | None:
    """Who asked for the job (None: nobody known, e.g. a scheduled job)."""
    return get_queue().owner(job_id)


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
