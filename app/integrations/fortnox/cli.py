"""`flask fortnox …`: operator commands for the Fortnox integration."""

from __future__ import annotations

import click
from flask.cli import AppGroup

fortnox = AppGroup("fortnox", help="Fortnox-integrationen.")


@fortnox.command("sweep")
@click.option("--limit", default=200, show_default=True, help="At most this many sends.")
def sweep_command(limit: int) -> None:
    """Put sends and register pushes that are due back on the queue: retries whose time has
    come and those whose worker died (lease run out). Harmless when run twice."""
    from app.integrations.fortnox import pushing, sending

    click.echo(f"Enqueued {sending.sweep(limit=limit)} send(s).")
    click.echo(f"Enqueued {pushing.sweep(limit=limit)} register push(es).")


@fortnox.command("sync")
@click.option(
    "--part",
    "parts",
    multiple=True,
    type=click.Choice(["cost_centers", "terms_of_delivery", "ways_of_delivery", "customers",
                       "articles", "prices", "invoice_status"]),
    help="A part to sync (repeatable); all when left out.",
)  # fmt: skip
@click.option("--subgroup", default=None, help="The subgroup's name; the organisation's without.")
@click.option("--full", is_flag=True, help="Ignore the cursors: fetch every record.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Run here and report.")
def sync_command(parts: tuple[str, ...], subgroup: str | None, full: bool, wait: bool) -> None:
    """Sync with Fortnox now, as "Synka nu" does."""
    from sqlalchemy import select

    from app.auth.models import Subgroup
    from app.errors import ServiceError
    from app.extensions import db
    from app.integrations.fortnox import services, sync

    subgroup_id = None
    if subgroup:
        found = db.session.scalar(select(Subgroup).where(Subgroup.name == subgroup))
        if found is None:
            raise click.ClickException(f"No subgroup named {subgroup!r}.")
        subgroup_id = found.id
    integration = services.integration_for_subgroup(subgroup_id)
    if integration is None:
        raise click.ClickException("That integration does not exist.")
    try:
        run = sync.start_sync(integration, parts or None, trigger="cli", by=None, full=full)
    except ServiceError as exc:
        raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    if not wait:
        click.echo(f"Sync run {run.id} queued (job {sync.enqueue_sync(run, full=full)}).")
        return
    result = sync.run_sync(run.id, full)
    db.session.expire_all()
    finished = db.session.get(type(run), run.id)
    for line in (finished.log or [])[-5:] if finished else []:
        click.echo(line["text"])
    if result["status"] != "finished":
        raise click.ClickException(f"Sync run {run.id} {result['status']}.")


@fortnox.command("feed")
def feed_command() -> None:
    """Listen to Fortnox's change notifications (one connection for every connected
    integration) and sync what changed; polls while the socket is down. Runs until SIGTERM or
    Ctrl-C. Run one per deployment; a second one waits as a standby (docs/sync.md)."""
    import signal
    import threading

    from flask import current_app

    from app.integrations.fortnox.feed import Listener, feed_url

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"Listening to {feed_url(app.config)} (Ctrl-C stops).")
    Listener(app).run(stop)
