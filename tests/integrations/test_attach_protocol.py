"""The signed service protocol attached to the Fortnox document (attach_protocol,
fortnox-settings.md §7), over real HTTP against the sandbox: the document comes from a real send
(`sending.request_send` + `sending.run_send`, with the setting off so the send itself attaches
nothing), then `attachments.attach_protocol` runs on it; the last test sends with the setting on
and checks the step's place in the send: before the e-mail."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pypdf
import pytest
import requests

from app.extensions import db
from app.integrations.fortnox import attachments, sending, services
from app.integrations.fortnox.errors import FortnoxNotFound, FortnoxUncertainError
from app.integrations.models import FortnoxSend
from app.orders.services import sign_order
from tests.integrations.test_send import reload

ATTACHMENTS = "/api/fileattachments/attachments-v1"


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


@pytest.fixture(autouse=True)
def _app_first(app):
    """The app (whose config resets the sandbox) before the tenant is made."""


@pytest.fixture
def office(make_user):
    return make_user("office", name="Olle Kontor")


@pytest.fixture
def sent(office, make_user):
    """Send an order (signed unless told otherwise); returns the finished FortnoxSend."""

    def do_send(order, *, signed=True):
        if signed and not order.is_signed:
            sign_order(order, by=office, customer_name="Kim Kund")
            db.session.commit()
        send = sending.request_send(order, by=office)
        db.session.commit()
        result = sending.run_send(send.id)
        assert result["status"] == "succeeded", result
        db.session.expire_all()
        return db.session.get(FortnoxSend, send.id)

    return do_send


def attach(send):
    """attach_protocol for a finished send, with the integration's own client."""
    client = services.client_for(send.integration)
    try:
        return attachments.attach_protocol(client, SimpleNamespace(send=send, order=send.order))
    finally:
        client.close()


