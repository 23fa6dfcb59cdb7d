"""Syncing with Fortnox over real HTTP against the sandbox: the small registers, status back
in both document modes and for a cancelled document, incremental cursors, one sync at a time,
and an interrupted run that resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.integrations.fortnox import sync
from app.integrations.models import (
    IntegrationError,
    RegisterItem,
    SyncCursor,
    SyncRun,
    SyncRunStatus,
)
from app.orders.models import FortnoxState, OrderStatus
from tests.integrations.test_send import reload


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


def run(api, *parts, expect=202):
    body = {"parts": list(parts)} if parts else {}
    response = api("office").post("/integrations/fortnox/sync", json=body)
    assert response.status_code == expect, response.json
    return response.json


def last_run() -> SyncRun:
    db.session.expire_all()
    return db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))


def register_codes(name):
    return {
        (r.code, r.active)
        for r in db.session.scalars(select(RegisterItem).where(RegisterItem.register == name))
    }


def test_the_small_registers_come_in_and_a_second_sync_writes_nothing(api, sandbox, connect):
    connect()
    started = run(api, "cost_centers", "terms_of_delivery", "ways_of_delivery")
    first = last_run()
    assert first.id == started["run_id"] and first.status == SyncRunStatus.FINISHED
    assert register_codes("cost_centers") == {("100", True), ("200", True), ("999", False)}
    assert {c for c, _a in register_codes("ways_of_delivery")} == {"P", "HÄM"}
    assert first.counts["cost_centers"]["created"] == 3
    stamps = [r.updated_at for r in db.session.scalars(select(RegisterItem))]

    sandbox.clear_requests()
    run(api, "cost_centers", "terms_of_delivery", "ways_of_delivery")
    second = last_run()
    assert second.counts["cost_centers"] == {
        "fetched": 3, "created": 0, "updated": 0, "unchanged": 3, "skipped": 0, "failed": 0,
    }  # fmt: skip
    calls = [c for c in sandbox.requests_log(method="GET") if c["path"].startswith("/3/")]
    assert len(calls) == 3  # one list call per register
    assert [r.updated_at for r in db.session.scalars(select(RegisterItem))] == stamps
    assert "Hämtade" in second.log[-1]["text"]


def test_synced_cost_centers_are_what_the_preview_checks(api, connect, ready_order):
    connect(cost_center="999")
    order = ready_order()
    run(api, "cost_centers")
    body = api("office").get(f"/orders/{order.id}/fortnox-preview").json
    assert body["errors"] and "999" in body["errors"][0]  # inactive in Fortnox


def test_status_back_in_order_mode_marks_the_order_invoiced_when_the_invoice_is_sent(
    api, sandbox, tenant, connect, ready_order
):
    connect()
    order = ready_order()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    number = reload(order.id).fortnox_document_number
    # The accountant makes the invoice in Fortnox and sends it to the customer.
    invoice = sandbox.accountant("POST", f"tenants/{tenant}/orders/{number}/invoice").json()
    invoice_number = str(invoice["Invoice"]["DocumentNumber"])
    run(api, "invoice_status")
    order = reload(order.id)
    assert order.fortnox_invoice_number == invoice_number
    assert order.fortnox_state == FortnoxState.SENT  # made, not yet sent to the customer
    sent = sandbox.accountant("POST", f"tenants/{tenant}/invoices/{invoice_number}/send")
    assert sent.status_code == 200, sent.text
    sandbox.clear_requests()
    run(api, "invoice_status")
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.INVOICED and order.status == OrderStatus.INVOICED
    lists = sandbox.requests_log(method="GET")
    assert sorted(c["path"] for c in lists if c["path"].startswith("/3/")) == [
        "/3/invoices",
        "/3/orders",
    ]  # list calls filtered by lastmodified, never one GET per order
    assert all("lastmodified" in c.get("query", {}) for c in lists if c["path"].startswith("/3/"))


def test_status_back_in_invoice_mode_and_a_cancelled_document(
    api, sandbox, tenant, connect, ready_order
):
    connect(create_invoice_directly=True)
    sent_one = ready_order(customer_number="7501")
    cancelled_one = ready_order(customer_number="7502")
    for order in (sent_one, cancelled_one):
        assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    sandbox.accountant(
        "POST", f"tenants/{tenant}/invoices/{reload(sent_one.id).fortnox_document_number}/send"
    )
    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/invoices/{reload(cancelled_one.id).fortnox_document_number}/cancel",
    )
    run(api, "invoice_status")
    assert reload(sent_one.id).fortnox_state == FortnoxState.INVOICED
    cancelled = reload(cancelled_one.id)
    assert cancelled.fortnox_state == FortnoxState.CANCELLED
    assert "makulerad i Fortnox" in cancelled.fortnox_last_error
    page = api("office").get(f"/orders/{cancelled.id}").json
    assert page["fortnox"]["state"] == "cancelled"


def test_status_back_when_nothing_changed_is_one_call_per_document_type(
    api, sandbox, connect, ready_order
):
    connect()
    order = ready_order()
    api("office").post(f"/orders/{order.id}/send")
    run(api, "invoice_status")
    sandbox.clear_requests()
    run(api, "invoice_status")
    calls = [c["path"] for c in sandbox.requests_log(method="GET") if c["path"].startswith("/3/")]
    assert sorted(calls) == ["/3/invoices", "/3/orders"]
    assert last_run().counts["invoice_status"]["updated"] == 0


def test_a_second_sync_of_the_same_integration_is_refused_while_one_runs(api, connect):
    integration = connect()
    db.session.add(
        SyncRun(
            integration_id=integration.id,
            trigger="manual",
            parts=["articles"],
            status=SyncRunStatus.RUNNING,
            heartbeat_at=datetime.now(UTC),
        )
    )
    db.session.commit()
    refused = run(api, "cost_centers", expect=409)
    assert refused["error"]["code"] == "sync_running"
    state = api("admin").get("/integrations/fortnox").json["items"][0]
    assert state["state"] == "syncing"


def test_an_interrupted_run_is_marked_failed_and_the_next_picks_up_from_its_cursor(
    api, sandbox, connect
):
    integration = connect()
    run(api, "cost_centers")
    cursor_before = db.session.get(SyncCursor, (integration.id, "cost_centers")).lastmodified
    # A worker died in the middle of a run: its heartbeat stopped long ago.
    dead = SyncRun(
        integration_id=integration.id,
        trigger="scheduled",
        parts=["cost_centers"],
        status=SyncRunStatus.RUNNING,
        heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
    )
    db.session.add(dead)
    db.session.commit()
    run(api, "cost_centers")
    db.session.expire_all()
    assert db.session.get(SyncRun, dead.id).status == SyncRunStatus.FAILED
    assert last_run().status == SyncRunStatus.FINISHED
    assert db.session.get(SyncCursor, (integration.id, "cost_centers")).lastmodified >= (
        cursor_before
    )


def test_a_part_fortnox_fails_is_an_error_the_cursor_stays_and_a_later_success_resolves_it(
    api, sandbox, connect
):
    integration = connect()
    sandbox.add_fault("status", method="GET", path_pattern="/3/costcenters*", status=503, count=20)
    run(api, "cost_centers", "ways_of_delivery")
    failed = last_run()
    assert failed.status == SyncRunStatus.FAILED
    assert db.session.get(SyncCursor, (integration.id, "cost_centers")) is None or not (
        db.session.get(SyncCursor, (integration.id, "cost_centers")).lastmodified
    )
    assert {c for c, _a in register_codes("ways_of_delivery")} == {"P", "HÄM"}  # others went on
    error = db.session.scalar(
        select(IntegrationError).where(IntegrationError.operation == "sync:cost_centers")
    )
    assert error is not None and error.resolved_at is None
    sandbox.clear_faults()
    run(api, "cost_centers")
    db.session.expire_all()
    assert db.session.get(IntegrationError, error.id).resolution == "auto"
    assert db.session.scalar(select(func.count()).select_from(RegisterItem)) >= 5


def test_sync_parts_are_validated(api, connect):
    connect()
    response = api("office").post("/integrations/fortnox/sync", json={"parts": ["nope"]})
    assert response.status_code == 422
    assert api("technician").post("/integrations/fortnox/sync", json={}).status_code == 403


@pytest.mark.parametrize("seconds", [0.4, 38, 3600])
def test_the_summary_reads_as_the_spec_says(seconds):
    finished = SyncRun(
        parts=["customers", "articles"],
        counts={"articles": {"fetched": 2300}, "customers": {"fetched": 412}},
    )
    text = sync.summary(finished, seconds)
    assert text.startswith("Hämtade 412 kunder och 2\u00a0300 artiklar på ")
    assert text.endswith(f"{max(1, round(seconds))} s")


def test_the_hourly_timetable_syncs_connected_integrations_with_the_toggle_on(
    app, sandbox, connect
):
    from app import schedule

    integration = connect()
    assert schedule.hourly_sync() == 1
    assert last_run().trigger == "scheduled" and last_run().status == SyncRunStatus.FINISHED
    integration.hourly_sync = False
    db.session.commit()
    assert schedule.hourly_sync() == 0


def test_flask_fortnox_sync_runs_a_part_and_reports(runner, sandbox, connect):
    connect()
    result = runner.invoke(args=["fortnox", "sync", "--part", "ways_of_delivery"])
    assert result.exit_code == 0, result.output
    assert "Hämtade 2 leveranssätt" in result.output
    assert {c for c, _a in register_codes("ways_of_delivery")} == {"P", "HÄM"}
