"""What runs without anyone clicking: the jobs on a timetable, and `flask scheduler` (RQ's own
CronScheduler) that enqueues them. Every scheduled job is harmless when it fires twice (two
schedulers, a restart), so running more than one scheduler loses nothing.

Without Redis (`make run`) the same timetable runs in a background thread of the process
(:func:`start_inline_scheduler`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

if TYPE_CHECKING:
    from rq.cron import CronScheduler

    from app.jobs import RQQueue


def sweep_sends() -> int:
    """Re-enqueue Fortnox sends that are due (retries, sends whose worker died)."""
    from app.integrations.fortnox.sending import sweep

    return sweep()


def sweep_pushes() -> int:
    """Re-enqueue customer and article pushes to Fortnox that are due."""
    from app.integrations.fortnox.pushing import sweep

    return sweep()


@dataclass(frozen=True)
class Entry:
    func: Callable[[], object]
    interval: int  # seconds


def hourly_sync() -> int:
    """The hourly sync of every connected integration with "Synkning varje timme" on (the
    registers and status back, from their cursors). Returns how many were started."""
    return _start_syncs(full=False)


def nightly_sync() -> int:
    """The nightly full sync ("Nattlig synkronisering"): every record, not only the changed.
    Runs hourly and acts once a night, between 02:00 and 03:00 Swedish time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if datetime.now(ZoneInfo("Europe/Stockholm")).hour != 2:
        return 0
    return _start_syncs(full=True)


def _start_syncs(*, full: bool) -> int:
    from app.errors import Conflict
    from app.extensions import db
    from app.integrations.fortnox import services, sync

    started = 0
    for integration in services.all_integrations():
        wanted = integration.nightly_sync if full else integration.hourly_sync
        if not wanted or not integration.encrypted_tokens:
            continue
        try:
            run = sync.start_sync(integration, None, trigger="scheduled", by=None, full=full)
        except Conflict:  # one is running: this round is done by it
            db.session.rollback()
            continue
        db.session.commit()
        sync.enqueue_sync(run, full=full)
        started += 1
    return started


TIMETABLE: tuple[Entry, ...] = (
    Entry(sweep_sends, 60),
    Entry(sweep_pushes, 60),
    Entry(hourly_sync, 3600),
    Entry(nightly_sync, 3600),
)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run RQ's cron scheduler: enqueues the timetable's jobs for `flask worker`."""
    from app.jobs import RQQueue, get_queue

    queue = get_queue()
    if not isinstance(queue, RQQueue):
        raise click.ClickException("REDIS_URL is not set: the timetable runs in-process")
    cron_scheduler(queue).start()


def cron_scheduler(queue: RQQueue) -> CronScheduler:
    """RQ's CronScheduler with the timetable registered on ``queue`` (each job isolated)."""
    from rq.cron import CronScheduler

    from app.jobs import run_isolated

    scheduler = CronScheduler(connection=queue.connection)
    for entry in TIMETABLE:
        path = f"{entry.func.__module__}.{entry.func.__qualname__}"
        scheduler.register(
            run_isolated, queue.queue.name, args=(path,), interval=entry.interval, name=path
        )
    return scheduler


def start_inline_scheduler(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Run the timetable in a daemon thread of this process (no Redis: `make run`)."""
    stop = stop or threading.Event()
    last: dict[str, float] = {}

    def loop() -> None:
        while not stop.is_set():
            now = time.monotonic()
            for entry in TIMETABLE:
                name = entry.func.__qualname__
                if name not in last or now - last[name] >= entry.interval:
                    last[name] = now
                    with app.app_context():
                        try:
                            from app.jobs import enqueue

                            enqueue(entry.func)
                        except Exception:  # logged; the next round tries again
                            current_app.logger.exception("scheduled job %s failed", name)
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="ordna-scheduler", daemon=True)
    thread.start()
    return thread
