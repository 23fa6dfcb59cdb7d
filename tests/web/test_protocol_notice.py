""" "Skicka protokoll" answers next to the protocol section, and only administrators see how
e-mail is configured (MAIL_SERVER, the folder of .eml files): on Inställningar → Protokoll."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.extensions import db
from app.orders.models import Order
from tests.web.conftest import order_form


@pytest.fixture
def app_config(tmp_path: Path) -> dict[str, Any]:
    """No mail server, as with `make run`: mails are written as .eml files."""
    return {"MAIL_BACKEND": None, "MAIL_FILE_PATH": str(tmp_path / "instance" / "mail")}


@pytest.fixture
def contact_order(world) -> Order:  # type: ignore[no-untyped-def]
    from app.customers.services import update_customer

    update_customer(world.customer, {"contacts": [{"name": "Eva Ek", "email": "eva@verkstads.se"}]})
    world.order.contact = world.customer.contacts[0]
    db.session.commit()
    return world.order


def send(client: Any, order: Order) -> Any:
    return client.post(
        f"/orders/{order.id}/protocol",
        data=order_form(order, subgroup_id=str(order.subgroup_id or "")),
    )


def protocol_section(html: str) -> str:
    return re.search(r'<section class="card" id="protokoll">.*?</section>', html, re.S).group(0)  # type: ignore[union-attr]


def test_technician_sees_no_mail_configuration(app, client, login, contact_order):
    login("technician", subgroup=contact_order.subgroup)
    folder = app.config["MAIL_FILE_PATH"]
    page = client.get(f"/orders/{contact_order.id}").get_data(as_text=True)
    assert "MAIL_SERVER" not in page and folder not in page and "instance/" not in page
    assert "Kontakta en administratör" in protocol_section(page)  # mails don't go out

    response = send(client, contact_order)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/orders/{contact_order.id}#protokoll")
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "MAIL_SERVER" not in after and "instance/" not in after and ".eml" not in after
    section = protocol_section(after)
    # The answer stands in the section the browser scrolls to, not in the flash at the top.
    assert 'id="protocol-notice"' in section and "eva@verkstads.se" in section
    assert "inte skickat" in section and "Kontakta en administratör" in section
    assert 'class="flash' not in after


@pytest.mark.parametrize("app_config", [{"MAIL_BACKEND": "locmem"}])
def test_a_sent_protocol_is_confirmed_in_the_protocol_section(client, login, contact_order):
    login("office")
    response = send(client, contact_order)
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    section = protocol_section(after)
    assert "Serviceprotokollet är skickat till eva@verkstads.se." in section
    # Shown once: reloading the page does not say it again.
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="protocol-notice"' not in again


def test_admin_finds_the_mail_configuration_on_the_protocol_settings_page(
    app, client, login, contact_order
):
    login("admin")
    folder = app.config["MAIL_FILE_PATH"]
    page = client.get(f"/orders/{contact_order.id}").get_data(as_text=True)
    assert "/settings/protocol" in protocol_section(page)
    settings = client.get("/settings/protocol").get_data(as_text=True)
    assert "MAIL_SERVER" in settings and folder in settings

    response = send(client, contact_order)
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    [written] = list(Path(folder).glob("*.eml"))
    assert written.name in protocol_section(after)  # the admin may know where it went


@pytest.mark.parametrize(
    "app_config", [{"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 9}]
)
def test_a_failed_send_tells_a_technician_whom_to_ask_not_the_server_details(
    client, login, contact_order
):
    login("technician", subgroup=contact_order.subgroup)
    response = send(client, contact_order)
    html = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "Kunde inte skicka e-post" in html and "kontakta en administratör" in html
    assert "127.0.0.1" not in html and "MAIL_" not in html
    assert f'formaction="/orders/{contact_order.id}/protocol" class="primary">Försök igen' in html
