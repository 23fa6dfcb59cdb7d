"""One rule for users' e-mail addresses (issue #13): the CLI, the admin's user form and the API
accept and refuse the same addresses, and any address a user was created with can sign in."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db

ACCEPTED = [
    "tea@firma.test",  # RFC 6761 test domain: no deliverability check
    "Tea.Persson@Firma.se",
    "  sven@firma.se  ",
    "åsa.öberg@företag.se",
    "ola+order@service.example.com",
]
REFUSED = [
    "inte-en-adress",
    "ola@firma",  # no dot after the @-sign
    "ola@@firma.se",
    "ola persson@firma.se",
    "ola@firma.local",  # special-use domains other than .test
    "ola@localhost",
    "a" * 250 + "@firma.se",  # longer than 254 characters
]


def _count(address: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.email == address.strip().lower())
    )


def _cli(runner, address: str) -> bool:
    result = runner.invoke(
        args=["users", "create", address, "--name", "Tea", "--password", "långt-lösen"]
    )
    return result.exit_code == 0


def _form(client, address: str) -> bool:
    response = client.post(
        "/users/new",
        data={
            "name": "Tea",
            "email": address,
            "role": "technician",
            "locale": "sv",
            "password": "långt-lösen",
            "active": "y",
        },
    )
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 422:
        assert "Ange en giltig e-postadress." in response.get_data(as_text=True)
    return response.status_code == 302


def _api(admin, address: str) -> bool:
    response = admin.post(
        "/users",
        json={"name": "Tea", "email": address, "password": "långt-lösen", "role": "technician"},
    )
    assert response.status_code in (201, 422), response.json
    if response.status_code == 422:
        assert set(response.json["error"]["fields"]) == {"email"}
        assert "Ange en giltig e-postadress." in response.json["error"]["fields"]["email"]
    return response.status_code == 201


@pytest.mark.parametrize("address", ACCEPTED + REFUSED)
def test_the_three_ways_of_creating_a_user_agree_on_an_address(
    address, app, runner, client, login, api
):
    login("admin")
    admin = api("admin")
    verdicts = {}
    for way, create in (
        ("cli", lambda: _cli(runner, address)),
        ("form", lambda: _form(client, address)),
        ("api", lambda: _api(admin, address)),
    ):
        verdicts[way] = create()
        if verdicts[way]:
            # Stored normalised; removed again so the next way can create the same address.
            user = db.session.scalars(
                select(User).where(User.email == address.strip().lower())
            ).one()
            db.session.delete(user)
            db.session.commit()
        assert _count(address) == 0
    expected = address in ACCEPTED
    assert verdicts == {"cli": expected, "form": expected, "api": expected}


def test_a_user_created_on_the_command_line_with_a_test_address_signs_in(runner, client):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "tea@firma.test",
            "--name",
            "Tea Tekniker",
            "--role",
            "technician",
            "--password",
            "långt-lösen",
        ]
    )
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"email": "tea@firma.test", "password": "långt-lösen"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "Tea Tekniker" in client.get("/").get_data(as_text=True)


def test_sign_in_compares_the_address_normalised(client, make_user):
    make_user("office", email="kim@firma.test")
    response = client.post(
        "/login", data={"email": "  KIM@Firma.TEST ", "password": "secret-password"}
    )
    assert response.status_code == 302


def test_sign_in_never_judges_the_form_of_an_address(client):
    # Whatever was typed is only looked up: an unknown one is just a failed sign-in.
    response = client.post("/login", data={"email": "inte-en-adress", "password": "något"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Ange en giltig e-postadress." not in html
    assert "Fel e-postadress eller lösenord." in html


def test_the_admin_cannot_change_a_users_address_to_an_invalid_one(client, login, make_user):
    user = make_user("office", email="kim@firma.se")
    login("admin")
    response = client.post(
        f"/users/{user.id}/edit",
        data={"name": "Kim", "email": "kim@firma", "role": "office", "locale": "sv"},
    )
    assert response.status_code == 422
    assert "Ange en giltig e-postadress." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email == "kim@firma.se"


def test_the_service_refuses_an_invalid_address_whoever_calls_it(app):
    from app.auth.services import UserError, check_email, create_user

    assert check_email("  Tea@Firma.TEST ") == "tea@firma.test"
    with pytest.raises(UserError) as caught:
        create_user(email="tea@firma", name="Tea", password="långt-lösen")
    assert caught.value.field == "email"
