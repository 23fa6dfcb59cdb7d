"""Sign-in: passwords, throttling, CSRF, cookies and roles."""

from __future__ import annotations

import pytest

from tests.conftest import make_app


def test_user_signs_in_and_sees_the_start_page(client, make_user):
    user = make_user("admin", name="Agnes Admin")
    response = client.post("/login", data={"email": user.email, "password": "secret-password"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "Agnes Admin" in page.get_data(as_text=True)


def test_start_page_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_wrong_password_shows_swedish_message_and_keeps_the_email(client, make_user):
    user = make_user("technician")
    response = client.post("/login", data={"email": user.email, "password": "wrong-password"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Fel e-postadress eller lösenord." in html
    assert f'value="{user.email}"' in html


def test_invalid_form_shows_the_message_next_to_the_field(client):
    response = client.post("/login", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and "Fyll i din e-postadress." in html
    assert 'id="password-error"' in html and "Fyll i lösenordet." in html
    # The form of an address is never judged: what was typed is kept and only looked up.
    response = client.post("/login", data={"email": "inte-en-adress", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ange en giltig e-postadress." not in html
    assert 'value="inte-en-adress"' in html


def test_inactive_user_cannot_sign_in(client, make_user):
    from app.extensions import db

    user = make_user("office")
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": "secret-password"})
    assert response.status_code == 401


def test_login_is_throttled_after_repeated_failures(client, make_user):
    user = make_user("admin")
    assert (
        client.post("/login", data={"email": user.email, "password": "nope-nope"}).status_code
        == 401
    )
    # Straight after a failure even the right password is not looked at: the form again, the
    # address kept, and how long to wait.
    blocked = client.post("/login", data={"email": user.email, "password": "secret-password"})
    assert blocked.status_code == 429
    html = blocked.get_data(as_text=True)
    assert "Vänta 1 sekund innan du försöker igen." in html
    assert f'value="{user.email}"' in html
    assert blocked.headers["Retry-After"] == "1"
    # Another account is not affected by this address's failures.
    other = make_user("admin")
    ok = client.post("/login", data={"email": other.email, "password": "secret-password"})
    assert ok.status_code == 302


def test_successful_logins_do_not_count_towards_the_throttle(client, make_user):
    user = make_user("admin")
    for _ in range(8):
        assert (
            client.post(
                "/login", data={"email": user.email, "password": "secret-password"}
            ).status_code
            == 302
        )
        client.post("/logout")


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_form_post_without_csrf_token_is_rejected(client, make_user, app_config):
    user = make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": "secret-password"})
    assert response.status_code == 400
    assert "säkerhetstoken" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_form_post_with_csrf_token_is_accepted(client, make_user, app_config):
    import re

    user = make_user("admin")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": "secret-password", "csrf_token": token}
    )
    assert response.status_code == 302


def test_logout_needs_a_post(client, login):
    login("technician")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_parameter_never_redirects_off_site(client, make_user):
    user = make_user("admin")
    response = client.post(
        "/login?next=https://evil.example/x",
        data={"email": user.email, "password": "secret-password"},
    )
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_samesite_and_secure_in_production(make_user):
    """The cookies a sign-in sets carry production's flags: Config's, not TestConfig's, which
    turns Secure off for plain HTTP."""
    from app.config import Config

    flags = {
        f"{cookie}_COOKIE_{flag}": getattr(Config, f"{cookie}_COOKIE_{flag}")
        for cookie in ("SESSION", "REMEMBER")
        for flag in ("SECURE", "HTTPONLY", "SAMESITE")
    }
    production = make_app(**flags)
    user = make_user("admin")

    response = production.test_client().post(
        "/login", data={"email": user.email, "password": "secret-password", "remember": "y"}
    )

    assert response.status_code == 302
    set_cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):  # Flask's and Flask-Login's names
        cookie_flags = {part.strip().lower() for part in set_cookies[name].split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= cookie_flags, set_cookies[name]


def test_production_config_refuses_to_start_without_secret_key():
    from app import create_app
    from app.config import Config

    config = type("NoSecret", (Config,), {"SECRET_KEY": None})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_sign_in_cookie_flags(client, make_user):
    user = make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": "secret-password"})
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
