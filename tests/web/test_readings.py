"""Operating-hours readings reach the machine (issue #13): a reading noted on an order becomes
the service object's operating hours, unless a newer reading exists, and the service object's
page lists every reading with its date and order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.customers.models import ServiceObject, ServiceObjectReading
from app.extensions import db
from app.orders.services import create_order
from tests.web.conftest import order_form


class Clock:
    """The app's clock (app.i18n.utcnow), moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def days_later(self, days: int) -> None:
        self.now += timedelta(days=days)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("app.i18n.utcnow", clock)
    return clock


def _hours(service_object) -> Decimal | None:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(ServiceObject, service_object.id).operating_hours


def _readings(service_object) -> list[tuple[Decimal, int | None]]:  # type: ignore[no-untyped-def]
    db.session.expire_all()
    rows = db.session.scalars(
        db.select(ServiceObjectReading)
        .where(ServiceObjectReading.service_object_id == service_object.id)
        .order_by(ServiceObjectReading.read_at, ServiceObjectReading.id)
    )
    return [(r.operating_hours, r.order_id) for r in rows]


def _reading(service_object, hours):  # type: ignore[no-untyped-def]
    return {"service_objects": [{"service_object_id": service_object.id, "operating_hours": hours}]}


def test_saving_an_order_on_the_page_gives_the_machine_its_reading(client, login, world, clock):
    world.compressor.operating_hours = Decimal("21000")
    db.session.commit()
    login("technician", subgroup=world.west)
    data = order_form(
        world.order,
        op="save",
        **{
            "service_objects-0-service_object_id": str(world.compressor.id),
            "service_objects-0-operating_hours": "23 500",
        },
    )
    response = client.post(f"/orders/{world.order.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _hours(world.compressor) == Decimal("23500")
    assert _readings(world.compressor) == [(Decimal("23500"), world.order.id)]


def test_a_reading_sent_through_the_api_reaches_the_machine(api, world, clock):
    admin = api("admin")
    response = admin.patch(f"/orders/{world.order.id}", json=_reading(world.compressor, 23500))
    assert response.status_code == 200, response.json
    assert _hours(world.compressor) == Decimal("23500")
    machine = admin.get(f"/service-objects/{world.compressor.id}")
    assert machine.json["operating_hours"] == 23500
    # A new order with a reading does the same.
    clock.days_later(1)
    created = admin.post(
        "/orders",
        json={"kind": "service", "customer_id": world.customer.id, **_reading(world.truck, 812.5)},
    )
    assert created.status_code == 201, created.json
    assert _hours(world.truck) == Decimal("812.5")


def test_an_older_reading_saved_later_does_not_overwrite_a_newer_one(api, world, clock):
    admin = api("admin")
    older = world.order
    assert (
        admin.patch(f"/orders/{older.id}", json=_reading(world.compressor, 23000)).status_code
        == 200
    )
    clock.days_later(7)
    newer = admin.post(
        "/orders",
        json={
            "kind": "work",
            "customer_id": world.customer.id,
            **_reading(world.compressor, 23500),
        },
    ).json
    assert _hours(world.compressor) == Decimal("23500")

    # The older order is saved again a week later, its reading corrected: still the older one.
    clock.days_later(7)
    corrected = admin.patch(f"/orders/{older.id}", json=_reading(world.compressor, 23010))
    assert corrected.status_code == 200, corrected.json
    assert _hours(world.compressor) == Decimal("23500")
    assert _readings(world.compressor) == [
        (Decimal("23010"), older.id),
        (Decimal("23500"), newer["id"]),
    ]

    # The newer reading removed from its order: the older one is the latest again.
    cleared = admin.patch(f"/orders/{newer['id']}", json={"service_objects": []})
    assert cleared.status_code == 200, cleared.json
    assert _hours(world.compressor) == Decimal("23010")
    assert _readings(world.compressor) == [(Decimal("23010"), older.id)]


def test_hours_typed_on_the_machine_are_a_reading_of_their_own(client, login, world, clock):
    office = login("office")
    order = create_order(
        {"kind": "service", "customer_id": world.customer.id, **_reading(world.truck, 900)},
        by=office,
    )
    db.session.commit()
    clock.days_later(3)
    response = client.post(
        f"/service-objects/{world.truck.id}/edit",
        data={"name": "Linde E20", "machine_number": "T7", "operating_hours": "950"},
    )
    assert response.status_code == 302
    # The order saved again later, its reading corrected: the typed figure is newer.
    clock.days_later(3)
    from app.orders.services import update_order

    update_order(order, _reading(world.truck, 905), by=office)
    db.session.commit()
    assert _hours(world.truck) == Decimal("950")
    assert _readings(world.truck) == [(Decimal("905"), order.id), (Decimal("950"), None)]


def test_the_machine_page_shows_the_reading_history(client, login, world, clock):
    office = login("office")
    first = create_order(
        {"kind": "service", "customer_id": world.customer.id, **_reading(world.compressor, 23000)},
        by=office,
    )
    db.session.commit()
    clock.days_later(30)  # 2025-04-02 10:00 in Stockholm
    second = create_order(
        {"kind": "work", "customer_id": world.customer.id, **_reading(world.compressor, 23500)},
        by=office,
    )
    db.session.commit()

    html = client.get(f"/service-objects/{world.compressor.id}/edit").get_data(as_text=True)
    history = html[html.index('id="avlasningar"') :]
    rows = re.findall(
        r"<tr><td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", history, re.S
    )
    assert [
        (day, re.sub(r"\s", " ", hours), re.sub(r"<[^>]+>", "", link)) for day, hours, link in rows
    ] == [
        ("2025-04-02", "23 500 h", second.display_number),
        ("2025-03-03", "23 000 h", first.display_number),
    ]
    assert f'href="/orders/{second.id}"' in history

    # The customer's page leads there from the machine's operating hours.
    page = client.get(f"/customers/{world.customer.id}").get_data(as_text=True)
    assert f"/service-objects/{world.compressor.id}/edit#avlasningar" in page


def test_a_machine_without_readings_says_so(client, login, world):
    login("office")
    html = client.get(f"/service-objects/{world.truck.id}/edit").get_data(as_text=True)
    assert "Inga avläsningar ännu." in html
