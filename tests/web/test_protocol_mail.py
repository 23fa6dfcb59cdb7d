""" "Skicka protokoll": the PDF reaches a real SMTP server (aiosmtpd on 127.0.0.1) as an
attachment, every attempt is logged on the order, and a failed send loses nothing — the order
stays as it was, the address typed stays in the field, and the page says why in Swedish with
"Försök igen". Without MAIL_SERVER the mail is written to a file and the page says where."""

from __future__ import annotations

import email
import io
import socket
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pypdf import PdfReader

from app.extensions import db
from app.orders.models import Order, OrderStatus, ProtocolMail, ProtocolMailStatus
from app.orders.services import sign_order
from tests.signatures import drawn_png
from tests.web.conftest import field_value, order_form


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content, policy=default_policy)  # type: ignore[misc]
            for e in self.received
        ]


def start_smtp(**smtp_options: Any) -> tuple[Inbox, Controller]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **smtp_options)
    controller.start()
    inbox.port = port  # type: ignore[attr-defined]
    return inbox, controller


@pytest.fixture
def smtp() -> Any:
    inbox, controller = start_smtp()
    yield inbox
    controller.stop()


@pytest.fixture
def smtp_refusing_login() -> Any:
    """A server that offers AUTH (without TLS, on loopback) and refuses every login."""

    def refuse(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        return AuthResult(success=False, handled=False, message="535 5.7.8 Bad credentials")

    inbox, controller = start_smtp(authenticator=refuse, auth_require_tls=False)
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """SMTP to the test's aiosmtpd by default. By indirect parametrization: `closed` points at
    a port nobody listens on, `login` at a server refusing the login, `files` configures no
    mail server at all."""
    kind = getattr(request, "param", "smtp")
    if kind == "files":
        return {"MAIL_BACKEND": None, "MAIL_FILE_PATH": str(tmp_path / "mail")}
    config = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1"}
    if kind == "closed":
        return {**config, "MAIL_PORT": free_port()}
    if kind == "login":
        port = request.getfixturevalue("smtp_refusing_login").port
        return {**config, "MAIL_PORT": port, "MAIL_USERNAME": "ordna", "MAIL_PASSWORD": "fel"}
    return {**config, "MAIL_PORT": request.getfixturevalue("smtp").port}


@pytest.fixture
def contact_order(world) -> Order:
    """The world's work order with a contact person who has an e-mail address."""
    from app.customers.services import update_customer

    update_customer(world.customer, {"contacts": [{"name": "Eva Ek", "email": "eva@verkstads.se"}]})
    world.order.contact = world.customer.contacts[0]
    world.order.facility = world.facility
    db.session.commit()
    return world.order


def send(client: Any, order: Order, **fields: Any) -> Any:
    """Press "Skicka protokoll" with the page as the browser shows it (the staff's subgroup
    select included), plus `fields`."""
    fields.setdefault("subgroup_id", str(order.subgroup_id or ""))
    return client.post(f"/orders/{order.id}/protocol", data=order_form(order, **fields))


def pdf_text(data: bytes) -> str:
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def test_the_protocol_reaches_the_smtp_server_with_the_pdf_attached(
    client, login, contact_order, smtp
):
    user = login("office", name="Kim Kontor")
    page = client.get(f"/orders/{contact_order.id}").get_data(as_text=True)
    assert "Skicka protokoll" in page and "Tomt: till kontaktpersonen Eva Ek" in page

    response = send(client, contact_order)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("#protokoll")
    [message] = smtp.messages()
    assert smtp.received[0].rcpt_tos == ["eva@verkstads.se"]
    assert message["To"] == "eva@verkstads.se"
    assert message["From"] == "ordna@example.com"  # MAIL_DEFAULT_SENDER
    assert message["Reply-To"] == user.email
    assert message["Subject"] == "Serviceprotokoll AO 1001 – Verkstads AB"
    assert "Bifogat finns serviceprotokollet för AO 1001" in message.get_body().get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "serviceprotokoll-AO-1001.pdf"
    assert "Verkstads AB" in pdf_text(attachment.get_content())

    [log] = db.session.query(ProtocolMail).all()
    assert (log.recipient, log.status, log.sent_by_id, log.error) == (
        "eva@verkstads.se",
        ProtocolMailStatus.SENT,
        user.id,
        None,
    )
    page = client.get(f"/orders/{contact_order.id}").get_data(as_text=True)
    assert "Serviceprotokollet är skickat till eva@verkstads.se." in page
    assert "Skickat till eva@verkstads.se" in page and "Kim Kontor" in page


def test_an_address_typed_in_wins_over_the_contact(client, login, contact_order, smtp):
    login("office")
    response = send(client, contact_order, protocol_to="  Inkop@Kund.se ")
    assert response.status_code == 302
    assert smtp.received[0].rcpt_tos == ["Inkop@kund.se"]


def test_what_was_typed_on_the_page_is_saved_before_the_protocol_is_sent(
    client, login, contact_order, smtp
):
    login("office")
    send(client, contact_order, fault_cause="Trasig tryckvakt")
    assert db.session.get(Order, contact_order.id).fault_cause == "Trasig tryckvakt"
    [message] = smtp.messages()
    [attachment] = list(message.iter_attachments())
    assert "Trasig tryckvakt" in pdf_text(attachment.get_content())


@pytest.mark.parametrize("app_config", ["closed"], indirect=True)
def test_a_failed_smtp_connection_loses_nothing(client, login, contact_order, make_user):
    tech = make_user("technician", subgroup=contact_order.subgroup)
    sign_order(contact_order, by=tech, customer_name="Kalle Kund", signature=drawn_png())
    db.session.commit()
    before = db.session.get(Order, contact_order.id)
    state = (before.updated_at, before.signed_at, before.signature_png, before.status)
    login("admin")  # server details are for administrators (test_protocol_notice.py)

    response = send(client, contact_order, protocol_to="inkop@kund.se")

    html = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "Kunde inte skicka e-post: e-postservern 127.0.0.1:" in html
    assert "tar inte emot anslutningar" in html
    retry = f'formaction="/orders/{contact_order.id}/protocol" class="primary">Försök igen</button>'
    assert retry in html
    assert field_value(html, "protocol_to") == "inkop@kund.se"  # kept for "Försök igen"
    assert "data-unsaved" not in html  # nothing waits to be saved
    db.session.expire_all()
    after = db.session.get(Order, contact_order.id)
    assert (after.updated_at, after.signed_at, after.signature_png, after.status) == state
    [log] = after.protocol_mails
    assert log.status == ProtocolMailStatus.FAILED and log.recipient == "inkop@kund.se"
    assert "tar inte emot anslutningar" in log.error
    assert "Misslyckades till inkop@kund.se" in html


def test_a_recipient_the_server_refuses_is_explained(client, login, contact_order, smtp):
    smtp.refuse.add("eva@verkstads.se")
    login("office")
    response = send(client, contact_order)
    html = response.get_data(as_text=True)
    assert response.status_code == 502
    assert "e-postservern tog inte emot mottagaren eva@verkstads.se (550 5.1.1 No such user" in html
    assert smtp.received == []
    assert db.session.query(ProtocolMail).one().status == ProtocolMailStatus.FAILED


@pytest.mark.parametrize("app_config", ["login"], indirect=True)
def test_a_refused_login_is_explained_in_swedish(client, login, contact_order, smtp_refusing_login):
    login("admin")
    response = send(client, contact_order)
    html = response.get_data(as_text=True)
    assert response.status_code == 502
    assert (
        "Kunde inte skicka e-post: e-postservern godtog inte inloggningen "
        "(MAIL_USERNAME/MAIL_PASSWORD): 535 5.7.8 Bad credentials"
    ) in html
    assert smtp_refusing_login.received == []


@pytest.mark.parametrize("app_config", ["files"], indirect=True)
def test_without_a_mail_server_the_mail_is_written_to_a_file_and_the_page_says_where(
    app, client, login, contact_order
):
    folder = Path(app.config["MAIL_FILE_PATH"])
    login("admin")  # only administrators see the mail set-up (tests/web/test_protocol_notice.py)
    page = client.get(f"/orders/{contact_order.id}").get_data(as_text=True)
    assert "Ingen e-postserver är inställd" in page and "/settings/protocol#e-post" in page
    settings = client.get("/settings/protocol").get_data(as_text=True)
    assert "Ingen e-postserver är inställd (MAIL_SERVER)" in settings and str(folder) in settings

    response = client.post(
        f"/orders/{contact_order.id}/protocol",
        data=order_form(contact_order),
        follow_redirects=True,
    )

    [written] = list(folder.glob("*.eml"))
    assert str(written) in response.get_data(as_text=True)
    message = email.message_from_bytes(written.read_bytes(), policy=default_policy)
    assert message["To"] == "eva@verkstads.se"
    [attachment] = list(message.iter_attachments())  # type: ignore[attr-defined]
    assert attachment.get_filename() == "serviceprotokoll-AO-1001.pdf"
    assert db.session.query(ProtocolMail).one().status == ProtocolMailStatus.SENT


@pytest.mark.parametrize(
    ("typed", "problem"),
    [("inte-en-adress", "Ange en giltig e-postadress."), ("", "ingen kontaktperson med e-post")],
)
def test_a_bad_or_missing_address_is_422_and_nothing_is_sent(
    client, login, world, smtp, typed, problem
):
    login("office")
    response = send(client, world.order, protocol_to=typed, orderer="Per Holm")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and problem in html
    assert smtp.received == [] and db.session.query(ProtocolMail).count() == 0
    assert db.session.get(Order, world.order.id).orderer is None  # nothing saved either


def test_an_invoiced_order_can_still_send_its_protocol(client, login, contact_order, smtp):
    contact_order.status = OrderStatus.INVOICED
    db.session.commit()
    login("office")
    # A locked order's fields are disabled in the browser: only the address is posted.
    response = client.post(f"/orders/{contact_order.id}/protocol", data={"protocol_to": ""})
    assert response.status_code == 302
    assert smtp.received[0].rcpt_tos == ["eva@verkstads.se"]
    bad = client.post(f"/orders/{contact_order.id}/protocol", data={"protocol_to": "x@"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Ange en giltig e-postadress." in html
    assert field_value(html, "protocol_to") == "x@"
    assert field_value(html, "customer_order_number") is not None  # the page is whole


def test_a_technician_of_another_subgroup_cannot_send_it(client, login, contact_order, smtp):
    login("technician", subgroup=None)
    assert send(client, contact_order).status_code == 403
    assert smtp.received == []
