"""The service protocol (serviceprotokoll): the order as the customer keeps it, rendered from
the Jinja template `orders/protocol/protocol.html` to an A4 PDF with WeasyPrint.

Always Swedish, whatever the signed-in user's language: it is the customer's document. The
renderer fetches nothing from the network; the only image, the drawn signature, is inlined
as a data URL.

The HTML is made here; WeasyPrint lays it out in a process of its own (forked from a
forkserver that has WeasyPrint loaded), stopped after ``PROTOCOL_RENDER_SECONDS``: an order at
the limits of app/limits.py (200 actions of 5 000 characters, 500 rows) would take a minute,
longer than a web worker may take and than a user waits. Such an order gets a clear message
instead (``ProtocolTooLarge``), and the worker is free again on time; the order itself is
untouched. Memory is not capped with an address-space limit: fontconfig, starved by one,
rewrites the machine's font cache as empty (seen here), and every later PDF loses its fonts.
The time limit bounds it instead (the unbounded render reached 4 GB only after minutes)."""

from __future__ import annotations

import base64
import multiprocessing
import resource
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from multiprocessing.connection import Connection

from flask import Response, current_app, g, render_template, send_file
from flask_babel import force_locale
from flask_babel import gettext as _

from app.errors import ServiceError
from app.i18n import local_today
from app.orders.models import Action, ArticleRow, Order
from app.settings.services import protocol_shows_prices


@dataclass(frozen=True)
class ActionDay:
    """The actions of one date, with the day's hours."""

    date: date
    actions: list[Action]

    @property
    def hours(self) -> Decimal:
        return sum((a.hours or Decimal("0") for a in self.actions), Decimal("0"))


def protocol_filename(order: Order) -> str:
    return f"serviceprotokoll-{order.kind.prefix}-{order.number}.pdf"


def printed_rows(order: Order) -> list[ArticleRow]:
    """The article rows the protocol shows: all but those of articles marked "Dölj för
    inloggad kund och vid utskrift"."""
    return [row for row in order.article_rows if not row.article.hidden]


def action_days(order: Order) -> list[ActionDay]:
    """The order's actions grouped by date, oldest first, each day in the order entered."""
    days: dict[date, list[Action]] = {}
    for action in sorted(order.actions, key=lambda a: (a.date, a.position)):
        days.setdefault(action.date, []).append(action)
    return [ActionDay(day, actions) for day, actions in days.items()]


def protocol_html(order: Order, *, show_prices: bool | None = None) -> str:
    """The protocol as HTML. `show_prices` None: the organisation's setting "Visa priser på
    protokollet". Needs an app context."""
    if show_prices is None:
        show_prices = protocol_shows_prices()
    rows = printed_rows(order)
    signature = None
    if order.is_signed and order.signature_png:
        signature = "data:image/png;base64," + base64.b64encode(order.signature_png).decode()
    with swedish():
        return render_template(
            "orders/protocol/protocol.html",
            order=order,
            organisation=current_app.config["ORGANISATION_NAME"],
            rows=rows,
            days=action_days(order),
            total_hours=sum((a.hours or Decimal("0") for a in order.actions), Decimal("0")),
            show_prices=show_prices,
            total=sum((r.quantity * r.price for r in rows), Decimal("0")),
            signature=signature,
            printed_on=local_today(),
            title=_(
                "Serviceprotokoll %(number)s",
                number=order.display_number,
            ),
        )


class ProtocolTooLarge(ServiceError):
    """The protocol could not be laid out within the time a protocol may take."""

    status = 422
    code = "protocol_too_large"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            _(
                "Protokollet blev för stort för att skapas (mer än %(seconds)s sekunder). "
                "Ordern är sparad som den är; korta ned långa åtgärdstexter eller dela upp "
                "ordern, och försök igen.",
                seconds=f"{seconds:g}",
            )
        )


def render_protocol(order: Order, *, show_prices: bool | None = None) -> bytes:
    """The protocol as PDF bytes (A4). Needs an app context. Raises ``ProtocolTooLarge`` when
    the layout takes longer than ``PROTOCOL_RENDER_SECONDS``."""
    html = protocol_html(order, show_prices=show_prices)
    with swedish():  # the message, should there be one
        return html_to_pdf(html, seconds=float(current_app.config["PROTOCOL_RENDER_SECONDS"]))


_forkserver: multiprocessing.context.ForkServerContext | None = None


def _context() -> multiprocessing.context.ForkServerContext:
    """Layout processes are forked from a server process that has WeasyPrint (and Pango) loaded
    once, never from a worker with threads and database connections."""
    global _forkserver
    if _forkserver is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["weasyprint"])
        _forkserver = context
    return _forkserver


def html_to_pdf(html: str, *, seconds: float) -> bytes:
    """``html`` laid out as PDF in a process of its own, killed after ``seconds`` (and held to
    that much CPU time, should this process die first). Raises ``ProtocolTooLarge`` when it
    does not finish in time."""
    context = _context()
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(
        target=_layout, args=(html, theirs, seconds), name="ordna-protocol-pdf"
    )
    process.start()
    theirs.close()
    try:
        if not ours.poll(seconds):
            raise ProtocolTooLarge(seconds)
        try:
            ok, payload = ours.recv()
        except EOFError:  # killed: out of CPU time
            raise ProtocolTooLarge(seconds) from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        ours.close()
    if not ok:
        raise RuntimeError(f"the protocol could not be laid out: {payload}")
    return bytes(payload)


def _layout(html: str, conn: Connection, seconds: float) -> None:
    """In the layout process: WeasyPrint, held to ``seconds`` of CPU."""
    cpu = max(1, int(seconds) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher

        # data: URLs only, so text typed into an order can never make the renderer fetch a URL.
        fetcher = URLFetcher(allowed_protocols=["data"])
        result: tuple[bool, object] = (True, HTML(string=html, url_fetcher=fetcher).write_pdf())
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which raises)
        result = (False, "".join(traceback.format_exception(exc)))
    conn.send(result)
    conn.close()


def protocol_response(order: Order) -> Response:
    """The rendered protocol as a PDF download (never cached: it changes with the order)."""
    response = send_file(
        BytesIO(render_protocol(order)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=protocol_filename(order),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@contextmanager
def swedish() -> Iterator[None]:
    """Texts and numbers in Swedish, whatever the signed-in user's language."""
    # flask_babel ignores force_locale while `g` is empty (a bare app context: a job, the
    # benchmark), and its formatters then fall back to English; give it something to hold on.
    g.setdefault("protocol_locale", "sv")
    with force_locale("sv"):
        yield
