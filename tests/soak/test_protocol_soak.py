"""The protocol of the largest order the limits allow (issue #17): 200 actions of 5 000
characters, 500 article rows with 200-character names, a description and a fault cause of
10 000 characters each. Laid out in full it takes about a minute (measured: 65 s on the 2-core
CI machine, 454 KB), more than gunicorn's 30-s worker timeout. With the default
PROTOCOL_RENDER_SECONDS (15) the page answers 422 with the message in about 15–20 s, the layout
process is gone, the order is untouched and the next protocol renders as usual. About 30 s:
in `make soak`, not `make test`."""

from __future__ import annotations

import multiprocessing
import os
import time
from datetime import date
from decimal import Decimal

import pytest

from app.extensions import db
from app.limits import MAX_ACTIONS, MAX_ARTICLE_ROWS
from app.orders.models import Order
from app.orders.services import create_order, update_order
from tests import factories
from tests.orders.test_protocol import text, world  # noqa: F401  (the fixture)

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(not os.environ.get("ORDNA_SOAK"), reason="runs with `make soak`"),
]


def test_the_largest_order_gets_a_message_within_the_limit_and_frees_the_worker(
    app,
    client,
    login,
    world,  # noqa: F811
):
    seconds = app.config["PROTOCOL_RENDER_SECONDS"]
    assert seconds == 15, "the default the README documents"
    order = world["order"]
    for n in range(MAX_ARTICLE_ROWS):
        factories.article(f"W{n:03d}", name=("Lång benämning " * 14)[:200], unit="st")
    words = ("Bytt tryckvakt och provkört enligt instruktion " * 120)[:5000]
    update_order(
        order,
        {
            "description": ("Lång beskrivning " * 600)[:10000],
            "fault_cause": ("Orsak " * 1700)[:10000],
            "actions": [
                {
                    "date": date(2026, 3, 1 + n % 28),
                    "description": words,
                    "hours": Decimal("1"),
                    "technician_id": world["tech"].id,
                }
                for n in range(MAX_ACTIONS)
            ],
            "article_rows": [
                {"article_number": f"W{n:03d}", "quantity": 1} for n in range(MAX_ARTICLE_ROWS)
            ],
        },
        by=world["tech"],
    )
    db.session.commit()
    version = order.version

    login("office")
    started = time.monotonic()
    response = client.get(f"/orders/{order.id}/protocol.pdf")
    took = time.monotonic() - started
    print(f"\nthe largest order's protocol: {response.status_code} after {took:.1f} s")

    assert response.status_code == 422
    assert "Protokollet blev för stort för att skapas" in response.get_data(as_text=True)
    assert took < seconds + 5, "answered at the limit, not after the whole layout"
    assert not [p for p in multiprocessing.active_children() if p.name == "ordna-protocol-pdf"]
    db.session.expire_all()
    again = db.session.get(Order, order.id)
    assert again is not None and again.version == version
    assert len(again.actions) == MAX_ACTIONS and len(again.article_rows) == MAX_ARTICLE_ROWS

    # The worker is free: an ordinary order's protocol comes at once.
    small = create_order(
        {"kind": "service", "customer_id": world["customer"].id, "subgroup_id": world["west"].id},
        by=world["tech"],
    )
    db.session.commit()
    ok = client.get(f"/orders/{small.id}/protocol.pdf")
    assert ok.status_code == 200 and ok.mimetype == "application/pdf"
    assert "Verkstads AB i Borås" in text(ok.data)
