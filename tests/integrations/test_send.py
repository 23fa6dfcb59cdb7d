"""Sending orders to Fortnox over real HTTP against the sandbox: exactly one document per
order, whatever fails (fortnox-settings.md §2, §7; integration-health.md "Per order")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.integrations.fortnox import sending, services
from app.integrations.models import FortnoxSend, IntegrationError, SendStatus, SendStep
from app.orders.models import FortnoxState, Order, OrderStatus
from tests import factories
from tests.conftest import work_off


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


def documents(sandbox, tenant, kind="orders"):
    """Every order (or invoice) of the tenant, as Fortnox lists them."""
    response = sandbox.accountant("GET", f"tenants/{tenant}/api/{kind}?limit=500")
    assert response.status_code == 200, response.text
    return response.json()["Orders" if kind == "orders" else "Invoices"]


def fortnox_document(sandbox, tenant, kind, number):
    response = sandbox.accountant("GET", f"tenants/{tenant}/api/{kind}/{number}")
    assert response.status_code == 200, response.text
    return response.json()["Order" if kind == "orders" else "Invoice"]


def reload(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def test_send_creates_exactly_one_fortnox_order_and_the_order_shows_it(
    api, sandbox, tenant, connect, ready_order
):
    connect()
    order = ready_order()
    response = api("office").post(f"/orders/{order.id}/send")
    assert response.status_code == 202, response.json
    assert response.json["job_id"]

    body = api("office").get(f"/orders/{order.id}").json
    fortnox = body["fortnox"]
    assert fortnox["state"] == "sent" and fortnox["document_type"] == "Order"
    assert body["status"] == "sent"
    mine = [
        d
        for d in documents(sandbox, tenant)
        if d["ExternalInvoiceReference1"] == fortnox["reference"]
    ]
    assert [d["DocumentNumber"] for d in mine] == [fortnox["document_number"]]
    document = fortnox_document(sandbox, tenant, "orders", fortnox["document_number"])
    assert document["CustomerNumber"] == "7001" and document["OurReference"] == "AO 1001"
    assert [r["ArticleNumber"] for r in document["OrderRows"] if r.get("ArticleNumber")] == [
        "A7001",
        "T7001",
    ]
    # The customer and the articles were created in Fortnox on the way.
    assert sandbox.accountant("GET", f"tenants/{tenant}/api/customers/7001").status_code == 200
    assert sandbox.accountant("GET", f"tenants/{tenant}/api/articles/T7001").status_code == 200
    send = db.session.scalar(select(FortnoxSend).where(FortnoxSend.order_id == order.id))
    assert send.status == SendStatus.SUCCEEDED and send.step == SendStep.DONE


def test_the_send_reference_is_random_stored_and_unique(ready_order):
    first, second = ready_order(customer_number="7101"), ready_order(customer_number="7102")
    assert first.fortnox_reference != second.fortnox_reference
    assert first.fortnox_reference.startswith("ordna-") and len(first.fortnox_reference) <= 80
    random_part = first.fortnox_reference.removeprefix("ordna-")
    assert len(random_part) == 24 and int(random_part, 16) != first.id  # not the row id


def test_invoice_mode_sends_an_invoice_and_fortnox_emails_it(
    api, sandbox, tenant, connect, ready_order
):
    connect(create_invoice_directly=True, send_invoice_after_sending=True)
    order = ready_order()
    assert api("admin").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT and order.fortnox_document_type == "Invoice"
    invoice = fortnox_document(sandbox, tenant, "invoices", order.fortnox_document_number)
    assert invoice["Sent"] is True
    assert invoice["ExternalInvoiceReference1"] == order.fortnox_reference
    assert order.fortnox_invoice_number == order.fortnox_document_number
    assert documents(sandbox, tenant) == []  # no order was made in invoice mode
    emails = sandbox.requests_log(method="GET", path="/3/invoices/*/email")
    assert len(emails) == 1


def test_order_mode_creates_the_invoice_and_emails_it_once(
    api, sandbox, tenant, connect, ready_order
):
    connect(send_invoice_after_sending=True)
    order = ready_order()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_document_type == "Order" and order.fortnox_invoice_number
    fortnox_order = fortnox_document(sandbox, tenant, "orders", order.fortnox_document_number)
    assert str(fortnox_order["InvoiceReference"]) == order.fortnox_invoice_number
    invoice = fortnox_document(sandbox, tenant, "invoices", order.fortnox_invoice_number)
    assert invoice["Sent"] is True
    assert len(sandbox.requests_log(method="PUT", path="/3/orders/*/createinvoice")) == 1
    assert len(sandbox.requests_log(method="GET", path="/3/invoices/*/email")) == 1


def test_mark_invoiced_on_send_marks_it_at_once_and_a_resend_is_refused(api, connect, ready_order):
    connect(mark_invoiced_on_send=True, allow_send_before_ready=True)
    order = ready_order()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    body = api("office").get(f"/orders/{order.id}").json
    assert body["status"] == "invoiced" and body["fortnox"]["state"] == "invoiced"
    again = api("office").post(f"/orders/{order.id}/send")
    assert again.status_code == 409
    assert again.json["error"]["message"] == sending.ALREADY_INVOICED


def test_resend_updates_the_same_fortnox_order_with_the_rows_replaced(
    api, sandbox, tenant, connect, ready_order
):
    connect(allow_send_before_ready=True)
    order = ready_order(status="in_progress")
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    first = reload(order.id)
    number = first.fortnox_document_number
    assert first.fortnox_state == FortnoxState.SENT and first.status == OrderStatus.IN_PROGRESS
    # The technician goes on working: one row less, a new quantity.
    patch = api("admin").patch(
        f"/orders/{order.id}",
        json={"article_rows": [{"article_number": "T7001", "quantity": "3"}]},
    )
    assert patch.status_code == 200, patch.json
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    again = reload(order.id)
    assert again.fortnox_document_number == number
    assert len(documents(sandbox, tenant)) == 1
    rows = fortnox_document(sandbox, tenant, "orders", number)["OrderRows"]
    articles = [
        (r["ArticleNumber"], r["DeliveredQuantity"]) for r in rows if r.get("ArticleNumber")
    ]
    assert [(a, Decimal(q)) for a, q in articles] == [("T7001", Decimal("3"))]


def test_a_resend_after_fortnox_invoiced_the_order_fails_with_a_clear_message(
    api, sandbox, tenant, connect, ready_order
):
    connect(allow_send_before_ready=True)
    order = ready_order(status="in_progress")
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    number = reload(order.id).fortnox_document_number
    invoiced = sandbox.accountant("POST", f"tenants/{tenant}/orders/{number}/invoice")
    assert invoiced.status_code == 200, invoiced.text
    refused = api("office").post(f"/orders/{order.id}/send")
    assert refused.status_code == 409
    assert refused.json["error"]["message"] == sending.ALREADY_INVOICED
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT  # the order is left as it was
    assert len(documents(sandbox, tenant)) == 1
    # Had the request not known (Fortnox unreachable then), the job refuses it the same way.
    send = sending.FortnoxSend(
        order_id=order.id, integration_id=order_integration_id(order), status="pending"
    )
    db.session.add(send)
    db.session.commit()
    sending.run_send(send.id)
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.FAILED
    assert order.fortnox_last_error.startswith(sending.ALREADY_INVOICED)
    assert len(documents(sandbox, tenant)) == 1


def order_integration_id(order):
    from app.integrations.fortnox import services as fortnox_services

    return fortnox_services.integration_for_order(order).id


def test_a_dropped_answer_after_the_create_adopts_the_document_instead_of_a_second(
    api, sandbox, tenant, connect, ready_order
):
    connect()
    order = ready_order()
    sandbox.add_fault("drop_after_create", method="POST", path_pattern="/3/orders")
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT
    mine = [
        d
        for d in documents(sandbox, tenant)
        if d["ExternalInvoiceReference1"] == order.fortnox_reference
    ]
    assert len(mine) == 1 and str(mine[0]["DocumentNumber"]) == order.fortnox_document_number


def test_an_existing_document_with_the_reference_is_adopted_not_created_again(
    app, sandbox, tenant, connect, ready_order, make_user
):
    """A worker killed between the create and the commit: the next run finds the document."""
    connect()
    order = ready_order()
    office = make_user("office")
    send = sending.request_send(order, by=office)
    db.session.commit()
    # What the killed worker had already done in Fortnox: the customer, articles and the order.
    payload = services.preview(order).document
    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/customers",
        {"Customer": {"CustomerNumber": "7001", "Name": "Verkstad"}},
    )
    for number in ("A7001", "T7001"):
        sandbox.accountant(
            "POST",
            f"tenants/{tenant}/api/articles",
            {"Article": {"ArticleNumber": number, "Description": "x"}},
        )
    created = sandbox.accountant("POST", f"tenants/{tenant}/api/orders", {"Order": payload})
    assert created.status_code == 201, created.text
    # ...and the lease it held has run out (its claim counted one attempt).
    send.status = SendStatus.SENDING
    send.attempts = 1
    send.lease_until = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()
    assert sending.run_send(send.id)["status"] == "succeeded"
    order = reload(order.id)
    assert order.fortnox_document_number == str(created.json()["Order"]["DocumentNumber"])
    assert len(documents(sandbox, tenant)) == 1


def test_two_clicks_make_one_send_and_one_document(
    app, sandbox, tenant, connect, ready_order, make_user
):
    connect()
    order = ready_order()
    office = make_user("office")
    first = sending.request_send(order, by=office)
    second = sending.request_send(order, by=office)
    assert first is second
    db.session.commit()
    assert sending.run_send(first.id)["status"] == "succeeded"
    assert sending.run_send(first.id)["status"] == "not_claimed"  # the second job finds it done
    assert len(documents(sandbox, tenant)) == 1


def test_a_refused_send_leaves_the_order_as_it_was_and_shows_the_reason(
    api, sandbox, tenant, connect, ready_order
):
    connect(disable_article_creation=True)
    order = ready_order()
    before = api("office").get(f"/orders/{order.id}").json
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    after = api("office").get(f"/orders/{order.id}").json
    assert after["fortnox"]["state"] == "failed"
    assert "Artikeln A7001 finns inte i Fortnox" in after["fortnox"]["last_error"]
    for key in ("status", "actions", "article_rows", "customer_id", "description"):
        assert after[key] == before[key]
    error = db.session.scalar(select(IntegrationError).where(IntegrationError.operation == "send"))
    assert error is not None and error.resolved_at is None
    assert documents(sandbox, tenant) == []
    # Fixed in Fortnox, "Försök igen" succeeds and the error resolves itself.
    for number in ("A7001", "T7001"):
        sandbox.accountant(
            "POST",
            f"tenants/{tenant}/api/articles",
            {"Article": {"ArticleNumber": number, "Description": "x"}},
        )
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    assert api("office").get(f"/orders/{order.id}").json["fortnox"]["state"] == "sent"
    db.session.expire_all()
    assert db.session.get(IntegrationError, error.id).resolution == "auto"


def test_fortnox_validation_error_is_shown_with_fortnox_message_and_code(
    api, sandbox, tenant, connect, ready_order
):
    connect()
    order = ready_order()
    sandbox.add_fault(
        "status", method="POST", path_pattern="/3/orders", status=400, code=2000359,
        message="Ogiltigt tecken i fältet",
    )  # fmt: skip
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.FAILED
    assert "Ogiltigt tecken i fältet" in order.fortnox_last_error
    assert "2000359" in order.fortnox_last_error


def test_customer_without_the_sync_tag_is_not_created_in_fortnox(
    api, sandbox, tenant, connect, ready_order
):
    connect(customer_sync_tag="Fortnox")
    order = ready_order()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.FAILED
    assert "saknar taggen ”Fortnox”" in order.fortnox_last_error
    assert sandbox.accountant("GET", f"tenants/{tenant}/api/customers/7001").status_code == 404


@pytest.mark.parametrize(
    ("role", "status", "setup", "code"),
    [
        ("technician", 403, "connected", None),
        ("office", 409, "not_ready", "not_ready"),
        ("office", 409, "none", "no_integration"),
        ("office", 409, "cancelled", "cancelled"),
    ],
)
def test_send_is_refused_with_a_reason(api, connect, ready_order, role, status, setup, code):
    if setup != "none":
        connect()
    order = ready_order(
        status={"not_ready": "in_progress", "cancelled": "cancelled"}.get(setup, "ready")
    )
    response = api(role).post(f"/orders/{order.id}/send")
    assert response.status_code == status, response.json
    if code:
        assert response.json["error"]["code"] == code
    assert reload(order.id).fortnox_state == FortnoxState.NOT_SENT


def test_send_through_a_real_rq_worker(api, sandbox, tenant, connect, ready_order, rq_queue):
    connect()
    order = ready_order()
    office = api("office")
    response = office.post(f"/orders/{order.id}/send")
    assert response.status_code == 202
    assert reload(order.id).fortnox_state == FortnoxState.QUEUED
    work_off(rq_queue)
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT
    assert office.get(f"/jobs/{response.json['job_id']}").json["status"] == "finished"
    assert len(documents(sandbox, tenant)) == 1


def test_the_sweeper_resumes_a_send_whose_worker_died(
    app, runner, sandbox, tenant, connect, ready_order, make_user
):
    connect()
    order = ready_order()
    send = sending.request_send(order, by=make_user("office"))
    db.session.commit()
    # The worker took it and was killed: the lease runs out.
    send.status = SendStatus.SENDING
    send.lease_until = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    result = runner.invoke(args=["fortnox", "sweep"])
    assert result.exit_code == 0 and "Enqueued 1 send(s)." in result.output
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT
    assert len(documents(sandbox, tenant)) == 1
    assert "Enqueued 0 send(s)." in runner.invoke(args=["fortnox", "sweep"]).output


# --- the web pages --------------------------------------------------------------------------


def test_office_sends_from_the_order_page_and_opens_the_invoice_pdf(
    client, login, sandbox, tenant, connect, ready_order
):
    connect(create_invoice_directly=True)
    order = ready_order()
    login("office")
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Skicka till Fortnox" in page and 'form="fortnox-send-form"' in page
    response = client.post(f"/orders/{order.id}/send")
    assert response.status_code == 302 and response.headers["Location"].endswith("#fortnox")
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT
    assert "Skickad" in page and "Visa faktura" in page
    assert f"Fortnox-faktura {order.fortnox_document_number}" in page
    pdf = client.get(f"/orders/{order.id}/fortnox.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    # Looking at it does not mark it as sent to the customer.
    invoice = fortnox_document(sandbox, tenant, "invoices", order.fortnox_document_number)
    assert invoice["Sent"] is False


def test_technicians_see_the_state_but_cannot_send(client, login, connect, ready_order):
    connect()
    order = ready_order()
    login("technician")
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Ej skickad" in page and "Skicka till Fortnox" not in page
    assert client.post(f"/orders/{order.id}/send").status_code == 403
    assert reload(order.id).fortnox_state == FortnoxState.NOT_SENT


def test_send_selected_from_the_list_sends_each_once(
    client, login, sandbox, tenant, connect, ready_order
):
    connect()
    orders = [ready_order(customer_number=n) for n in ("7201", "7202", "7203")]
    not_ready = ready_order(customer_number="7204", status="in_progress")
    login("office")
    listing = client.get("/orders").get_data(as_text=True)
    assert "Skicka markerade till Fortnox" in listing
    response = client.post(
        "/orders/send", data={"order_id": [str(o.id) for o in [*orders, not_ready]]}
    )
    assert response.status_code == 302
    flashes = client.get("/orders").get_data(as_text=True)
    assert "3 ordrar är skickade till kön för Fortnox." in flashes
    assert f"{not_ready.display_number}: Ordern är inte klar för fakturering" in flashes
    states = {reload(o.id).fortnox_state for o in orders}
    assert states == {FortnoxState.SENT}
    assert reload(not_ready.id).fortnox_state == FortnoxState.NOT_SENT
    assert len(documents(sandbox, tenant)) == 3


def test_send_selected_is_bounded(client, login):
    login("office")
    too_many = [str(n) for n in range(1, 102)]
    assert client.post("/orders/send", data={"order_id": too_many}).status_code == 413


def test_unsent_lists_failed_orders_and_retries_them_all(
    client, login, sandbox, tenant, connect, ready_order
):
    connect(disable_article_creation=True)
    failed = ready_order()
    login("office")
    client.post(f"/orders/{failed.id}/send")
    page = client.get("/orders/unsent").get_data(as_text=True)
    assert failed.display_number in page and "Artikeln A7001 finns inte i Fortnox" in page
    for number in ("A7001", "T7001"):
        sandbox.accountant(
            "POST",
            f"tenants/{tenant}/api/articles",
            {"Article": {"ArticleNumber": number, "Description": "x"}},
        )
    assert client.post("/orders/unsent/retry").status_code == 302
    assert reload(failed.id).fortnox_state == FortnoxState.SENT
    assert "Alla ordrar är överförda" in client.get("/orders/unsent").get_data(as_text=True)


# --- send_time_report ------------------------------------------------------------------------


def attendance(sandbox, tenant, employee="1"):
    response = sandbox.accountant(
        "GET", f"tenants/{tenant}/api/attendancetransactions?employeeid={employee}"
    )
    assert response.status_code == 200, response.text
    return [
        (t["Date"], t["CauseCode"], Decimal(str(t["Hours"])))
        for t in response.json()["AttendanceTransactions"]
    ]


def test_time_report_reports_each_hour_once_across_resends_and_orders(
    api, make_user, sandbox, tenant, connect, ready_order
):
    connect(send_time_report=True, allow_send_before_ready=True)
    tina = make_user("technician", name="Tina Tekniker", employee_number="1")
    day = "2026-11-20"

    def with_hours(order, hours):
        response = api("admin").patch(
            f"/orders/{order.id}",
            json={"actions": [{"date": day, "description": "Service", "technician_id": tina.id,
                               "hours": hours}]},
        )  # fmt: skip
        assert response.status_code == 200, response.json

    first = ready_order(customer_number="7301", status="in_progress")
    with_hours(first, "2.5")
    assert api("office").post(f"/orders/{first.id}/send").status_code == 202
    assert reload(first.id).fortnox_state == FortnoxState.SENT
    assert attendance(sandbox, tenant) == [(day, "TID", Decimal("2.5"))]
    # A re-send with nothing new reports nothing.
    assert api("office").post(f"/orders/{first.id}/send").status_code == 202
    assert attendance(sandbox, tenant) == [(day, "TID", Decimal("2.5"))]
    # More hours: only the difference.
    with_hours(first, "4")
    assert api("office").post(f"/orders/{first.id}/send").status_code == 202
    assert sorted(attendance(sandbox, tenant)) == [
        (day, "TID", Decimal("1.5")),
        (day, "TID", Decimal("2.5")),
    ]
    # Another order of the same technician on the same day is reported too.
    second = ready_order(customer_number="7302", status="in_progress")
    with_hours(second, "3")
    assert api("office").post(f"/orders/{second.id}/send").status_code == 202
    hours = sum(h for _d, _c, h in attendance(sandbox, tenant))
    assert hours == Decimal("7")


def test_time_report_with_a_technician_without_employee_number_blocks_the_send(
    api, make_user, connect, ready_order
):
    connect(send_time_report=True, allow_send_before_ready=True)
    bo = make_user("technician", name="Bo Bengtsson", employee_number=None)
    order = ready_order(customer_number="7303", status="in_progress")
    api("admin").patch(
        f"/orders/{order.id}",
        json={"actions": [{"date": "2026-11-20", "description": "Service",
                           "technician_id": bo.id, "hours": "2"}]},
    )  # fmt: skip
    response = api("office").post(f"/orders/{order.id}/send")
    assert response.status_code == 409
    assert "saknar anställningsnummer" in response.json["error"]["message"]


def test_a_dropped_answer_on_an_attendance_transaction_is_not_reported_again(
    api, make_user, sandbox, tenant, connect, ready_order
):
    connect(send_time_report=True)
    tina = make_user("technician", name="Tina Tekniker", employee_number="1")
    order = ready_order(customer_number="7304", status="in_progress")
    api("admin").patch(
        f"/orders/{order.id}",
        json={"status": "ready", "actions": [{"date": "2026-11-21", "description": "Service",
              "technician_id": tina.id, "hours": "3"}]},
    )  # fmt: skip
    sandbox.add_fault("drop_after_create", method="POST", path_pattern="/3/attendancetransactions")
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT, order.fortnox_last_error
    assert attendance(sandbox, tenant) == [("2026-11-21", "TID", Decimal("3"))]


# --- create_order_from_reference -------------------------------------------------------------


def test_an_order_is_fetched_from_fortnox_by_its_number_and_a_send_updates_it(
    client, login, api, sandbox, tenant, connect, ready_order
):
    connect(create_order_from_reference=True)
    factories.customer(customer_number="7401", name="Hämtad Kund AB")
    factories.article("H1", name="Filter", price=Decimal("100"))
    login("office")
    page = client.get("/orders/new").get_data(as_text=True)
    assert "Integrationsreferens" in page and "Hämta order" in page
    # A customer made in Fortnox that Ordna does not have (yet): the form says so and keeps
    # what was typed.
    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/customers",
        {"Customer": {"CustomerNumber": "7499", "Name": "Bara i Fortnox AB"}},
    )
    created = sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/orders",
        {"Order": {"CustomerNumber": "7499", "YourReference": "Anna Ek",
                   "OrderRows": [{"ArticleNumber": "100", "OrderedQuantity": "1",
                                  "DeliveredQuantity": "1"}]}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    number = str(created.json()["Order"]["DocumentNumber"])
    refused = client.post("/orders/new/from-fortnox", data={"reference": number, "kind": "work"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert (
        "Kunden 7499 på Fortnox-ordern finns inte i Ordna" in text and f'value="{number}"' in text
    )

    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/customers",
        {"Customer": {"CustomerNumber": "7401", "Name": "Hämtad"}},
    )
    sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/articles",
        {"Article": {"ArticleNumber": "H1", "Description": "Filter"}},
    )
    sandbox.accountant(  # made in Fortnox after the day's first sync: not in Ordna
        "POST",
        f"tenants/{tenant}/api/articles",
        {"Article": {"ArticleNumber": "X77", "Description": "Bara i Fortnox"}},
    )
    made = sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/orders",
        {"Order": {"CustomerNumber": "7401", "YourReference": "Anna Ek", "YourOrderNumber": "PO-9",
                   "OrderRows": [
                       {"ArticleNumber": "H1", "OrderedQuantity": "2", "DeliveredQuantity": "2",
                        "Price": 120},
                       {"ArticleNumber": "X77", "OrderedQuantity": "1", "DeliveredQuantity": "1"},
                       {"Description": "Ring kunden innan"}]}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    fortnox_number = str(made.json()["Order"]["DocumentNumber"])
    response = client.post(
        "/orders/new/from-fortnox", data={"reference": fortnox_number, "kind": "work"}
    )
    assert response.status_code == 302
    order = db.session.scalar(select(Order).where(Order.fortnox_document_number == fortnox_number))
    assert order.customer.customer_number == "7401" and order.kind.value == "work"
    assert order.orderer == "Anna Ek" and order.customer_order_number == "PO-9"
    assert [(r.article.article_number, r.quantity, r.price) for r in order.article_rows] == [
        ("H1", Decimal("2"), Decimal("120"))
    ]
    assert "Ring kunden innan" in order.description
    flashes = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "togs inte med: X77" in flashes
    # Fetching the same Fortnox order twice is refused.
    again = client.post("/orders/new/from-fortnox", data={"reference": fortnox_number})
    assert again.status_code == 422 and "redan hämtad" in again.get_data(as_text=True)
    # Sending the order updates that Fortnox order, never a second one.
    order.status = OrderStatus.READY
    db.session.commit()
    before = len(documents(sandbox, tenant))
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    assert reload(order.id).fortnox_document_number == fortnox_number
    assert len(documents(sandbox, tenant)) == before
    updated = fortnox_document(sandbox, tenant, "orders", fortnox_number)
    assert updated["ExternalInvoiceReference1"] == reload(order.id).fortnox_reference


def test_fetching_from_fortnox_is_not_offered_when_the_setting_is_off(client, login, connect):
    connect()
    login("office")
    assert "Integrationsreferens" not in client.get("/orders/new").get_data(as_text=True)
    response = client.post("/orders/new/from-fortnox", data={"reference": "1"})
    assert response.status_code == 422
    assert "Skapa order från referens" in response.get_data(as_text=True)


@pytest.mark.parametrize(("allow", "button"), [(False, None), (True, "Skicka igen till Fortnox")])
def test_a_sent_order_offers_a_resend_only_when_resends_are_allowed(
    client, login, connect, ready_order, allow, button
):
    connect(allow_send_before_ready=allow)
    order = ready_order()
    login("office")
    client.post(f"/orders/{order.id}/send")
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Skicka till Fortnox<" not in page
    if button:
        assert button in page
    else:
        assert "Skicka igen till Fortnox" not in page and 'form="fortnox-send-form"' not in page


# --- found by the fault campaign (make soak) -------------------------------------------------


def test_a_5xx_on_creating_an_article_is_retried_not_a_failure(
    app, api, sandbox, tenant, connect, ready_order, runner
):
    connect()
    order = ready_order()
    sandbox.add_fault("status", method="POST", path_pattern="/3/articles", status=502)
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.QUEUED  # back in the queue, not failed
    send = db.session.scalar(select(FortnoxSend).where(FortnoxSend.order_id == order.id))
    send.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)  # its retry is due
    db.session.commit()
    assert "Enqueued 1 send(s)." in runner.invoke(args=["fortnox", "sweep"]).output
    assert reload(order.id).fortnox_state == FortnoxState.SENT
    assert len(documents(sandbox, tenant)) == 1


def test_a_worker_that_lost_its_claim_writes_nothing(
    app, sandbox, tenant, connect, ready_order, make_user, monkeypatch
):
    """A worker outlived its lease and another took the send: the first one's results are
    never recorded over the second's."""
    connect()
    order = ready_order()
    send = sending.request_send(order, by=make_user("office"))
    db.session.commit()
    real_put = sending._put_document

    def taken_over_meanwhile(client, context):
        real_put(client, context)  # the document was made, but meanwhile...
        db.session.execute(
            sending.update(FortnoxSend)
            .where(FortnoxSend.id == context.send.id)
            .values(claim_token="another-worker")
        )

    monkeypatch.setattr(sending, "_put_document", taken_over_meanwhile)
    assert sending.run_send(send.id)["status"] == "lost_claim"
    db.session.expire_all()
    assert db.session.get(FortnoxSend, send.id).status == SendStatus.SENDING  # the other's
    assert reload(order.id).fortnox_state != FortnoxState.SENT


