"""Counts take the noun's right form ("1 träff", "2 träffar"), and every article shows its
status in the register's Status column."""

from __future__ import annotations

import re
from decimal import Decimal

from tests import factories


def test_one_hit_is_singular_and_more_are_plural(client, login):
    factories.article("1001", name="Oljefilter")
    login("office")
    html = client.get("/articles").get_data(as_text=True)
    assert "1 träff<" in html and "1 träffar" not in html
    factories.article("1002", name="Luftfilter")
    assert "2 träffar<" in client.get("/articles").get_data(as_text=True)
    assert "0 träffar<" in client.get("/articles?q=inget").get_data(as_text=True)


def test_customer_and_order_lists_count_in_the_right_form(client, login, world):
    login("office")
    assert "1 träff<" in client.get("/customers").get_data(as_text=True)
    assert "1 träff<" in client.get("/orders").get_data(as_text=True)


def status_cells(html: str) -> list[str]:
    cells = re.findall(r'<td data-label="Status">(.*?)</td>', html, re.S)
    return [re.sub(r"<[^>]+>", " ", cell).split() for cell in cells]  # type: ignore[misc]


def test_every_article_shows_its_status(client, login):
    factories.article("1001", name="Oljefilter", price=Decimal("250"))
    factories.article("1002", name="Luftfilter", hidden=True)
    factories.article("X9", name="Utgången packning", active=False)
    login("office")
    html = client.get("/articles").get_data(as_text=True)
    cells = status_cells(html)
    assert len(cells) == 3 and all(cells), cells
    assert sorted(map(tuple, cells)) == sorted([("Aktiv",), ("Aktiv", "Dold"), ("Inaktiv",)]), cells
