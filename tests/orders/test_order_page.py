"""The order page's buttons, one endpoint each: "Spara" posts the page to /orders/<id>,
"Signera" to /sign, a status button to /status, "Skicka protokoll" to /protocol, "Lägg till
kommentar" to /comments and, without JavaScript, "Lägg till åtgärd" and the like to /rows.
Every button posts the whole form (`formaction`), so each action saves what is typed along
with it, or answers with the page again with everything typed kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import current_app

from app.extensions import db
from app.orders.models import Order, OrderStatus, ProtocolMail, ProtocolMailStatus
from app.orders.services import sign_order, update_order
from tests.web.conftest import field_value, order_form
from tests.web.test_orders import action, row

ORDER_CONFLICT = "Någon annan har ändrat ordern medan du arbetade."


def stored(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def press(client: Any, order: Order, endpoint: str, **fields: Any) -> Any:
    """Post the order page as the browser shows it, plus `fields`, to `endpoint` (the part
    after /orders/<id>)."""
    return client.post(f"/orders/{order.id}{endpoint}", data=order_form(order, **fields))


def sent_mails() -> list[Any]:
    return list(getattr(current_app.extensions["mailman"], "outbox", []))


def form_action(html: str) -> str | None:
    found = re.search(r'<form method="post" action="([^"]*)" id="order-form"', html)
    return found.group(1) if found else None


# --- the page ---------------------------------------------------------------------------------


def test_each_button_posts_the_whole_page_to_its_own_endpoint(client, login, world):
    login("office")
    order_id = world.order.id
    html = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert form_action(html) == f"/orders/{order_id}"  # "Spara", and Enter in a field
    targets = set(re.findall(r'formaction="([^"]*)"', html))
    assert targets == {
        f"/orders/{order_id}/{name}" for name in ("rows", "sign", "protocol", "status", "comments")
    }
    assert 'name="op"' not in html
    for status in ("in_progress", "ready", "cancelled"):
        assert f'name="status" value="{status}"' in html


def test_a_page_answered_from_another_endpoint_still_saves_to_the_order(client, login, world):
    """After a refused "Signera" the browser is at /orders/<id>/sign: the form's own action
    (Enter, "Spara") must still post to the order, not sign again."""
    login("technician", subgroup=world.west)
    response = press(client, world.order, "/sign", customer_name="")
    assert response.status_code == 422
    assert form_action(response.get_data(as_text=True)) == f"/orders/{world.order.id}"


# --- Spara ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_row", "field", "problem"),
    [
        # Refused by the form before any service is called.
        ({"quantity": "-3"}, "quantity", "Antalet kan inte vara negativt."),
        # Passes the form; refused by the service (no such article), after which the page
        # is made again from what was posted.
        ({"number": "9999"}, "article_number", "Artikeln finns inte."),
    ],
)
def test_a_refused_save_answers_with_everything_typed_kept(
    client, login, world, bad_row, field, problem
):
    tech = login("technician", subgroup=world.west)
    bad = {"number": "1001", "quantity": "1", **bad_row}
    response = press(
        client,
        world.order,
        "",
        orderer="Per Holm",
        **action(0, "Bytt remmar", tech=tech),
        **row(0, "T01", "2", technician_id=tech.id),
        **row(1, bad["number"], bad["quantity"], technician_id=tech.id),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="article_rows-1-{field}-error">{problem}' in html
    assert field_value(html, "orderer") == "Per Holm"
    assert field_value(html, "actions-0-description") == "Bytt remmar"
    assert field_value(html, "article_rows-0-article_number") == "T01"
    assert field_value(html, "article_rows-1-article_number") == bad["number"]
    assert field_value(html, "article_rows-1-quantity") == bad["quantity"]
    order = stored(world.order.id)
    assert (order.orderer, order.actions, order.article_rows) == (None, [], [])


# --- Signera ----------------------------------------------------------------------------------


def test_signing_saves_what_is_typed_with_the_signature(client, login, world):
    tech = login("technician", subgroup=world.west)
    response = press(
        client,
        world.order,
        "/sign",
        customer_name="Kalle Kund",
        fault_cause="Trasig tryckvakt",
        **action(0, "Bytt tryckvakt", tech=tech),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/orders/{world.order.id}#signering")
    order = stored(world.order.id)
    assert (order.signed_by_id, order.signed_customer_name) == (tech.id, "Kalle Kund")
    assert order.fault_cause == "Trasig tryckvakt"
    assert [a.description for a in order.actions] == ["Bytt tryckvakt"]


def test_signing_a_signed_order_again_covers_the_changed_work_without_asking(client, login, world):
    tech = login("technician", subgroup=world.west)
    sign_order(world.order, by=tech, customer_name="Kalle Kund")
    db.session.commit()
    changed = {**action(0, "Extra arbete", tech=tech)}
    # "Spara" would ask before clearing the signature ...
    assert press(client, world.order, "", **changed).status_code == 422
    # ... "Signera" signs the new work at once.
    response = press(client, world.order, "/sign", customer_name="Lisa Kund", **changed)
    assert response.status_code == 302
    order = stored(world.order.id)
    assert order.is_signed and order.signed_customer_name == "Lisa Kund"
    assert [a.description for a in order.actions] == ["Extra arbete"]


# --- status -----------------------------------------------------------------------------------


def test_a_status_button_saves_what_is_typed_with_the_move(client, login, world):
    login("office")
    response = press(
        client,
        world.order,
        "/status",
        status="in_progress",
        orderer="Per Holm",
        subgroup_id=str(world.west.id),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#status")
    order = stored(world.order.id)
    assert (order.status, order.orderer) == (OrderStatus.IN_PROGRESS, "Per Holm")


@pytest.mark.parametrize("status", ["", "paid"])
def test_an_unknown_status_is_a_bad_request_and_saves_nothing(client, login, world, status):
    login("technician", subgroup=world.west)
    response = press(client, world.order, "/status", status=status, orderer="Per Holm")
    assert response.status_code == 400
    order = stored(world.order.id)
    assert (order.status, order.orderer) == (OrderStatus.DRAFT, None)


# --- Skicka protokoll -------------------------------------------------------------------------


def test_skicka_protokoll_saves_what_is_typed_then_mails_the_protocol(client, login, world):
    login("technician", subgroup=world.west)
    response = press(
        client,
        world.order,
        "/protocol",
        protocol_to="inkop@kund.se",
        fault_cause="Trasig tryckvakt",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/orders/{world.order.id}#protokoll")
    assert stored(world.order.id).fault_cause == "Trasig tryckvakt"
    [mail] = sent_mails()
    assert mail.to == ["inkop@kund.se"]
    [log] = db.session.query(ProtocolMail).all()
    assert (log.recipient, log.status) == ("inkop@kund.se", ProtocolMailStatus.SENT)


def test_a_bad_address_keeps_what_was_typed_and_sends_nothing(client, login, world):
    login("technician", subgroup=world.west)
    response = press(
        client, world.order, "/protocol", protocol_to="inkop@", fault_cause="Trasig tryckvakt"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="protocol_to-error">Ange en giltig e-postadress.' in html
    assert field_value(html, "protocol_to") == "inkop@"
    assert "Trasig tryckvakt" in html
    assert stored(world.order.id).fault_cause is None
    assert sent_mails() == [] and db.session.query(ProtocolMail).count() == 0


# --- Lägg till kommentar ----------------------------------------------------------------------


def test_a_comment_saves_what_is_typed_with_it(client, login, world):
    tech = login("technician", subgroup=world.west)
    response = press(
        client,
        world.order,
        "/comments",
        comment="Kunden ringer tillbaka",
        **action(0, "Felsökt larm", tech=tech),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#kommentarer")
    order = stored(world.order.id)
    assert [(c.text, c.author_id) for c in order.comments] == [("Kunden ringer tillbaka", tech.id)]
    assert [a.description for a in order.actions] == ["Felsökt larm"]


def test_an_empty_comment_is_explained_beside_the_field_keeping_the_rest(client, login, world):
    tech = login("technician", subgroup=world.west)
    response = press(
        client, world.order, "/comments", comment="  ", **action(0, "Felsökt larm", tech=tech)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="comment-error">Skriv en kommentar.' in html
    assert field_value(html, "actions-0-description") == "Felsökt larm"
    order = stored(world.order.id)
    assert (order.comments, order.actions) == ([], [])


def test_a_locked_order_takes_a_comment_and_shows_itself_not_what_was_posted(client, login, world):
    """A locked order's fields are disabled: what a post carries besides the comment is
    neither saved nor shown."""
    login("office")
    world.order.status = OrderStatus.SENT
    world.order.orderer = "Per Holm"
    db.session.commit()
    refused = client.post(
        f"/orders/{world.order.id}/comments", data={"comment": " ", "orderer": "Någon annan"}
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Skriv en kommentar." in html
    assert field_value(html, "orderer") == "Per Holm"
    taken = client.post(
        f"/orders/{world.order.id}/comments", data={"comment": "Faktura skickad", "orderer": "X"}
    )
    assert taken.status_code == 302
    order = stored(world.order.id)
    assert [c.text for c in order.comments] == ["Faktura skickad"]
    assert order.orderer == "Per Holm"


@pytest.mark.parametrize("endpoint", ["", "/sign", "/status"])
def test_a_locked_order_refuses_the_buttons_that_change_it(client, login, world, endpoint):
    login("office")
    world.order.status = OrderStatus.INVOICED
    db.session.commit()
    response = press(client, world.order, endpoint, status="cancelled", customer_name="Kalle")
    assert response.status_code == 409
    order = stored(world.order.id)
    assert (order.status, order.is_signed) == (OrderStatus.INVOICED, False)


# --- rows without JavaScript ------------------------------------------------------------------


def test_adding_a_row_to_a_list_the_page_does_not_have_is_a_bad_request(client, login, world):
    login("technician", subgroup=world.west)
    assert press(client, world.order, "/rows", add="comments").status_code == 400
    assert press(client, world.order, "/rows").status_code == 400


# --- every button ----------------------------------------------------------------------------

# The fields each button needs to go through, besides what is typed.
BUTTONS = {
    "": {},
    "/sign": {"customer_name": "Kalle Kund"},
    "/status": {"status": "in_progress"},
    "/comments": {"comment": "Ringt kunden"},
    "/protocol": {"protocol_to": "inkop@kund.se"},
}


def untouched(order_id: int) -> bool:
    order = stored(order_id)
    return (
        order.description is None
        and order.comments == []
        and not order.is_signed
        and order.status == OrderStatus.DRAFT
        and sent_mails() == []
    )


@pytest.mark.parametrize("endpoint", BUTTONS)
def test_every_button_refuses_a_stale_page_keeping_what_was_typed(client, login, world, endpoint):
    """Optimistic locking (issue #17) on every button that saves what is typed."""
    login("technician", subgroup=world.west)
    version = field_value(client.get(f"/orders/{world.order.id}").get_data(as_text=True), "version")
    update_order(world.order, {"orderer": "Kontoret Kim"}, by=world.office)  # meanwhile
    db.session.commit()

    response = press(
        client,
        world.order,
        endpoint,
        version=version,
        orderer="",  # this page still shows no orderer
        description="Bytte oljefilter",
        **BUTTONS[endpoint],
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert ORDER_CONFLICT in html
    assert field_value(html, "description") == "Bytte oljefilter"
    assert field_value(html, "version") == "2"  # saving again overwrites, knowingly
    assert untouched(world.order.id)
    assert stored(world.order.id).orderer == "Kontoret Kim"


@pytest.mark.parametrize("endpoint", [*BUTTONS, "/rows"])
def test_a_technician_of_another_subgroup_is_refused_on_every_button(
    client, login, world, endpoint
):
    login("technician", subgroup=world.south)
    fields = {**BUTTONS.get(endpoint, {}), "add": "actions"}
    response = press(client, world.order, endpoint, description="Bytte", **fields)
    assert response.status_code == 403
    assert untouched(world.order.id)
