"""The protocol PDF is laid out in a process of its own, held to PROTOCOL_RENDER_SECONDS
(issue #17): an order too large to lay out in time gets a clear
Swedish message (422) on the web page and in the API, the order is untouched, and no layout
process is left running. (The order at the limits of app/limits.py, which takes about a
minute, is in the soak: tests/soak/test_protocol_soak.py.)"""

from __future__ import annotations

import multiprocessing
import time

import pytest

from app.extensions import db
from app.orders.models import Order
from app.orders.protocol import ProtocolTooLarge, html_to_pdf, render_protocol
from app.orders.services import update_order
from tests import factories
from tests.orders.test_protocol import text, world  # noqa: F401  (the fixture)

TOO_LARGE = "Protokollet blev för stort för att skapas"


def _sixty_rows(world) -> Order:  # noqa: F811
    for n in range(60):
        factories.article(f"R{n:03d}", name=f"Reservdel {n:03d} med en lång benämning", unit="st")
    order = world["order"]
    update_order(
        order,
        {"article_rows": [{"article_number": f"R{n:03d}", "quantity": 1} for n in range(60)]},
        by=world["tech"],
    )
    db.session.commit()
    return order


def _no_layout_process_left() -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not [p for p in multiprocessing.active_children() if p.name == "ordna-protocol-pdf"]:
            return True
        time.sleep(0.05)
    return False


def test_a_protocol_within_the_bounds_renders_in_its_own_process(app, world):  # noqa: F811
    order = _sixty_rows(world)
    assert "R059 Reservdel 059" in text(render_protocol(order))
    assert _no_layout_process_left()


def test_a_layout_past_the_time_limit_is_stopped_with_a_clear_message(app, world):  # noqa: F811
    order = _sixty_rows(world)
    app.config["PROTOCOL_RENDER_SECONDS"] = 0.05
    started = time.monotonic()
    with pytest.raises(ProtocolTooLarge) as raised:
        render_protocol(order)
    assert time.monotonic() - started < 3, "the caller waits the limit, not the whole layout"
    assert raised.value.status == 422
    assert TOO_LARGE in raised.value.message and "0.05 sekunder" in raised.value.message
    assert _no_layout_process_left(), "the layout process is killed, not left running"


def test_an_error_in_the_layout_is_not_taken_for_too_large(app):
    with pytest.raises(RuntimeError, match="could not be laid out"):
        html_to_pdf(5, seconds=20)  # type: ignore[arg-type]


def test_the_web_page_and_the_api_say_so_and_the_order_is_untouched(
    app,
    client,
    login,
    api,
    world,  # noqa: F811
):
    order = _sixty_rows(world)
    version, rows = order.version, len(order.article_rows)
    app.config["PROTOCOL_RENDER_SECONDS"] = 0.05

    login("office")
    page = client.get(f"/orders/{order.id}/protocol.pdf")
    assert page.status_code == 422 and page.mimetype == "text/html"
    assert TOO_LARGE in page.get_data(as_text=True)

    answer = api("technician", subgroup=world["west"]).get(f"/orders/{order.id}/protocol.pdf")
    assert answer.status_code == 422 and answer.is_json
    assert answer.json["error"]["code"] == "protocol_too_large"
    assert TOO_LARGE in answer.json["error"]["message"]

    db.session.expire_all()
    again = db.session.get(Order, order.id)
    assert again is not None and again.version == version and len(again.article_rows) == rows
