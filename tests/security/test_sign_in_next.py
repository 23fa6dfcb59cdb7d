"""`next` after a successful sign-in (issue #17): only a path of this app is followed;
anything else — control characters, other hosts, schemes — goes to the start page, never 500."""

from __future__ import annotations

import pytest

from app.auth.routes import safe_next

REFUSED = [
    "/orders\r\nSet-Cookie: x=1",
    "/orders\nLocation: https://evil.example",
    "/orders\r",
    "/a\tb",
    "/a\x7fb",
    "/a\u0085b",  # NEL
    "//evil.example/x",
    "/\\evil.example/x",  # browsers read a backslash as a slash
    "\\\\evil.example",
    "https://evil.example/x",
    "javascript:alert(1)",
    "http:/orders",
    "orders",
    "",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", REFUSED)
def test_a_bad_next_is_ignored_and_the_user_lands_on_the_start_page(client, make_user, target):
    user = make_user("office")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": "secret-password"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # signed in all the same


@pytest.mark.parametrize("target", ["/orders", "/orders?page=2&q=pump", "/customers/12#kontakter"])
def test_a_local_next_is_followed(client, make_user, target):
    user = make_user("office")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": "secret-password"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", [*REFUSED, "/a\x00b"])  # NUL: the request hook's 400 first
def test_safe_next_refuses(target):
    assert safe_next(target) is None
