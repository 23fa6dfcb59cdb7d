"""Swedish time everywhere (issue #13): a date that defaults to "today" is the organisation's
(Europe/Stockholm) date, and every timestamp on a page is shown in Swedish time."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.extensions import db
from tests import factories

# 23:30 UTC on a winter evening is already 00:30 the next day in Stockholm (UTC+1).
LATE_EVENING_UTC = datetime(2025, 1, 14, 23, 30, tzinfo=UTC)
STOCKHOLM_DAY = date(2025, 1, 15)


@pytest.fixture
def half_past_midnight_in_stockholm(monkeypatch):
    monkeypatch.setattr("app.i18n.utcnow", lambda: LATE_EVENING_UTC)


def test_today_is_the_stockholm_date(app, half_past_midnight_in_stockholm):
    from app import web
    from app.i18n import local_now, local_today
    from app.orders import services

    assert local_today() == STOCKHOLM_DAY
    assert local_now().strftime("%H:%M") == "00:30"
    # One helper: the pages' and the services' "today" are the same function.
    assert web.local_today is local_today and services.today is local_today


def test_summer_time_is_followed(app, monkeypatch):
    from app.i18n import local_now

    monkeypatch.setattr("app.i18n.utcnow", lambda: datetime(2025, 7, 1, 22, 30, tzinfo=UTC))
    assert local_now().date() == date(2025, 7, 2)  # UTC+2 in summer
    assert local_now().strftime("%H:%M") == "00:30"


def test_a_row_entered_after_midnight_gets_the_stockholm_date(api, half_past_midnight_in_stockholm):
    customer = factories.customer()
    factories.article("1001")
    technician = api("technician")
    response = technician.post(
        "/orders",
        json={
            "kind": "work",
            "customer_id": customer.id,
            "actions": [{"description": "Bytte filter", "hours": 1}],
            "article_rows": [{"article_number": "1001", "quantity": 1}],
        },
    )
    assert response.status_code == 201, response.json
    assert response.json["actions"][0]["date"] == STOCKHOLM_DAY.isoformat()
    assert response.json["article_rows"][0]["date"] == STOCKHOLM_DAY.isoformat()
    # The order page adds an action in place through the same service.
    from app.orders.models import Order
    from app.orders.services import add_action

    order = db.session.get(Order, response.json["id"])
    action = add_action(order, {"description": "Provkörde"}, by=technician.user)
    assert action.date == STOCKHOLM_DAY


def test_the_integration_page_shows_the_connection_time_in_swedish_time(client, login):
    from app.integrations.models import FortnoxIntegration, IntegrationError, IntegrationState

    admin = login("admin")
    integration = FortnoxIntegration(
        subgroup_id=None,
        settings={},
        encrypted_tokens="not-read-by-the-page",
        company_name="Demo AB",
        organisation_number="556677-8899",
        connected_by=admin,
        connected_at=datetime(2025, 1, 15, 0, 8, tzinfo=UTC),
        state=IntegrationState.OK,
    )
    db.session.add(integration)
    db.session.flush()
    db.session.add(
        IntegrationError(
            integration_id=integration.id,
            operation="sync:articles",
            message="Synkningen misslyckades.",
            first_at=datetime(2025, 7, 1, 22, 5, tzinfo=UTC),
            last_at=datetime(2025, 7, 1, 23, 15, tzinfo=UTC),
        )
    )
    db.session.commit()
    html = client.get("/settings/integration").get_data(as_text=True)
    assert "2025-01-15 01:08" in html  # UTC+1 in winter
    assert "00:08" not in html
    assert "Först 2025-07-02 00:05, senast 2025-07-02 01:15" in html  # UTC+2 in summer
