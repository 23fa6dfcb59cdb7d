"""Admin pages (users, subgroups, custom fields) and "Min profil" (language, API tokens)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.auth.models import ApiToken, Role, Subgroup, User
from app.customfields.models import CustomFieldDefinition
from app.extensions import db
from tests.web.conftest import field_value, selected_value

ADMIN_PAGES = ("/users", "/users/new", "/subgroups", "/custom-fields")


@pytest.mark.parametrize("role", ["office", "technician"])
def test_admin_pages_are_403_for_other_roles(client, login, role):
    user = login(role)
    for url in (*ADMIN_PAGES, f"/users/{user.id}/edit"):
        assert client.get(url).status_code == 403, url
    assert client.post("/subgroups", data={"name": "X"}).status_code == 403
    assert client.post("/custom-fields", data={"name": "X"}).status_code == 403
    html = client.get("/").get_data(as_text=True)
    assert "Användare" not in html and "Anpassade fält" not in html


def test_admin_sees_the_admin_menu(client, login):
    login("admin")
    html = client.get("/").get_data(as_text=True)
    for label in (
        "Ordrar",
        "Mina ordrar",
        "Kunder",
        "Artiklar",
        "Användare",
        "Undergrupper",
        "Anpassade fält",
    ):
        assert f">{label}</a>" in html
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 200, url


def test_admin_creates_a_technician_in_a_subgroup(client, login):
    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.commit()
    login("admin")
    response = client.post(
        "/users/new",
        data={
            "name": "Tove Tekniker",
            "email": "Tove@Firma.se",
            "role": "technician",
            "subgroup_id": str(west.id),
            "employee_number": "11",
            "cost_center": "SERV",
            "locale": "sv",
            "password": "hemligt-lösen",
            "active": "y",
        },
    )
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "tove@firma.se")).one()
    assert (user.role, user.subgroup_id, user.employee_number) == (Role.TECHNICIAN, west.id, "11")
    assert user.check_password("hemligt-lösen")


def test_user_form_explains_a_taken_email_and_a_missing_password(client, login, make_user):
    taken = make_user("office")
    login("admin")
    response = client.post(
        "/users/new",
        data={
            "name": "Ny",
            "email": taken.email,
            "role": "office",
            "locale": "sv",
            "password": "långt-lösenord",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error">Det finns redan en användare med den e-postadressen.' in html
    missing = client.post(
        "/users/new",
        data={"name": "Ny", "email": "ny@example.com", "role": "office", "locale": "sv"},
    ).get_data(as_text=True)
    assert 'id="password-error">Ange ett lösenord (minst 8 tecken).' in missing


def test_editing_a_user_keeps_the_password_when_left_empty(client, login, make_user):
    user = make_user("technician")
    login("admin")
    page = client.get(f"/users/{user.id}/edit").get_data(as_text=True)
    assert selected_value(page, "role") == "technician"
    assert field_value(page, "password") == ""
    response = client.post(
        f"/users/{user.id}/edit",
        data={
            "name": "Nytt Namn",
            "email": user.email,
            "role": "office",
            "locale": "en",
            "password": "",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role, user.locale, user.active) == (
        "Nytt Namn",
        Role.OFFICE,
        "en",
        False,
    )
    assert user.check_password("secret-password")


def test_subgroups_are_created_once(client, login):
    login("admin")
    assert client.post("/subgroups", data={"name": "Syd"}).status_code == 302
    again = client.post("/subgroups", data={"name": "syd"})
    assert again.status_code == 422
    assert "Det finns redan en undergrupp med det namnet." in again.get_data(as_text=True)
    assert db.session.scalars(select(Subgroup.name)).all() == ["Syd"]


def test_admin_adds_a_custom_field_per_entity(client, login):
    login("admin")
    response = client.post(
        "/custom-fields", data={"entity": "customer", "name": "Er referens", "type": "text"}
    )
    assert response.status_code == 302
    twice = client.post(
        "/custom-fields", data={"entity": "customer", "name": "Er referens", "type": "text"}
    )
    assert twice.status_code == 422
    assert "Det finns redan ett fält med det namnet." in twice.get_data(as_text=True)
    client.post(
        "/custom-fields", data={"entity": "facility", "name": "Er referens", "type": "text"}
    )
    rows = db.session.execute(select(CustomFieldDefinition.entity, CustomFieldDefinition.name))
    assert sorted((e.value, n) for e, n in rows) == [
        ("customer", "Er referens"),
        ("facility", "Er referens"),
    ]


# --- Min profil ----------------------------------------------------------------------------------


def test_the_user_picks_english_and_the_pages_follow(client, login):
    user = login("technician")
    response = client.post("/profile", data={"locale": "en"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.locale == "en"
    html = client.get("/profile").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert ">Orders</a>" in html and ">My orders</a>" in html


def test_a_personal_api_token_is_shown_once_and_works(client, login, app):
    user = login("office")
    response = client.post("/profile/tokens", data={"token-token_name": "Lagerskript"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    token = html.split("data-new-token>")[1].split("<")[0]
    assert token.startswith("ordna_")
    assert token not in client.get("/profile").get_data(as_text=True)
    api = app.test_client()
    assert (
        api.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    stored = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert stored.name == "Lagerskript" and stored.token_hash != token

    assert client.post(f"/profile/tokens/{stored.id}/delete").status_code == 302
    assert (
        api.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_nobody_deletes_someone_elses_token(client, login, make_user):
    from app.auth.services import create_api_token

    other = make_user("admin")
    create_api_token(other, "annans")
    db.session.commit()
    token_id = db.session.scalars(select(ApiToken.id)).one()
    login("admin")
    assert client.post(f"/profile/tokens/{token_id}/delete").status_code == 404


def test_an_admin_cannot_demote_or_deactivate_themselves(client, login):
    me = login("admin")
    response = client.post(
        f"/users/{me.id}/edit",
        data={"name": me.name, "email": me.email, "role": "office", "locale": "sv", "active": "y"},
    )
    assert response.status_code == 422
    assert "Du kan inte ta bort din egen admin-roll." in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == Role.ADMIN and me.active