def attachments_of(sandbox, tenant, entity_type, number):
    answer = sandbox.accountant(
        "GET", f"tenants/{tenant}/attachments?entityid={number}&entitytype={entity_type}"
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def inbox(sandbox, tenant):
    answer = sandbox.accountant("GET", f"tenants/{tenant}/api/inbox")
    assert answer.status_code == 200, answer.text
    return answer.json()["Folder"]["Files"]


def inbox_pdf(sandbox, tenant, file_id):
    answer = sandbox.accountant("GET", f"tenants/{tenant}/api/inbox/{file_id}")
    assert answer.status_code == 200, answer.text
    return answer.content


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_signed_protocol_is_attached_to_the_order_to_go_with_it(
    sandbox, tenant, connect, ready_order, sent
):
    connect()
    send = sent(ready_order())
    order = send.order

    done = attach(send)

    assert done is not None and (done.entity_type, done.entity_id) == (
        "O",
        int(send.document_number),
    )
    (attachment,) = attachments_of(sandbox, tenant, "O", send.document_number)
    assert attachment["includeOnSend"] is True
    (file,) = inbox(sandbox, tenant)
    assert attachment["fileId"] == file["ArchiveFileId"] == done.file["ArchiveFileId"]
    assert file["Name"] == f"serviceprotokoll-AO-{order.number}-{order.fortnox_reference}.pdf"
    pdf = inbox_pdf(sandbox, tenant, file["Id"])
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert order.display_number in text and "Kim Kund" in text
    # The upload was multipart with the PDF as the part "file".
    (upload,) = sandbox.requests_log(method="POST", path="/3/inbox")
    assert upload["status"] == 201 and upload["body"]["file"]["filename"] == file["Name"]


def test_in_invoice_mode_it_goes_on_the_invoice(sandbox, tenant, connect, ready_order, sent):
    connect(create_invoice_directly=True)
    send = sent(ready_order())

    attach(send)

    assert send.document_type == "Invoice"
    assert len(attachments_of(sandbox, tenant, "F", send.document_number)) == 1


def test_when_the_order_was_invoiced_by_the_send_it_goes_on_the_invoice(
    sandbox, tenant, connect, ready_order, sent
):
    connect(send_invoice_after_sending=True)
    send = sent(ready_order())

    done = attach(send)

    assert send.invoice_number and done.entity_type == "F"
    assert len(attachments_of(sandbox, tenant, "F", send.invoice_number)) == 1
    assert attachments_of(sandbox, tenant, "O", send.document_number) == []


def test_an_unsigned_order_attaches_nothing_and_asks_fortnox_nothing(
    sandbox, tenant, connect, ready_order, sent
):
    connect()
    send = sent(ready_order(), signed=False)
    sandbox.clear_requests()

    assert attach(send) is None

    assert sandbox.requests_log() == []
    assert attachments_of(sandbox, tenant, "O", send.document_number) == []
    assert inbox(sandbox, tenant) == []


def test_a_resend_replaces_the_protocol(sandbox, tenant, connect, ready_order, sent):
    connect(allow_send_before_ready=True)
    first_send = sent(ready_order())
    first = attach(first_send)

    second_send = sent(reload(first_send.order_id))
    second = attach(second_send)

    assert second_send.document_number == first_send.document_number  # the same Fortnox order
    (attachment,) = attachments_of(sandbox, tenant, "O", second_send.document_number)
    assert attachment["fileId"] == second.file["ArchiveFileId"] != first.file["ArchiveFileId"]
    assert second.replaced == 1
    # The old file is gone from the inbox too; only the new protocol is left.
    assert [f["ArchiveFileId"] for f in inbox(sandbox, tenant)] == [second.file["ArchiveFileId"]]


def test_an_attachment_made_by_hand_is_left_alone(sandbox, tenant, connect, ready_order, sent):
    connect()
    send = sent(ready_order())
    theirs = _upload_by_hand(sandbox, tenant, "ritning.pdf")
    client = services.client_for(send.integration)
    try:
        client.attach_files(
            [{"entityId": int(send.document_number), "entityType": "O",
              "fileId": theirs["ArchiveFileId"], "includeOnSend": False}]
        )  # fmt: skip
    finally:
        client.close()

    attach(send)
    attach(send)  # and again, as a re-send would

    found = attachments_of(sandbox, tenant, "O", send.document_number)
    assert len(found) == 2 and theirs["ArchiveFileId"] in [a["fileId"] for a in found]


def _upload_by_hand(sandbox, tenant, name):
    tokens = sandbox.issue_tokens(tenant, scopes=("inbox",))
    answer = requests.post(
        sandbox.api_url + "/inbox",
        files={"file": (name, b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["File"]


def test_a_dropped_answer_on_the_attach_does_not_attach_twice(
    sandbox, tenant, connect, ready_order, sent
):
    connect()
    send = sent(ready_order())
    sandbox.add_fault("drop_after_create", method="POST", path_pattern=ATTACHMENTS)

    done = attach(send)

    (attachment,) = attachments_of(sandbox, tenant, "O", send.document_number)
    assert attachment["id"] == done.attachment["id"]
    assert len(sandbox.requests_log(method="POST", path=ATTACHMENTS)) == 1  # never re-sent
    assert sandbox.requests_log(method="POST", path=ATTACHMENTS)[0]["dropped"] is True


def test_an_attach_that_did_not_happen_is_left_to_the_retry_which_tidies_up(
    sandbox, tenant, connect, ready_order, sent
):
    """A 503 on the attach: Fortnox may or may not have done it. It did not, so the step fails
    as uncertain (the send is retried); the retry attaches once and removes the stray upload."""
    connect()
    send = sent(ready_order())
    sandbox.add_fault("status", method="POST", path_pattern=ATTACHMENTS, status=503)

    with pytest.raises(FortnoxUncertainError):
        attach(send)
    assert attachments_of(sandbox, tenant, "O", send.document_number) == []
    assert len(inbox(sandbox, tenant)) == 1  # the upload of the failed attempt

    done = attach(send)

    (attachment,) = attachments_of(sandbox, tenant, "O", send.document_number)
    assert attachment["fileId"] == done.file["ArchiveFileId"]
    assert [f["ArchiveFileId"] for f in inbox(sandbox, tenant)] == [done.file["ArchiveFileId"]]


def test_without_the_inbox_scope_the_step_fails_with_a_reconnect_message(
    sandbox, tenant, connect, ready_order, sent
):
    from datetime import UTC, datetime, timedelta

    from app.integrations.fortnox.errors import FortnoxPermissionError
    from app.integrations.fortnox.tokens import Tokens, encrypt_tokens

    integration = connect()
    send = sent(ready_order())
    issued = sandbox.issue_tokens(tenant, scopes=("order", "invoice"))
    tokens = Tokens(
        issued.access_token,
        issued.refresh_token,
        datetime.now(UTC) + timedelta(seconds=issued.expires_in),
        issued.scope,
    )
    integration.encrypted_tokens = encrypt_tokens(tokens, services.token_key())
    db.session.commit()

    with pytest.raises(FortnoxPermissionError) as raised:
        attach(send)

    assert raised.value.code == 2000663 and "Anslut igen" in raised.value.user_message


def test_the_client_talks_to_the_services_beside_the_api_root(sandbox, tenant, connect):
    """FORTNOX_API_URL ends in /3; the attachments service is at the same host's /api."""
    integration = connect()
    client = services.client_for(integration)
    try:
        assert client.list_inbox_files() == []
        with pytest.raises(FortnoxNotFound) as raised:
            client.list_attachments(1, "O")  # no order 1 yet
        assert client.delete_attachment("00000000-0000-0000-0000-000000000000") is False
    finally:
        client.close()

    assert raised.value.path == ATTACHMENTS
    (logged,) = sandbox.requests_log(method="GET", path=ATTACHMENTS)
    assert logged["query"] == {"entityid": "1", "entitytype": "O"}


def test_a_send_with_the_setting_attaches_the_protocol_before_fortnox_emails_the_invoice(
    sandbox, tenant, connect, ready_order, sent
):
    connect(attach_protocol=True, send_invoice_after_sending=True)
    send = sent(ready_order())
    invoice = send.invoice_number
    (attachment,) = attachments_of(sandbox, tenant, "F", invoice)
    assert attachment["includeOnSend"] is True
    log = sandbox.requests_log()
    attached = [c["time"] for c in log if c["path"] == ATTACHMENTS and c["method"] == "POST"]
    emailed = [c["time"] for c in log if c["path"].endswith("/email")]
    assert len(attached) == 1 and len(emailed) == 1 and attached[0] < emailed[0]
    assert send.step.value == "done"


def test_a_protocol_too_large_to_make_fails_the_send_with_the_reason_and_a_retry_finishes(
    app, sandbox, tenant, connect, ready_order, office
):
    """The PDF could not be laid out in PROTOCOL_RENDER_SECONDS (issue #17): the send fails at
    the attach step with the Swedish reason, the order stays as it is, and nothing is attached
    half; once the protocol can be made, a retry attaches it without a second order."""
    connect(attach_protocol=True)
    order = ready_order()
    sign_order(order, by=office, customer_name="Kim Kund")
    db.session.commit()
    app.config["PROTOCOL_RENDER_SECONDS"] = 0.01
    send = sending.request_send(order, by=office)
    db.session.commit()

    result = sending.run_send(send.id)

    assert result["status"] == "failed", result
    db.session.expire_all()
    failed = db.session.get(FortnoxSend, send.id)
    assert failed is not None and "Protokollet blev för stort" in (failed.error_message or "")
    assert "Protokollet blev för stort" in (failed.order.fortnox_last_error or "")
    number = failed.document_number
    assert number is not None, "the order itself went to Fortnox before the attach step"
    assert attachments_of(sandbox, tenant, "O", number) == []

    app.config["PROTOCOL_RENDER_SECONDS"] = 15
    again = sending.request_send(failed.order, by=office)
    db.session.commit()
    assert sending.run_send(again.id)["status"] == "succeeded"
    db.session.expire_all()
    done = db.session.get(FortnoxSend, again.id)
    assert done is not None and done.document_number == number, "the same Fortnox order"
    assert len(attachments_of(sandbox, tenant, "O", number)) == 1
