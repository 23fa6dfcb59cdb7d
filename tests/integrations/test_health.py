"""Integration health (integration-health.md): the status indicator on every page at a constant
number of queries, the error banner and dialog, "Åtgärdat", errors that resolve themselves,
the sync section of Settings → Integration and the sync run log, "Töm synkad data", the
first sign-in of the day, and the API's state. Over real HTTP against the sandbox; jobs run
in-process."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app.articles.models import Article
from app.auth.models import User
from app.customers.models import Customer
from app.extensions import db
from app.integrations import health
from app.integrations.fortnox import services, sync
from app.integrations.models import (
    FortnoxIntegration,
    FortnoxLink,
    FortnoxSend,
    IntegrationError,
    IntegrationState,
    RegisterItem,
    SendStatus,
    SyncCursor,
    SyncRun,
    SyncRunStatus,
)
from app.orders.models import FortnoxState, Order
from app.orders.services import create_order
from tests import factories
from tests.integrations.test_send import reload

PERMISSION_FAULT = {
    "method": "GET",
    "path_pattern": "/3/costcenters*",
    "status": 403,
    "code": 2003275,
    "message": "Användaren saknar behörighet för kostnadsställen.",
}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


@contextmanager
def counted():
    """Count the SQL statements run inside the block."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def indicator_states(html: str) -> list[str]:
    header = html.split("</header>", 1)[0]
    return re.findall(r'data-health-state="([a-z]+)"', header)


def header(html: str) -> str:
    return html.split("</header>", 1)[0]


def main(html: str) -> str:
    return html.split('<main class="container" id="main">', 1)[1]


