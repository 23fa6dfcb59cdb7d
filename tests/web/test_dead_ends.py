"""Refusal pages are no dead ends: each says who can fix it (an administrator, when the user
cannot), links to the settings page only for those who may open it, and leads back."""

from __future__ import annotations

import re

from app.extensions import db


def links(html: str) -> list[str]:
    main = html.split('<main class="container" id="main">', 1)[1]
    return re.findall(r'href="([^"]+)"', main)


def test_technician_without_an_integration_is_told_whom_to_ask_and_led_back(client, login, world):
    login("technician", subgroup=world.west)
    response = client.get(f"/orders/{world.order.id}/fortnox-preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Ingen ansluten Fortnox-integration" in html
    assert "Kontakta en administratör" in html
    assert "/settings/integration" not in html  # they may not open it
    assert "Inställningar → Integration" not in html
    assert f"/orders/{world.order.id}" in links(html)
    assert "Tillbaka till AO 1001" in html


def test_admin_without_an_integration_gets_the_settings_link(client, login, world):
    login("admin")
    response = client.get(f"/orders/{world.order.id}/fortnox-preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "/settings/integration" in links(html)
    assert "Kontakta en administratör" not in html
    assert f"/orders/{world.order.id}" in links(html)


def test_a_forbidden_page_names_the_administrator_and_leads_back_to_where_the_user_was(
    client, login, world
):
    login("technician", subgroup=world.west)
    response = client.get("/settings/protocol", headers={"Referer": "http://localhost/articles"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Kontakta en administratör" in html
    assert "/articles" in links(html)
    assert "/settings/" not in " ".join(links(html))


def test_the_back_link_never_leaves_the_app(client, login, world):
    login("technician", subgroup=world.west)
    html = client.get(
        f"/orders/{world.order.id + 1000}", headers={"Referer": "https://evil.example/x"}
    ).get_data(as_text=True)
    assert "evil.example" not in html
    assert "/" in links(html)  # the start page


def test_another_subgroups_order_is_refused_with_a_way_back(client, login, world):
    order = world.order
    order.subgroup_id = world.south.id
    db.session.commit()
    login("technician", subgroup=world.west)
    response = client.get(f"/orders/{order.id}", headers={"Referer": "http://localhost/orders"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Kontakta en administratör" in html
    assert "/orders" in links(html)


def test_admins_are_not_told_to_ask_an_administrator(client, login, world):
    login("admin")
    html = client.get("/orders/999999").get_data(as_text=True)
    assert "Kontakta en administratör" not in html
    assert "/" in links(html)