def test_the_lease_never_ends_before_the_job_timeout(app):
    app.config["FORTNOX_SEND_LEASE_SECONDS"] = 5
    assert sending._lease().total_seconds() > sending.JOB_TIMEOUT_SECONDS


def test_an_unknown_cost_center_makes_the_send_fetch_the_registers_once_before_failing(
    api, sandbox, tenant, connect, ready_order
):
    connect(cost_center="NY1")
    api("office").post("/integrations/fortnox/sync", json={"parts": ["cost_centers"]})
    order = ready_order()
    preview = api("office").get(f"/orders/{order.id}/fortnox-preview").json
    assert preview["errors"] and "NY1" in preview["errors"][0]
    # Made in Fortnox after the last sync: the send fetches the registers and goes through.
    made = sandbox.accountant(
        "POST",
        f"tenants/{tenant}/api/costcenters",
        {"CostCenter": {"Code": "NY1", "Description": "Nytt", "Active": True}},
    )
    assert made.status_code in (200, 201), made.text
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.SENT, order.fortnox_last_error
    document = fortnox_document(sandbox, tenant, "orders", order.fortnox_document_number)
    assert document["CostCenter"] == "NY1"


def test_a_cost_center_fortnox_does_not_have_either_fails_after_one_fetch(
    api, sandbox, connect, ready_order
):
    connect(cost_center="SAKNAS")
    api("office").post("/integrations/fortnox/sync", json={"parts": ["cost_centers"]})
    order = ready_order()
    sandbox.clear_requests()
    assert api("office").post(f"/orders/{order.id}/send").status_code == 202
    order = reload(order.id)
    assert order.fortnox_state == FortnoxState.FAILED and "SAKNAS" in order.fortnox_last_error
    fetched = sandbox.requests_log(method="GET", path="/3/costcenters*")
    assert len(fetched) == 1
