"""The service protocol (serviceprotokoll): the order as the customer keeps it, rendered from
the Jinja template `orders/protocol/protocol.html` to an A4 PDF with WeasyPrint.

Always Swedish, whatever the signed-in user's language: it is the customer's document. The
renderer fetches nothing from the network; the only image, the drawn signature, is inlined
as a data URL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO

from flask import Response, current_app, g, render_template, send_file
from flask_babel import force_locale
from flask_babel import gettext as _

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


def render_protocol(order: Order, *, show_prices: bool | None = None) -> bytes:
    """The protocol as PDF bytes (A4). Needs an app context."""
    # Imported here: loading WeasyPrint (and Pango through it) takes a moment, and only the
    # protocol needs it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = protocol_html(order, show_prices=show_prices)
    # data: URLs only, so text typed into an order can never make the renderer fetch a URL.
    fetcher = URLFetcher(allowed_protocols=["data"])
    return HTML(string=html, url_fetcher=fetcher).write_pdf()


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
