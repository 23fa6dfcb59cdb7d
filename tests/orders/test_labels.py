"""The words for order kinds and statuses exist once (app/orders/words.py): the enums' labels
show them in the user's language, Fortnox documents get them in Swedish."""

from __future__ import annotations

from flask_babel import force_locale

from app.integrations.fortnox.mapping import map_order, our_order_number
from app.integrations.fortnox.settings import FortnoxSettings
from app.integrations.fortnox.snapshot import Lookups
from app.orders.models import OrderKind, OrderStatus
from tests.integrations.fortnox.conftest import make_order


def test_labels_are_swedish_by_default_and_english_for_english_users(app):
    with app.test_request_context():
        assert [str(kind.label) for kind in OrderKind] == [
            "Serviceorder",
            "Arbetsorder",
            "Försäljningsorder",
        ]
        assert str(OrderStatus.READY.label) == "Klar för fakturering"
        with force_locale("en"):
            assert [str(kind.label) for kind in OrderKind] == [
                "Service order",
                "Work order",
                "Sales order",
            ]
            english = {status: str(status.label) for status in OrderStatus}
    assert english[OrderStatus.READY] == "Ready for invoicing"
    # Every status has its English word, none left in Swedish.
    with app.test_request_context():
        swedish = {status: str(status.label) for status in OrderStatus}
    assert all(english[status] != swedish[status] for status in OrderStatus)


def test_fortnox_documents_keep_the_swedish_words_for_english_users(app):
    order = make_order(kind="sales", status="ready")
    settings = FortnoxSettings(include_sales_order_status=True, summary_in_order_text=True)
    with app.test_request_context(), force_locale("en"):
        result = map_order(order, settings, Lookups())
        label = str(OrderStatus.READY.label)

    assert label == "Ready for invoicing"
    assert "Status: Klar för fakturering" in [row.get("Description") for row in result.rows]
    assert result.document["Remarks"].startswith("Försäljningsorder")
    assert our_order_number(order) == f"{OrderKind.SALES.prefix} {order.number}" == "FO 1042"
