"""Sessions can be revoked (issue #17): signing out and a new password end every session of
the user — the browser's own, a copied session cookie and the remember-me cookie."""

from __future__ import annotations

from app.auth.services import create_api_token
from app.extensions import db

PASSWORD = "secret-password"


def _sign_in(client, user, *, remember: bool = False):  # type: ignore[no-untyped-def]
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data
    return response


def _copy_cookies(source, target) -> None:  # type: ignore[no-untyped-def]
    """What a thief does with a stolen cookie jar: every cookie of `source` into `target`."""
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def _signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/profile").status_code == 200


def test_a_copied_session_cookie_stops_working_after_sign_out(app, make_user):
    user = make_user("technician")
    browser, thief = app.test_client(), app.test_client()
    _sign_in(browser, user)
    _copy_cookies(browser, thief)
    assert _signed_in(thief)  # the copy works while the user is signed in

    assert browser.post("/logout").status_code == 302

    assert not _signed_in(browser)
    assert not _signed_in(thief)


def test_a_remember_me_cookie_stops_working_after_sign_out(app, make_user):
    user = make_user("office")
    browser = app.test_client()
    _sign_in(browser, user, remember=True)
    assert browser.get_cookie("remember_token") is not None
    # Another device holding only the remember-me cookie (its session long gone).
    other_device = app.test_client()
    other_device.set_cookie("remember_token", browser.get_cookie("remember_token").value)
    assert _signed_in(other_device)

    assert browser.post("/logout").status_code == 302

    fresh = app.test_client()
    fresh.set_cookie("remember_token", other_device.get_cookie("remember_token").value)
    assert not _signed_in(fresh)
    assert not _signed_in(other_device)


def test_a_new_password_ends_every_session_and_the_remember_me_cookie(app, make_user):
    admin = make_user("admin")
    user = make_user("technician")
    phone, laptop = app.test_client(), app.test_client()
    _sign_in(phone, user, remember=True)
    _sign_in(laptop, user)
    remember_only = app.test_client()
    remember_only.set_cookie("remember_token", phone.get_cookie("remember_token").value)
    assert _signed_in(phone) and _signed_in(laptop) and _signed_in(remember_only)

    admin_client = app.test_client()
    _sign_in(admin_client, admin)
    response = admin_client.post(
        f"/users/{user.id}/edit",
        data={
            "name": user.name,
            "email": user.email,
            "role": "technician",
            "subgroup_id": "",
            "locale": "sv",
            "active": "y",
            "password": "a-brand-new-password",
        },
    )
    assert response.status_code == 302, response.data

    assert not _signed_in(phone)
    assert not _signed_in(laptop)
    assert not _signed_in(remember_only)
    assert _signed_in(admin_client)  # someone else's password: the admin stays signed in
    # The new password signs in.
    again = app.test_client()
    ok = again.post("/login", data={"email": user.email, "password": "a-brand-new-password"})
    assert ok.status_code == 302 and _signed_in(again)


def test_an_admin_changing_their_own_password_stays_signed_in_only_here(app, make_user):
    admin = make_user("admin")
    here, elsewhere = app.test_client(), app.test_client()
    _sign_in(here, admin)
    _sign_in(elsewhere, admin)
    response = here.post(
        f"/users/{admin.id}/edit",
        data={
            "name": admin.name,
            "email": admin.email,
            "role": "admin",
            "subgroup_id": "",
            "locale": "sv",
            "active": "y",
            "password": "another-long-password",
        },
    )
    assert response.status_code == 302, response.data
    assert _signed_in(here)
    assert not _signed_in(elsewhere)


def test_api_tokens_survive_sign_out_but_not_a_new_password(app, make_user, client):
    from app.auth.services import update_user

    user = make_user("technician")
    token = create_api_token(user, "script")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    browser = app.test_client()
    _sign_in(browser, user)
    browser.post("/logout")
    assert client.get("/api/v1/articles", headers=headers).status_code == 200

    update_user(
        user,
        email=user.email,
        name=user.name,
        role=user.role,
        subgroup=None,
        employee_number=None,
        cost_center=None,
        locale="sv",
        active=True,
        password="a-brand-new-password",
    )
    db.session.commit()
    assert client.get("/api/v1/articles", headers=headers).status_code == 401


def test_saving_a_user_without_a_new_password_keeps_their_sessions(app, make_user):
    admin, user = make_user("admin"), make_user("technician")
    admin_client, phone = app.test_client(), app.test_client()
    _sign_in(admin_client, admin)
    _sign_in(phone, user)
    response = admin_client.post(
        f"/users/{user.id}/edit",
        data={
            "name": "Nytt Namn",
            "email": user.email,
            "role": "technician",
            "subgroup_id": "",
            "locale": "sv",
            "active": "y",
            "password": "",
        },
    )
    assert response.status_code == 302
    assert _signed_in(phone)


def test_malformed_or_old_style_session_ids_are_anonymous(app, make_user):
    from app.auth.services import load_user

    user = make_user("admin")
    assert load_user(user.get_id()) is user
    for bad in (str(user.id), f"{user.id}:", f"{user.id}:x", f":{user.session_version}", "", "a:b",
                f"{user.id}:{user.session_version + 1}", "9" * 40 + ":0"):  # fmt: skip
        assert load_user(bad) is None, bad
