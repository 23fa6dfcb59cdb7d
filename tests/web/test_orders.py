"""The order pages: list and filters, "Mina ordrar", a new order, and the order page's save,
sign, status and comment buttons, with their role rules and validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.extensions import db
from app.orders.models import FortnoxState, Order, OrderStatus
from app.orders.services import create_order, sign_order
from tests.web.conftest import field_value, make_field, order_form, selected_value


def action(i: int, description: str, hours: str = "1", day: str = "2026-03-02", tech: Any = ""):
    prefix = f"actions-{i}-"
    return {
        prefix + "date": day,
        prefix + "description": description,
        prefix + "hours": hours,
        prefix + "technician_id": str(getattr(tech, "id", tech)),
    }


def row(i: int, number: str, quantity: str = "1", **fields: Any) -> dict[str, str]:
    prefix = f"article_rows-{i}-"
    data = {
        prefix + "article_number": number,
        prefix + "quantity": quantity,
        prefix + "price": "",
        prefix + "unit": "",
        prefix + "description": "",
        prefix + "date": "2026-03-02",
        prefix + "technician_id": "",
        prefix + "service_object_id": "",
    }
    data.update({prefix + k: str(v) for k, v in fields.items()})
    return data


def technician_in(world, make_user, subgroup=None):  # type: ignore[no-untyped-def]
    return make_user("technician", subgroup=subgroup or world.west, name="Tove Tekniker")


# --- list and filters ---------------------------------------------------------------------


def test_order_list_shows_orders_with_status_and_fortnox_state(client, login, world):
    login("office")
    html = client.get("/orders").get_data(as_text=True)
    assert "AO 1001" in html and "Verkstads AB" in html
    assert "Utkast" in html and "Ej skickad" in html


def test_order_list_filters_by_kind_status_customer_and_fortnox_state(client, login, world):
    user = login("admin")
    other = create_order(
        {"kind": "service", "customer_id": world.customer.id, "subgroup_id": world.south.id},
        by=user,
    )
    other.fortnox_state = FortnoxState.FAILED
    db.session.commit()
    assert "SO 1001" not in client.get("/orders?kind=work").get_data(as_text=True)
    assert "AO 1001" not in client.get("/orders?kind=service").get_data(as_text=True)
    failed = client.get("/orders?fortnox_state=failed").get_data(as_text=True)
    assert "SO 1001" in failed and "AO 1001" not in failed
    by_subgroup = client.get(f"/orders?subgroup_id={world.south.id}").get_data(as_text=True)
    assert "SO 1001" in by_subgroup and "AO 1001" not in by_subgroup
    assert "AO 1001" in client.get(f"/orders?customer_id={world.customer.id}").get_data(
        as_text=True
    )
    assert "AO 1001" in client.get("/orders?status=draft").get_data(as_text=True)
    assert "AO 1001" not in client.get("/orders?status=ready").get_data(as_text=True)


def test_order_search_finds_a_display_number_and_customer_text(client, login, world):
    login("office")
    assert "AO 1001" in client.get("/orders?q=AO+1001").get_data(as_text=True)
    assert "AO 1001" in client.get("/orders?q=1001").get_data(as_text=True)
    assert "AO 1001" in client.get("/orders?q=verkstads").get_data(as_text=True)
    assert "AO 1001" not in client.get("/orders?q=SO+1001").get_data(as_text=True)


def test_order_list_survives_hand_edited_filter_values(client, login, world):
    login("office")
    response = client.get("/orders?kind=nonsense&status=x&customer_id=abc&page=-3")
    assert response.status_code == 200


def test_order_list_is_paginated(client, login, world):
    user = login("office")
    for _ in range(30):
        create_order({"kind": "sales", "customer_id": world.customer.id}, by=user)
    db.session.commit()
    first = client.get("/orders").get_data(as_text=True)
    assert "Sida 1 av 2" in first and "FO 1030" in first and "FO 1001" not in first
    second = client.get("/orders?page=2").get_data(as_text=True)
    assert "FO 1001" in second


def test_technician_sees_only_orders_of_their_subgroup(client, login, world):
    create_order(
        {"kind": "service", "customer_id": world.customer.id, "subgroup_id": world.south.id},
        by=world.office,
    )
    db.session.commit()
    login("technician", subgroup=world.west)
    html = client.get("/orders").get_data(as_text=True)
    assert "AO 1001" in html and "SO 1001" not in html


def test_mine_lists_the_open_orders_assigned_to_me(client, login, world):
    me = login("technician", subgroup=world.west)
    world.order.assigned_user_id = me.id
    done = create_order(
        {"kind": "service", "customer_id": world.customer.id, "subgroup_id": world.west.id},
        by=world.office,
    )
    done.assigned_user_id = me.id
    done.status = OrderStatus.CANCELLED
    db.session.commit()
    html = client.get("/orders/mine").get_data(as_text=True)
    assert "AO 1001" in html and "SO 1001" not in html
    assert "SO 1001" in client.get("/orders/mine?status=cancelled").get_data(as_text=True)


# --- a new order -----------------------------------------------------------------------------


def test_office_creates_a_work_order_and_lands_on_its_page(client, login, world):
    login("office")
    response = client.post(
        "/orders/new",
        data={
            "kind": "work",
            "customer_id": str(world.customer.id),  # picked in the search, as the browser sends
            "customer_query": "Verkstads AB (2001)",
            "subgroup_id": str(world.west.id),
            "assigned_user_id": "",
            "orderer": "Anna Andersson",
            "description": "Kompressorn läcker olja",
        },
    )
    assert response.status_code == 302
    order = db.session.scalars(db.select(Order).order_by(Order.id.desc())).first()
    assert response.headers["Location"].endswith(f"/orders/{order.id}")
    assert (order.display_number, order.orderer) == ("AO 1002", "Anna Andersson")
    assert order.subgroup_id == world.west.id


def test_technician_creates_orders_in_their_own_subgroup(client, login, world):
    me = login("technician", subgroup=world.west)
    page = client.get("/orders/new").get_data(as_text=True)
    assert 'name="subgroup_id"' not in page
    response = client.post(
        "/orders/new",
        data={
            "kind": "service",
            "customer_id": str(world.customer.id),
            "customer_query": "Verkstads AB (2001)",
            "assigned_user_id": "",
        },
    )
    assert response.status_code == 302
    order = db.session.scalars(db.select(Order).where(Order.kind == "service")).one()
    assert order.subgroup_id == me.subgroup_id


def test_new_sales_order_takes_a_delivery_date(client, login, world):
    login("office")
    client.post(
        "/orders/new",
        data={
            "kind": "sales",
            "customer_id": "",
            "customer_query": "2001",  # without JavaScript: the customer number typed
            "delivery_date": "2026-04-01",
        },
    )
    order = db.session.scalars(db.select(Order).where(Order.kind == "sales")).one()
    assert order.delivery_date == date(2026, 4, 1)


def test_new_order_without_customer_keeps_what_was_typed(client, login, world):
    login("office")
    response = client.post(
        "/orders/new",
        data={"kind": "work", "customer_id": "", "customer_query": "", "description": "Byt filter"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="customer_id-error"' in html and "Välj en kund." in html
    assert "Byt filter" in html


# --- the order page: saving work --------------------------------------------------------------


def test_order_page_shows_the_header_and_an_empty_row_template(client, login, world):
    login("office")
    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "AO 1001" in html and "Huvudverkstaden" in html
    assert 'id="tpl-article_rows"' in html and "article_rows-__i__-article_number" in html
    assert "Förhandsgranska i Fortnox-format" in html


def test_saving_the_order_stores_actions_rows_and_readings(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(
        world.order,
        facility_id=str(world.facility.id),
        **action(0, "Bytt oljefilter", "1,5", tech=tech),
        **action(1, "Provkört", "0.5", tech=tech),
        **row(0, "1001", "2", service_object_id=world.compressor.id, technician_id=tech.id),
        **row(1, "t01", "1,5", price="900", technician_id=tech.id),
        **{
            "service_objects-0-service_object_id": str(world.compressor.id),
            "service_objects-0-operating_hours": "12 345,5",
        },
    )
    response = client.post(f"/orders/{world.order.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    order = db.session.get(Order, world.order.id)
    db.session.refresh(order)
    assert [(a.description, a.hours, a.technician_id) for a in order.actions] == [
        ("Bytt oljefilter", Decimal("1.5"), tech.id),
        ("Provkört", Decimal("0.5"), tech.id),
    ]
    first, second = order.article_rows
    # Price and unit default from the article; a typed price wins.
    assert (first.article.article_number, first.quantity, first.price, first.unit) == (
        "1001",
        Decimal("2"),
        Decimal("250.00"),
        "st",
    )
    assert first.service_object_id == world.compressor.id
    assert (second.article.article_number, second.price, second.unit) == (
        "T01",
        Decimal("900"),
        "tim",
    )
    assert [(s.service_object_id, s.operating_hours) for s in order.service_objects] == [
        (world.compressor.id, Decimal("12345.5"))
    ]
    assert order.facility_id == world.facility.id


def test_negative_quantity_is_shown_next_to_the_field_and_nothing_typed_is_lost(
    client, login, world
):
    tech = login("technician", subgroup=world.west)
    data = order_form(
        world.order,
        **action(0, "Felsökt larm", "2", tech=tech),
        **row(0, "1001", "2", technician_id=tech.id),
        **row(1, "1002", "-3", technician_id=tech.id),
        **row(2, "T01", "1", technician_id=tech.id, description="Jourtid"),
    )
    response = client.post(f"/orders/{world.order.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="article_rows-1-quantity-error"' in html
    assert "Antalet kan inte vara negativt." in html
    # Every row typed is still there, with its values.
    assert field_value(html, "article_rows-0-article_number") == "1001"
    assert field_value(html, "article_rows-1-quantity") == "-3"
    assert field_value(html, "article_rows-2-article_number") == "T01"
    assert field_value(html, "article_rows-2-description") == "Jourtid"
    assert field_value(html, "actions-0-description") == "Felsökt larm"
    assert selected_value(html, "article_rows-2-technician_id") == str(tech.id)
    assert db.session.get(Order, world.order.id).article_rows == []


def test_unknown_article_is_reported_on_its_row(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(
        world.order,
        **row(0, "1001", "1", technician_id=tech.id),
        **row(1, "9999", "1", technician_id=tech.id),
    )
    response = client.post(f"/orders/{world.order.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="article_rows-1-article_number-error">Artikeln finns inte.' in html
    assert field_value(html, "article_rows-1-article_number") == "9999"


def test_unparseable_numbers_and_dates_get_swedish_messages(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(world.order, **action(0, "Service", "två", day="igår", tech=tech))
    html = client.post(f"/orders/{world.order.id}", data=data).get_data(as_text=True)
    assert "Ange ett tal, t.ex. 1,5." in html
    assert "Ange ett datum som ÅÅÅÅ-MM-DD." in html


def test_without_javascript_add_row_returns_the_form_with_one_more_row(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(world.order, add="actions", **action(0, "Bytt remmar", tech=tech))
    response = client.post(f"/orders/{world.order.id}/rows", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_value(html, "actions-0-description") == "Bytt remmar"
    assert field_value(html, "actions-1-description") == ""
    assert db.session.get(Order, world.order.id).actions == []


def test_order_custom_fields_are_saved(client, login, world):
    make_field("work_order", "Er referens")
    login("office")
    page = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "Er referens" in page
    definition_field = next(part.split('"')[0] for part in page.split('name="custom_fields-')[1:])
    data = order_form(world.order, **{f"custom_fields-{definition_field}": "Inköp"})
    assert client.post(f"/orders/{world.order.id}", data=data).status_code == 302
    assert db.session.get(Order, world.order.id).custom_fields == {"Er referens": "Inköp"}


def test_delivery_date_is_offered_on_sales_orders_only(client, login, world):
    login("office")
    assert 'name="delivery_date"' not in client.get(f"/orders/{world.order.id}").get_data(
        as_text=True
    )
    sales = create_order({"kind": "sales", "customer_id": world.customer.id}, by=world.office)
    db.session.commit()
    assert 'name="delivery_date"' in client.get(f"/orders/{sales.id}").get_data(as_text=True)


# --- signing, status, comments ------------------------------------------------------------------


def test_signing_records_the_user_the_time_and_the_customers_name(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(world.order, customer_name="Kalle Kund", **action(0, "Service", tech=tech))
    response = client.post(f"/orders/{world.order.id}/sign", data=data)
    assert response.status_code == 302
    order = db.session.get(Order, world.order.id)
    db.session.refresh(order)
    assert order.signed_by_id == tech.id and order.signed_customer_name == "Kalle Kund"
    assert order.signed_at is not None and len(order.actions) == 1
    assert "Kalle Kund" in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_signing_without_the_customers_name_asks_for_it(client, login, world):
    tech = login("technician", subgroup=world.west)
    data = order_form(world.order, **action(0, "Bytt filter", tech=tech))
    response = client.post(f"/orders/{world.order.id}/sign", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="customer_name-error">Skriv kundens namn.' in html
    assert "Bytt filter" in html
    assert not db.session.get(Order, world.order.id).is_signed


def test_marking_ready_keeps_an_unchanged_signature(client, login, world):
    tech = login("technician", subgroup=world.west)
    work = {**action(0, "Service", "2", tech=tech), **row(0, "1001", "1", technician_id=tech.id)}
    client.post(
        f"/orders/{world.order.id}/sign",
        data=order_form(world.order, customer_name="Kalle Kund", **work),
    )
    order = db.session.get(Order, world.order.id)
    db.session.refresh(order)
    # The page posts back every row as shown, price and all.
    work["article_rows-0-price"] = "250,00"
    work["article_rows-0-unit"] = "st"
    work["article_rows-0-original_technician_id"] = str(tech.id)
    response = client.post(
        f"/orders/{order.id}/status", data=order_form(order, status="ready", **work)
    )
    assert response.status_code == 302
    db.session.refresh(order)
    assert order.status == OrderStatus.READY and order.is_signed


def test_changing_work_on_a_signed_order_asks_before_clearing_the_signature(client, login, world):
    tech = login("technician", subgroup=world.west)
    sign_order(world.order, by=tech, customer_name="Kalle Kund")
    db.session.commit()
    data = order_form(world.order, **action(0, "Extra arbete", tech=tech))
    response = client.post(f"/orders/{world.order.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="confirm-unsign"' in html and "Extra arbete" in html
    assert db.session.get(Order, world.order.id).is_signed

    response = client.post(f"/orders/{world.order.id}", data={**data, "confirm_unsign": "y"})
    assert response.status_code == 302
    order = db.session.get(Order, world.order.id)
    db.session.refresh(order)
    assert not order.is_signed and [a.description for a in order.actions] == ["Extra arbete"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [("in_progress", OrderStatus.IN_PROGRESS), ("ready", OrderStatus.READY)],
)
def test_status_buttons_move_the_order(client, login, world, target, expected):
    login("office")
    response = client.post(
        f"/orders/{world.order.id}/status", data=order_form(world.order, status=target)
    )
    assert response.status_code == 302
    assert db.session.get(Order, world.order.id).status == expected


def test_a_status_change_the_rules_forbid_is_explained(client, login, world):
    login("office")
    response = client.post(
        f"/orders/{world.order.id}/status", data=order_form(world.order, status="sent")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ordern kan inte gå från Utkast till Skickad." in html
    assert db.session.get(Order, world.order.id).status == OrderStatus.DRAFT


def test_a_comment_is_added_with_its_author(client, login, world):
    me = login("office")
    response = client.post(
        f"/orders/{world.order.id}/comments",
        data=order_form(world.order, comment="Kunden ringer tillbaka"),
    )
    assert response.status_code == 302
    order = db.session.get(Order, world.order.id)
    assert [(c.text, c.author_id) for c in order.comments] == [("Kunden ringer tillbaka", me.id)]


def test_a_locked_order_is_read_only_but_takes_comments(client, login, world):
    login("office")
    world.order.status = OrderStatus.INVOICED
    db.session.commit()
    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "kan inte ändras" in html and f"/orders/{world.order.id}/status" not in html
    saved = client.post(f"/orders/{world.order.id}", data={})
    assert saved.status_code == 409
    commented = client.post(f"/orders/{world.order.id}/comments", data={"comment": "OK"})
    assert commented.status_code == 302
    assert [c.text for c in db.session.get(Order, world.order.id).comments] == ["OK"]


def test_failed_fortnox_send_shows_the_error(client, login, world):
    login("office")
    world.order.fortnox_state = FortnoxState.FAILED
    world.order.fortnox_last_error = "Kostnadsställe SERV finns inte i Fortnox."
    db.session.commit()
    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert "Misslyckades" in html and "Kostnadsställe SERV finns inte i Fortnox." in html


# --- roles ------------------------------------------------------------------------------------


def test_technician_of_another_subgroup_gets_403(client, login, world):
    login("technician", subgroup=world.south)
    assert client.get(f"/orders/{world.order.id}").status_code == 403
    response = client.post(f"/orders/{world.order.id}", data=order_form(world.order))
    assert response.status_code == 403


def test_order_pages_require_sign_in(client, world):
    for url in ("/orders", "/orders/mine", "/orders/new", f"/orders/{world.order.id}"):
        assert "/login" in client.get(url).headers["Location"]


def test_unknown_order_is_404(client, login, world):
    login("office")
    assert client.get("/orders/999999").status_code == 404
