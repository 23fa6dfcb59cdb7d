"""Blank values do not pass (issue #17): the API strips every string of a request body before
validating it, so a tab as an article number or U+0085 as a name is empty and refused, and
what is stored has no surrounding whitespace. A password is taken exactly as sent."""

from __future__ import annotations

import pytest

BLANKS = ["\t", "\u0085", " \t\r\n \u2003"]


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/articles", {"name": "Filter", "unit": "st", "price": 1}, "article_number"),
        ("/articles", {"article_number": "A1", "unit": "st", "price": 1}, "name"),
        ("/subgroups", {}, "name"),
        ("/customers", {}, "name"),
        ("/custom-fields", {"entity": "order", "type": "text"}, "name"),
    ],
)
def test_a_blank_required_text_is_refused(api, path, body, field, blank):
    response = api("admin").post(path, json={**body, field: blank})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_surrounding_whitespace_is_not_stored(api):
    admin = api("admin")
    created = admin.post(
        "/articles",
        json={"article_number": " \tA-7 ", "name": "\u0085Filter ", "unit": " st", "price": 1},
    )
    assert created.status_code == 201, created.json
    assert (created.json["article_number"], created.json["name"], created.json["unit"]) == (
        "A-7",
        "Filter",
        "st",
    )
    customer = admin.post("/customers", json={"name": "  Kund AB  ", "city": " Borås\t"})
    assert customer.status_code == 201, customer.json
    assert (customer.json["name"], customer.json["city"]) == ("Kund AB", "Borås")


def test_a_password_is_taken_as_sent(api, client):
    admin = api("admin")
    password = "  mellanslag runt om  "
    created = admin.post(
        "/users",
        json={
            "name": "Tea",
            "email": "tea@example.com",
            "role": "technician",
            "password": password,
        },
    )
    assert created.status_code == 201, created.json
    signed_in = client.post("/login", data={"email": "tea@example.com", "password": password})
    assert signed_in.status_code == 302


def test_web_forms_strip_before_they_check_length_and_required(client, login):
    """The web forms strip every text field before validating it (app/formfields.py
    StrippedForm): 50 characters with spaces around are 50, a tab alone is empty."""
    from sqlalchemy import select

    from app.articles.models import Article
    from app.extensions import db

    login("office")
    fifty = "A" * 50
    saved = client.post(
        "/articles/new",
        data={
            "article_number": f"  {fifty}\t",
            "name": "\u0085Kilrem ",
            "unit": " st",
            "price": "1",
        },
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    article = db.session.scalars(select(Article)).one()
    assert (article.article_number, article.name, article.unit) == (fifty, "Kilrem", "st")
    refused = client.post(
        "/articles/new", data={"article_number": "\t", "name": "Filter", "price": "1"}
    )
    assert refused.status_code == 422  # the form again, with the message; nothing stored
    assert db.session.scalar(select(db.func.count()).select_from(Article)) == 1