def page(client, path: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def running_run(integration: FortnoxIntegration, **extra) -> SyncRun:  # type: ignore[no-untyped-def]
    run = SyncRun(
        integration_id=integration.id,
        trigger="manual",
        parts=["cost_centers"],
        status=SyncRunStatus.RUNNING,
        heartbeat_at=datetime.now(UTC),
        log=[{"at": datetime.now(UTC).isoformat(), "part": "cost_centers", "text": "Hämtar…"}],
        **extra,
    )
    db.session.add(run)
    db.session.commit()
    return run


def fetch(client, *parts: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post("/settings/integration/sync", data={"part": list(parts), **form})


def failed_sends(api, sandbox, connect, ready_order, count: int = 3) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` orders whose send Fortnox refused: the send error."""
    connect()
    sandbox.add_fault(
        "status",
        method="POST",
        path_pattern="/3/orders",
        status=400,
        code=2000106,
        message="Värdet får bara innehålla bokstäver och siffror.",
        count=count,
    )
    ids = []
    for n in range(count):
        order = ready_order(customer_number=f"80{n}")
        assert api("office").post(f"/orders/{order.id}/send").status_code == 202
        assert reload(order.id).fortnox_state == FortnoxState.FAILED
        ids.append(order.id)
    return ids


def open_error(operation: str) -> IntegrationError:
    db.session.expire_all()
    error = db.session.scalar(
        select(IntegrationError).where(
            IntegrationError.operation == operation, IntegrationError.resolved_at.is_(None)
        )
    )
    assert error is not None, f"no open {operation} error"
    return error


# --- the indicator ------------------------------------------------------------------------------


def test_the_indicator_is_green_red_struck_and_spinning(client, login, connect):
    login("admin")
    assert indicator_states(page(client, "/orders")) == ["inactive"]
    integration = connect()
    html = page(client, "/orders")
    assert indicator_states(html) == ["ok"]
    assert "health-dot" not in header(html)

    services.record_error(integration, "sync:cost_centers", "Kostnadsställena kunde inte hämtas.")
    db.session.commit()
    html = page(client, "/orders")
    assert indicator_states(html) == ["error"]
    assert "health-dot" in header(html)
    assert "Kostnadsställena kunde inte hämtas." in header(html)  # the popover names it

    services.record_error(integration, services.TOKEN_OPERATION, "Inloggningen gäller inte.")
    db.session.commit()
    html = page(client, "/orders")
    assert indicator_states(html) == ["revoked"]  # struck through, and the red dot
    assert "health-dot" in header(html)
    # For an admin the struck icon opens Settings → Integration.
    assert re.search(
        r'<a class="health-icon health-revoked"[^>]*href="/settings/integration"', html
    )

    services.resolve_errors(integration, None, by=None)
    db.session.commit()
    running_run(integration)
    html = page(client, "/orders")
    assert indicator_states(html) == ["syncing"]
    assert "health-spin" in header(html)

    services.disconnect(integration, by=db.session.scalar(select(User)))
    db.session.commit()
    assert indicator_states(page(client, "/orders")) == ["inactive"]


def test_a_run_whose_worker_died_is_not_shown_as_syncing(client, login, connect):
    login("admin")
    integration = connect()
    running_run(integration, started_at=datetime.now(UTC) - timedelta(hours=2))
    dead = db.session.scalar(select(SyncRun))
    dead.heartbeat_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    html = page(client, "/settings/integration")
    assert indicator_states(html) == ["ok"]
    assert "data-sync-now" in html  # offered again; starting marks the dead run failed
    client.post("/settings/integration/sync", data={"part": "cost_centers"})
    db.session.expire_all()
    assert db.session.get(SyncRun, dead.id).status == SyncRunStatus.FAILED
    assert db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc())).status == (
        SyncRunStatus.FINISHED
    )


def _history(integration: FortnoxIntegration, size: int, office: User) -> None:
    """``size`` finished runs, resolved errors and sent orders."""
    customer = factories.customer(customer_number=f"H{size}", name="Historik AB")
    now = datetime.now(UTC)
    for n in range(size):
        db.session.add(
            SyncRun(
                integration_id=integration.id,
                trigger="scheduled",
                parts=["cost_centers"],
                status=SyncRunStatus.FINISHED,
                started_at=now - timedelta(hours=size - n, minutes=1),
                finished_at=now - timedelta(hours=size - n),
                counts={"cost_centers": {"fetched": n}},
                log=[
                    {"at": now.isoformat(), "part": "", "text": "Hämtade 3 kostnadsställen på 1 s"}
                ],
            )
        )
        db.session.add(
            IntegrationError(
                integration_id=integration.id,
                operation="sync:cost_centers",
                message="Gammalt fel",
                resolved_at=now,
                resolution="auto",
            )
        )
        order = create_order({"kind": "work", "customer_id": customer.id}, by=office)
        db.session.flush()
        db.session.add(
            FortnoxSend(
                order_id=order.id,
                integration_id=integration.id,
                status=SendStatus.SUCCEEDED,
                document_type="Invoice",
                document_number=str(1000 + n),
                invoice_number=str(1000 + n),
                finished_at=now,
            )
        )
    db.session.commit()


@pytest.mark.parametrize("role", ["admin", "technician"])
def test_the_indicator_costs_the_same_queries_whatever_the_history(
    client, login, make_user, connect, role
):
    integration = connect()
    user = login(role)
    office = make_user("office")
    services.record_error(integration, "send", "1 order kunde inte skickas till Fortnox.")
    running_run(integration)
    counts = []
    for size in (2, 40):
        _history(integration, size, office)
        db.session.expire_all()
        reader = db.session.get(User, user.id)
        with counted() as statements:
            state = health.load_health(reader)
        assert state.items[0].state == "syncing" and state.errors
        with counted() as on_page:
            html = page(client, "/profile")
        assert indicator_states(html) == ["syncing"]
        counts.append((len(statements), len(on_page)))
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 4  # integrations, runs, open errors, latest sends


def test_the_popover_shows_the_last_sync_and_the_latest_documents(client, login, api, connect):
    login("office")
    integration = connect()
    office = db.session.scalar(select(User).where(User.role == "office"))
    _history(integration, 3, office)
    html = header(page(client, "/orders"))
    assert "Senaste synkning" in html
    assert "Hämtade 2 kostnadsställen" in html  # the latest run's summary
    assert "Senast skickade" in html and "Faktura 1002" in html
    assert html.count('class="fx fx-') == 3  # bounded: the latest few
    assert "/settings/integration/runs" in html  # "Synklogg" for office
    assert "Inställningar → Integration" not in html  # admins only


def test_a_technician_sees_the_state_and_is_told_whom_to_ask(client, login, connect):
    login("technician")
    html = page(client, "/orders")
    assert indicator_states(html) == ["inactive"]
    assert "Kontakta en administratör" in header(html)
    assert "/settings/" not in header(html)
    integration = connect()
    services.record_error(integration, services.TOKEN_OPERATION, "Inloggningen gäller inte.")
    db.session.commit()
    html = page(client, "/orders")
    assert indicator_states(html) == ["revoked"]
    assert "En administratör behöver ansluta Fortnox igen" in header(html)
    assert "/settings/" not in header(html)
    assert "Senast skickade" not in header(html)  # other subgroups' orders are not shown


# --- banner and dialog ----------------------------------------------------------------------


def test_send_errors_show_a_banner_and_a_dialog_with_the_orders_and_the_fixes(
    client, login, api, sandbox, connect, ready_order
):
    ids = failed_sends(api, sandbox, connect, ready_order)
    login("admin")
    error = open_error("send")
    html = page(client, f"/orders/{ids[0]}")
    banner = main(html)
    assert "3 ordrar kunde inte skickas till Fortnox." in banner
    assert f'href="/integration/errors/{error.id}"' in banner
    assert "Klicka här för att veta mer" in banner
    assert "Klicka här för att veta mer" in main(page(client, "/settings/integration"))
    assert "Klicka här för att veta mer" in main(page(client, "/settings/integration/runs"))
    assert "Klicka här för att veta mer" not in main(page(client, "/customers"))

    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "3 ordrar kunde inte skickas" in dialog
    for order_id in ids:
        assert f'href="/orders/{order_id}#fortnox"' in dialog
    assert error.fortnox_code and f"felkod {error.fortnox_code}" in dialog
    assert error.fortnox_message and error.fortnox_message in dialog
    steps = dialog.split('class="fix-steps"')[1]
    assert steps.index("Hämta") < steps.index("Anslut igen") < steps.index("Åtgärdat")
    assert 'action="/orders/unsent/retry"' in steps  # "Försök alla igen"
    assert 'action="/settings/integration/sync"' in steps
    assert 'action="/settings/integration/connect"' in steps
    assert f'action="/integration/errors/{error.id}/resolve"' in steps


def test_a_technician_reads_the_dialog_and_is_told_an_admin_fixes_it(
    client, login, api, sandbox, connect, ready_order
):
    failed_sends(api, sandbox, connect, ready_order, count=1)
    login("technician")
    error = open_error("send")
    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "Bara en administratör kan ansluta igen." in dialog
    assert "<form" not in dialog
    assert "/settings/" not in dialog
    assert client.post(f"/integration/errors/{error.id}/resolve").status_code == 403
    assert client.post("/settings/integration/sync").status_code == 403


def test_atgardat_records_who_and_the_dialog_then_says_it_is_fixed(
    client, login, api, sandbox, connect, ready_order
):
    failed_sends(api, sandbox, connect, ready_order, count=1)
    admin = login("admin")
    error = open_error("send")
    response = client.post(f"/integration/errors/{error.id}/resolve")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/integration/errors/{error.id}")
    db.session.expire_all()
    resolved = db.session.get(IntegrationError, error.id)
    assert resolved.resolved_by_id == admin.id and resolved.resolution == "manual"
    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "Problemet är åtgärdat" in dialog
    assert f"Markerat som åtgärdat av {admin.name}" in dialog
    assert "fix-steps" not in dialog
    history = main(page(client, "/settings/integration/runs"))
    assert f"av {admin.name}" in history
    assert indicator_states(page(client, "/orders")) == ["ok"]


def test_a_failed_fetch_is_red_and_the_next_good_fetch_resolves_it_by_itself(
    client, login, sandbox, connect
):
    login("admin")
    connect()
    sandbox.add_fault("status", count=1, **PERMISSION_FAULT)
    assert fetch(client, "cost_centers").status_code == 302
    error = open_error("sync:cost_centers")
    html = page(client, "/settings/integration")
    assert indicator_states(html) == ["error"]
    row = html.split('id="register-cost_centers"')[1].split("</tr>")[0]
    assert "result-failed" in row
    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "Registret Kostnadsställen kunde inte hämtas" in dialog
    assert "2003275" in dialog and PERMISSION_FAULT["message"] in dialog
    assert 'name="part" value="cost_centers"' in dialog  # "Hämta" fetches that register

    assert fetch(client, "cost_centers").status_code == 302  # the fault is spent
    db.session.expire_all()
    assert db.session.get(IntegrationError, error.id).resolution == "auto"
    html = page(client, "/settings/integration")
    assert indicator_states(html) == ["ok"]
    assert "Klicka här för att veta mer" not in main(html)
    row = html.split('id="register-cost_centers"')[1].split("</tr>")[0]
    assert "result-ok" in row and ">3<" in row
    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "Problemet är åtgärdat" in dialog and "automatiskt" in dialog
    assert "automatiskt" in main(page(client, "/settings/integration/runs"))


def test_a_revoked_authorisation_is_struck_and_reconnecting_resolves_it(
    client, login, sandbox, tenant, connect
):
    login("admin")
    connect()
    sandbox.revoke(tenant)
    fetch(client, "cost_centers")
    error = open_error(services.TOKEN_OPERATION)
    html = page(client, "/settings/integration")
    assert indicator_states(html) == ["revoked"]
    dialog = main(page(client, f"/integration/errors/{error.id}"))
    assert "förrän integrationen är ansluten igen" in dialog
    # The existing connect flow, approved at once by the sandbox.
    sandbox.set_auto_approve(True, {"CompanyName": "X", "OrganizationNumber": "556123-4567"})
    consent = client.post("/settings/integration/connect")
    callback = sandbox.http.get(consent.headers["Location"], allow_redirects=False)
    back = callback.headers["Location"]
    assert client.get(back[back.index("/settings") :]).status_code == 302
    db.session.expire_all()
    assert db.session.get(IntegrationError, error.id).resolution == "auto"
    assert indicator_states(page(client, "/orders")) == ["ok"]
    fetch(client, "cost_centers")
    assert db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc())).status == (
        SyncRunStatus.FINISHED
    )


# --- Settings → Integration and the sync pages ----------------------------------------------


def test_settings_shows_a_row_per_register_and_synka_nu_runs_and_reports(client, login, connect):
    admin = login("admin")
    connect()
    html = page(client, "/settings/integration")
    for label in (
        "Kunder",
        "Artiklar",
        "Priser",
        "Kostnadsställen",
        "Leveransvillkor",
        "Leveranssätt",
        "Fakturastatus",
    ):
        assert f"<td>{label}</td>" in html
    for part in sync.PARTS:
        row = html.split(f'id="register-{part}"')[1].split("</tr>")[0]
        if part in sync._PARTS:
            assert 'name="part" value="' + part + '"' in row and "Hämta" in row
        else:
            assert "Kommer snart" in row and "disabled" in row
    assert "data-sync-now" in html

    response = client.post("/settings/integration/sync")
    assert response.status_code == 302 and response.headers["Location"].endswith("#sync")
    run = db.session.scalar(select(SyncRun))
    assert run.status == SyncRunStatus.FINISHED and run.started_by_id == admin.id
    assert run.parts == health.implemented_parts()
    html = page(client, "/settings/integration")
    assert re.search(r"Hämtade [^<]*3 kostnadsställen[^<]* på \d+\s+s", html)
    table = html.split("data-sync-counts")[1].split("</table>")[0]
    for label in ("Hämtade", "Nya", "Ändrade", "Oförändrade", "Överhoppade", "Misslyckade"):
        assert label in table

    runs = main(page(client, "/settings/integration/runs"))
    assert "Manuell" in runs and admin.name in runs and "kostnadsställen" not in runs.lower()[:0]
    assert f"/settings/integration/sync/{run.id}" in runs
    detail = main(page(client, f"/settings/integration/sync/{run.id}"))
    assert "Hämtar kostnadsställen…" in detail and "Kostnadsställen" in detail
    body = client.get(f"/settings/integration/sync/{run.id}.json").json
    assert body["running"] is False and body["summary"].startswith("Hämtade")
    assert any("Hämtar kostnadsställen" in line["text"] for line in body["log"])


def test_while_a_sync_runs_its_progress_replaces_synka_nu_and_a_second_is_refused(
    client, login, connect
):
    login("admin")
    integration = connect()
    run = running_run(integration)
    html = page(client, "/settings/integration")
    assert "data-sync-now" not in html
    assert f'data-sync-run-url="/settings/integration/sync/{run.id}.json"' in html
    assert "Hämtar…" in html
    row = html.split('id="register-cost_centers"')[1].split("</tr>")[0]
    assert "disabled" in row and "<form" not in row
    response = client.post("/settings/integration/sync", follow_redirects=True)
    assert "En synkning av integrationen pågår redan" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1
    body = client.get(f"/settings/integration/sync/{run.id}.json").json
    assert body["running"] is True and body["log"][0]["text"] == "Hämtar…"


def test_office_starts_a_fetch_and_follows_it_on_the_run_page(client, login, connect):
    login("office")
    connect()
    assert client.get("/settings/integration").status_code == 403
    response = fetch(client, "cost_centers")
    run = db.session.scalar(select(SyncRun))
    assert response.headers["Location"].endswith(f"/settings/integration/sync/{run.id}")
    assert "Hämtade" in main(page(client, f"/settings/integration/sync/{run.id}"))


def test_the_schedule_toggles(client, login, connect):
    login("admin")
    integration = connect()
    client.post("/settings/integration/schedule", data={"hourly_sync": "y"})
    db.session.expire_all()
    integration = db.session.get(FortnoxIntegration, integration.id)
    assert integration.hourly_sync is True and integration.nightly_sync is False
    html = page(client, "/settings/integration")
    assert re.search(r'name="hourly_sync" value="y" checked', html)
    assert not re.search(r'name="nightly_sync" value="y" checked', html)


def test_tom_synkad_data_asks_for_tom_and_leaves_orders_customers_and_articles(
    client, login, api, connect, ready_order
):
    login("admin")
    integration = connect()
    order = ready_order()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    fetch(client)
    kept = {
        model: db.session.scalar(select(func.count()).select_from(model))
        for model in (Order, Customer, Article)
    }
    cached = (RegisterItem, SyncCursor, SyncRun, FortnoxLink)
    assert all(db.session.scalar(select(func.count()).select_from(m)) for m in cached)

    client.post("/settings/integration/clear", data={"confirm": "ja"})
    assert db.session.scalar(select(func.count()).select_from(RegisterItem))
    response = client.post("/settings/integration/clear", data={"confirm": "töm"})
    assert response.status_code == 302
    db.session.expire_all()
    for model in cached:
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    for model, count in kept.items():
        assert db.session.scalar(select(func.count()).select_from(model)) == count, model
    assert reload(order.id).fortnox_state == FortnoxState.SENT
    assert db.session.get(FortnoxIntegration, integration.id).encrypted_tokens


# --- the first sign-in of the day ---------------------------------------------------------------


@pytest.fixture
def login_refresh(app):
    """Signing in starts the day's first sync (off in the other tests)."""
    app.config["FORTNOX_LOGIN_REFRESH"] = True


def sign_in(client, user: User):  # type: ignore[no-untyped-def]
    client.post("/logout")
    response = client.post("/login", data={"email": user.email, "password": "secret-password"})
    assert response.status_code == 302


def first_login_runs() -> int:
    return db.session.scalar(
        select(func.count()).select_from(SyncRun).where(SyncRun.trigger == "first_login")
    )


@pytest.mark.usefixtures("login_refresh")
def test_the_first_sign_in_of_the_day_fetches_once_per_user(
    client, make_user, connect, monkeypatch
):
    connect()
    office = make_user("office")
    admin = make_user("admin")
    sign_in(client, office)
    assert first_login_runs() == 1
    run = db.session.scalar(select(SyncRun))
    assert run.started_by_id == office.id and run.parts == health.implemented_parts()
    assert run.status == SyncRunStatus.FINISHED
    sign_in(client, office)
    assert first_login_runs() == 1  # once a day
    sign_in(client, admin)
    assert first_login_runs() == 2  # per user
    # The next day in Stockholm (23:30 UTC in winter is 00:30 there).
    tomorrow = datetime.now(UTC).replace(hour=23, minute=30) + timedelta(days=1)
    monkeypatch.setattr("app.i18n.utcnow", lambda: tomorrow)
    sign_in(client, office)
    assert first_login_runs() == 3
    db.session.expire_all()
    assert (
        db.session.get(User, office.id).last_login_refresh_on
        == tomorrow.astimezone(health.sync.SWEDISH_TIME).date()
    )


@pytest.mark.usefixtures("login_refresh")
def test_the_first_sign_in_fetches_only_for_admin_and_office_with_the_setting_on(
    client, make_user, connect
):
    integration = connect()
    sign_in(client, make_user("technician"))
    assert first_login_runs() == 0
    quiet = make_user("office")
    quiet.fortnox_refresh_on_login = False
    db.session.commit()
    sign_in(client, quiet)
    assert first_login_runs() == 0
    running_run(integration)
    sign_in(client, make_user("admin"))
    assert first_login_runs() == 0  # one runs already: no second
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1


def test_the_profile_setting_is_offered_to_admin_and_office_only(client, login):
    user = login("office")
    html = page(client, "/profile")
    assert "Hämta från Fortnox vid första inloggningen varje dag" in html
    assert '<input checked id="fortnox-fortnox_refresh_on_login"' in html
    assert client.post("/profile/fortnox", data={}).status_code == 302
    db.session.refresh(user)
    assert user.fortnox_refresh_on_login is False
    client.post("/profile/fortnox", data={"fortnox-fortnox_refresh_on_login": "y"})
    db.session.refresh(user)
    assert user.fortnox_refresh_on_login is True

    client.post("/logout")
    login("technician")
    assert "vid första inloggningen" not in page(client, "/profile")
    assert client.post("/profile/fortnox", data={}).status_code == 403


@pytest.mark.usefixtures("login_refresh")
def test_a_sign_in_is_never_stopped_by_the_fortnox_fetch(client, make_user, connect, monkeypatch):
    connect()

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("queue down")

    monkeypatch.setattr(sync, "enqueue_sync", broken)
    sign_in(client, make_user("admin"))
    assert page(client, "/")


# --- the API ------------------------------------------------------------------------------------


def test_the_api_reports_inactive_ok_error_and_syncing(api, connect):
    admin = api("admin")
    services.get_or_create_integration(None)
    db.session.commit()
    (item,) = admin.get("/integrations/fortnox").json["items"]
    assert item["state"] == "inactive" and item["last_sync"] is None
    integration = connect()
    integration.state = IntegrationState.OK  # as the connect flow leaves it
    db.session.commit()
    assert admin.get("/integrations/fortnox").json["items"][0]["state"] == "ok"
    services.record_error(integration, "sync:cost_centers", "Kostnadsställena kunde inte hämtas.")
    db.session.commit()
    (item,) = admin.get("/integrations/fortnox").json["items"]
    assert item["state"] == "error"
    assert [e["operation"] for e in item["open_errors"]] == ["sync:cost_centers"]
    running = running_run(integration)
    (item,) = admin.get("/integrations/fortnox").json["items"]
    assert item["state"] == "syncing"
    assert item["last_sync"]["id"] == running.id and item["last_sync"]["status"] == "running"
