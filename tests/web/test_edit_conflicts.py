"""A stale save on the web (issue #17): the order, customer and article forms carry the
record's version; a save from a page someone else has saved over since is answered 409 with
"Någon annan har ändrat … medan du arbetade", what this user typed kept, and the other
person's saved values beside it; nothing is written, and saving again overwrites knowingly."""

from __future__ import annotations

import re
from decimal import Decimal

from app.extensions import db
from app.orders import services
from app.orders.models import FortnoxState, Order
from app.orders.services import add_action, update_order
from tests import factories
from tests.web.conftest import field_value, order_form

ORDER_CONFLICT = "Någon annan har ändrat ordern medan du arbetade."


def conflict_value(html: str, name: str) -> str | None:
    """What the "Sparat av någon annan" list shows for field ``name`` (None: not listed)."""
    found = re.search(rf'<dd data-conflict-field="{re.escape(name)}">(.*?)</dd>', html, re.S)
    return found.group(1).strip() if found else None


def saved(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def test_order_page_carries_the_version(client, login, world):
    login("office")
    html = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    assert field_value(html, "version") == str(world.order.version) == "1"


def test_a_stale_save_of_the_order_is_refused_keeping_both_versions(client, login, world):
    login("technician", subgroup=world.west)
    page = client.get(f"/orders/{world.order.id}").get_data(as_text=True)
    version = field_value(page, "version")
    # Meanwhile the office saves the order.
    update_order(world.order, {"orderer": "Kontoret Kim"}, by=world.office)
    db.session.commit()

    typed = order_form(
        world.order,
        version=version,
        orderer="",  # the technician's page still shows no orderer
        description="Bytte oljefilter på kompressorn",
    )
    response = client.post(f"/orders/{world.order.id}", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ORDER_CONFLICT in html
    assert "Sparat av någon annan" in html
    # What this user typed is kept; the other person's saved value is shown beside it.
    assert field_value(html, "description") == "Bytte oljefilter på kompressorn"
    assert conflict_value(html, "orderer") == "Kontoret Kim"
    assert conflict_value(html, "description") == "—"
    # Nothing was written.
    order = saved(world.order.id)
    assert (order.orderer, order.description, order.version) == ("Kontoret Kim", None, 2)
    # The form now carries the current version: saving again overwrites, knowingly.
    assert field_value(html, "version") == "2"
    again = client.post(f"/orders/{world.order.id}", data={**typed, "version": "2"})
    assert again.status_code == 302
    order = saved(world.order.id)
    assert (order.orderer, order.description, order.version) == (
        None,
        "Bytte oljefilter på kompressorn",
        3,
    )


def test_rows_added_meanwhile_are_not_wiped_by_a_stale_page(client, login, world):
    login("technician", subgroup=world.west)
    version = field_value(client.get(f"/orders/{world.order.id}").get_data(as_text=True), "version")
    add_action(world.order, {"description": "Kontoret: ring kunden före besöket"}, by=world.office)
    db.session.commit()

    response = client.post(
        f"/orders/{world.order.id}",
        data=order_form(world.order, version=version, description="Klart"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Kontoret: ring kunden före besöket" in conflict_value(html, "actions")
    order = saved(world.order.id)
    assert [a.description for a in order.actions] == ["Kontoret: ring kunden före besöket"]
    assert order.description is None


def test_a_save_from_a_page_without_a_version_is_treated_as_stale(client, login, world):
    login("office")
    update_order(world.order, {"orderer": "Kontoret Kim"}, by=world.office)
    db.session.commit()
    data = order_form(world.order, orderer="Någon")
    del data["version"]
    response = client.post(f"/orders/{world.order.id}", data=data)
    assert response.status_code == 409
    assert saved(world.order.id).orderer == "Kontoret Kim"


def test_a_stale_page_that_differs_in_nothing_saved_goes_through(client, login, world):
    """Only what the form does not show changed (the Fortnox state): nothing typed would
    overwrite anyone's work, so the save is not refused."""
    login("office")
    version = field_value(client.get(f"/orders/{world.order.id}").get_data(as_text=True), "version")
    world.order.fortnox_state = FortnoxState.FAILED
    db.session.commit()
    assert world.order.version == 2
    response = client.post(
        f"/orders/{world.order.id}/comments",
        data=order_form(
            world.order, version=version, subgroup_id=str(world.west.id), comment="Ringt kunden"
        ),
    )
    assert response.status_code == 302
    assert [c.text for c in saved(world.order.id).comments] == ["Ringt kunden"]


def test_a_save_losing_the_race_to_another_gets_the_conflict_page(
    client, login, world, monkeypatch
):
    """Both read version 1 and pass the check; the other one commits first."""
    login("office")
    real_update = services.update_order

    def racing_update(order, data, *, by):  # type: ignore[no-untyped-def]
        session = db.session()
        session.expire_on_commit = False  # this request keeps what it read (version 1)
        try:
            session.commit()
        finally:
            session.expire_on_commit = True
        with db.engine.begin() as conn:
            conn.execute(
                db.text(
                    "UPDATE orders SET orderer = 'Kontoret Kim', version = version + 1 "
                    "WHERE id = :id"
                ),
                {"id": order.id},
            )
        return real_update(order, data, by=by)

    monkeypatch.setattr(services, "update_order", racing_update)
    response = client.post(
        f"/orders/{world.order.id}",
        data=order_form(world.order, description="Bytte filter"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ORDER_CONFLICT in html
    assert field_value(html, "description") == "Bytte filter"
    assert conflict_value(html, "orderer") == "Kontoret Kim"
    assert field_value(html, "version") == "2"
    order = saved(world.order.id)
    assert (order.orderer, order.description) == ("Kontoret Kim", None)


def test_a_stale_customer_edit_is_refused_keeping_what_was_typed(client, login):
    customer = factories.customer(name="Verkstads AB", phone="031-10")
    login("office")
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    version = field_value(page, "version")
    customer.phone = "031-20"
    db.session.commit()
    typed = {
        "customer_number": customer.customer_number,
        "name": "Verkstads AB i Borås",
        "phone": "031-10",
        "active": "y",
        "version": version,
    }
    response = client.post(f"/customers/{customer.id}/edit", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Någon annan har ändrat kunden medan du arbetade." in html
    assert field_value(html, "name") == "Verkstads AB i Borås"
    assert conflict_value(html, "phone") == "031-20"
    db.session.expire_all()
    assert (customer.name, customer.phone) == ("Verkstads AB", "031-20")
    assert field_value(html, "version") == str(customer.version)
    again = client.post(f"/customers/{customer.id}/edit", data={**typed, "version": "2"})
    assert again.status_code == 302
    db.session.expire_all()
    assert (customer.name, customer.phone) == ("Verkstads AB i Borås", "031-10")


def test_a_stale_article_edit_is_refused_keeping_what_was_typed(client, login):
    article = factories.article("2001", name="Kilrem", price=Decimal("100"))
    login("office")
    version = field_value(
        client.get(f"/articles/{article.id}/edit").get_data(as_text=True), "version"
    )
    article.price = Decimal("120")
    db.session.commit()
    typed = {"article_number": "2001", "name": "Kilrem XPZ", "price": "100", "active": "y",
             "version": version}  # fmt: skip
    response = client.post(f"/articles/{article.id}/edit", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Någon annan har ändrat artikeln medan du arbetade." in html
    assert field_value(html, "name") == "Kilrem XPZ"
    assert conflict_value(html, "price") == "120.00"
    db.session.expire_all()
    assert (article.name, article.price) == ("Kilrem", Decimal("120"))
    again = client.post(f"/articles/{article.id}/edit", data={**typed, "version": "2"})
    assert again.status_code == 302
    db.session.expire_all()
    assert (article.name, article.price) == ("Kilrem XPZ", Decimal("100"))
