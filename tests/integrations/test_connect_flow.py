"""Settings → Integration: the connect flow against the sandbox over real HTTP."""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.models import IntegrationState, OAuthState


@pytest.fixture
def app_config(sandbox_config, sandbox):
    """The module's sandbox (tests/integrations/conftest.py), approving every consent."""
    sandbox.set_auto_approve(
        True, company={"CompanyName": "Kylteknik i Väst AB", "OrganizationNumber": "556123-4567"}
    )
    return sandbox_config


def _consent(authorize_url: str) -> tuple[str, dict[str, str]]:
    """What the admin's browser does at Fortnox: the sandbox approves at once and redirects
    back to our callback."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text
    location = urlsplit(response.headers["Location"])
    return location.path, {k: v[0] for k, v in parse_qs(location.query).items()}


def _start(client, subgroup_id=None) -> str:
    data = {"subgroup_id": subgroup_id} if subgroup_id else {}
    response = client.post("/settings/integration/connect", data=data)
    assert response.status_code == 302
    return response.headers["Location"]


def test_admin_connects_and_sees_the_company_name(client, login, sandbox):
    login("admin", name="Agnes Admin")
    authorize_url = _start(client)
    assert authorize_url.startswith(sandbox.oauth_url + "/auth?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["access_type"] == ["offline"] and "order" in query["scope"][0].split()

    path, params = _consent(authorize_url)
    assert path == "/settings/integration/callback" and params["state"] == query["state"][0]
    done = client.get(path, query_string=params)
    assert done.status_code == 302

    page = client.get("/settings/integration").get_data(as_text=True)
    assert "Kylteknik i Väst AB" in page and "556123-4567" in page
    assert "Anslut igen" in page and "Koppla från" in page

    integration = services.integration_for_subgroup(None)
    assert integration.state == IntegrationState.OK
    assert integration.company_name == "Kylteknik i Väst AB"
    assert integration.connected_by.name == "Agnes Admin"
    # Tokens are stored encrypted: the access token never appears in clear text.
    tokens = services.DbTokenStore(integration.id, services.token_key()).load()
    assert tokens.access_token and tokens.access_token not in integration.encrypted_tokens
    assert tokens.refresh_token not in integration.encrypted_tokens


def test_a_reused_state_is_refused_and_changes_nothing(client, login, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    assert client.get(path, query_string=params).status_code == 302
    before = services.integration_for_subgroup(None).encrypted_tokens
    again = client.get(path, query_string=params, follow_redirects=True)
    assert "redan använd" in again.get_data(as_text=True)
    db.session.expire_all()
    assert services.integration_for_subgroup(None).encrypted_tokens == before


def test_a_tampered_state_is_refused_and_nothing_is_connected(client, login, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    params["state"] = params["state"][:-2] + "xx"
    response = client.get(path, query_string=params, follow_redirects=True)
    assert "kunde inte kopplas till en anslutning" in response.get_data(as_text=True)
    integration = services.integration_for_subgroup(None)
    assert integration.encrypted_tokens is None
    assert integration.state == IntegrationState.INACTIVE


def test_state_is_bound_to_the_admin_who_started(app, client, login, make_user, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    other = app.test_client()
    intruder = make_user("admin")
    other.post("/login", data={"email": intruder.email, "password": "secret-password"})
    response = other.get(path, query_string=params, follow_redirects=True)
    assert "en annan användare" in response.get_data(as_text=True)
    assert services.integration_for_subgroup(None).encrypted_tokens is None


def test_an_expired_state_is_refused(client, login, sandbox):
    from datetime import UTC, datetime, timedelta

    login("admin")
    path, params = _consent(_start(client))
    record = db.session.query(OAuthState).one()
    record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    response = client.get(path, query_string=params, follow_redirects=True)
    assert "gått ut" in response.get_data(as_text=True)
    assert services.integration_for_subgroup(None).encrypted_tokens is None


def test_denied_consent_gives_a_clear_message_and_changes_nothing(client, login, sandbox):
    login("admin")
    state = parse_qs(urlsplit(_start(client)).query)["state"][0]
    response = client.get(
        "/settings/integration/callback",
        query_string={"error": "access_denied", "state": state},
        follow_redirects=True,
    )
    assert "behörigheten godkändes inte" in response.get_data(as_text=True)
    assert services.integration_for_subgroup(None).encrypted_tokens is None


def test_a_failed_token_exchange_changes_nothing(client, login, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    params["code"] = "not-a-real-code"
    response = client.get(path, query_string=params, follow_redirects=True)
    assert "Fortnox godtog inte anslutningen" in response.get_data(as_text=True)
    assert services.integration_for_subgroup(None).encrypted_tokens is None


def test_reconnect_replaces_tokens_and_disconnect_forgets_them(client, login, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    client.get(path, query_string=params)
    first = services.integration_for_subgroup(None).encrypted_tokens
    path, params = _consent(_start(client))  # "Anslut igen"
    client.get(path, query_string=params)
    db.session.expire_all()
    second = services.integration_for_subgroup(None)
    assert second.encrypted_tokens and second.encrypted_tokens != first
    assert client.post("/settings/integration/disconnect").status_code == 302
    db.session.expire_all()
    gone = services.integration_for_subgroup(None)
    assert gone.encrypted_tokens is None and gone.state == IntegrationState.INACTIVE
    assert gone.company_name == "Kylteknik i Väst AB"  # history kept
    assert "Anslut till Fortnox" in client.get("/settings/integration").get_data(as_text=True)


def test_connect_per_subgroup(client, login, sandbox):
    from app.auth.models import Subgroup

    subgroup = Subgroup(name="Väst")
    db.session.add(subgroup)
    db.session.commit()
    login("admin")
    path, params = _consent(_start(client, subgroup.id))
    client.get(path, query_string=params)
    assert services.integration_for_subgroup(subgroup.id).encrypted_tokens
    org_wide = services.integration_for_subgroup(None)
    assert org_wide is None or org_wide.encrypted_tokens is None


@pytest.mark.parametrize("role", ["office", "technician"])
def test_only_admins_reach_the_integration_settings(client, login, role):
    login(role)
    assert client.get("/settings/integration").status_code == 403
    assert client.post("/settings/integration/connect").status_code == 403


def test_api_connect_returns_the_authorize_url_and_the_callback_finishes(api, client, sandbox):
    admin = api("admin")
    response = admin.post("/integrations/fortnox/connect", json={})
    assert response.status_code == 200, response.json
    path, params = _consent(response.json["authorize_url"])
    # The browser that opens the URL need not be signed in: the one-time state proves who.
    assert client.get(path, query_string=params).status_code == 302
    listing = admin.get("/integrations/fortnox").json["items"]
    assert listing[0]["connected"] is True and listing[0]["state"] == "ok"
    assert listing[0]["company_name"] == "Kylteknik i Väst AB"
    assert api("technician").post("/integrations/fortnox/connect", json={}).status_code == 403


def test_revoked_authorisation_turns_into_the_error_state(client, login, sandbox):
    login("admin")
    path, params = _consent(_start(client))
    client.get(path, query_string=params)
    integration = services.integration_for_subgroup(None)
    assert services.check_connection(integration) is True
    sandbox.revoke(int(integration.tenant_id))
    sandbox.advance_clock(2 * 3600)  # the access token expires; the refresh is refused
    assert services.check_connection(integration) is False
    db.session.commit()
    assert integration.state == IntegrationState.ERROR
    errors = services.open_errors(integration)
    assert [e.operation for e in errors] == ["token"]
    page = client.get("/settings/integration").get_data(as_text=True)
    assert errors[0].message in page and "Åtgärdat" in page


def test_settings_page_shows_every_key_with_its_swedish_label(client, login):
    from app.integrations.fortnox.settings import SETTING_DEFINITIONS

    login("admin")
    page = client.get("/settings/integration").get_data(as_text=True)
    for definition in SETTING_DEFINITIONS:
        assert f'name="{definition.key}"' in page, definition.key
        assert html.escape(definition.label, quote=False) in page, definition.label


def _form(**changes):
    """The settings form as a browser posts it: every text field, checked boxes only."""
    from app.integrations.fortnox.settings import FortnoxSettings

    data = {k: v for k, v in FortnoxSettings().to_dict().items() if not isinstance(v, bool)}
    data.update(changes)
    return data


def test_settings_form_saves_and_keeps_typed_values_on_error(client, login):
    login("admin")
    response = client.post(
        "/settings/integration/settings",
        data=_form(sort_by_actions="y", serial_number_max_chars="-3", order_text="Tack!"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Ange 0 eller ett positivt heltal." in html and "Tack!" in html
    assert not services.settings_of(services.get_or_create_integration(None)).sort_by_actions
    ok = client.post(
        "/settings/integration/settings",
        data=_form(
            sort_by_actions="y",
            serial_number_max_chars="6",
            order_text="Tack!",
            no_price_article_numbers="12; 13",
        ),
    )
    assert ok.status_code == 302
    settings = services.settings_of(services.get_or_create_integration(None))
    assert settings.sort_by_actions and settings.serial_number_max_chars == 6
    assert settings.no_price_article_numbers == ("12", "13") and settings.order_text == "Tack!"
    bad_code = client.post("/settings/integration/settings", data=_form(time_report_cause_code="X"))
    assert bad_code.status_code == 422
    assert "orsakskoder" in bad_code.get_data(as_text=True)
    assert 'value="X"' in bad_code.get_data(as_text=True)


def test_settings_api_reads_updates_and_refuses_unknown_keys(api):
    admin = api("admin")
    settings = admin.get("/integrations/fortnox/settings").json
    assert settings["time_report_cause_code"] == "TID" and settings["sort_by_actions"] is False
    updated = admin.put("/integrations/fortnox/settings", json={"create_invoice_directly": True})
    assert updated.status_code == 200 and updated.json["create_invoice_directly"] is True
    bad = admin.put("/integrations/fortnox/settings", json={"nope": 1, "sort_by_actions": "ja"})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"nope", "sort_by_actions"}
    assert admin.get("/integrations/fortnox/settings").json["create_invoice_directly"] is True
    assert api("technician").get("/integrations/fortnox/settings").status_code == 403
    assert api("office").put("/integrations/fortnox/settings", json={}).status_code == 403
