"""E-mailing the service protocol to the customer, and logging every attempt on the order.

`send_protocol` leaves the process: call it after committing whatever the protocol shows. It
flushes the log row; the caller commits it, also when the send failed."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_mailman import EmailMessage

from app.auth.models import User
from app.mail import MailDeliveryError, deliver
from app.orders.models import Order, ProtocolMail
from app.orders.protocol import protocol_filename, render_protocol, swedish
from app.orders.services import log_protocol_mail


@dataclass(frozen=True)
class SentProtocol:
    log: ProtocolMail
    saved_to: Path | None  # the .eml file when no SMTP server is configured


def send_protocol(order: Order, recipient: str, *, by: User) -> SentProtocol:
    """Render the protocol and e-mail it to `recipient` (replies go to `by`), then log the
    attempt on the order.

    Raises MailDeliveryError (its `reason` in Swedish) after logging the failure; the order
    itself is never changed."""
    pdf = render_protocol(order)
    message = protocol_message(order, recipient, by=by, pdf=pdf)
    try:
        delivery = deliver(message)
    except MailDeliveryError as exc:
        log_protocol_mail(order, recipient, by=by, error=exc.reason)
        raise
    log = log_protocol_mail(order, recipient, by=by)
    return SentProtocol(log=log, saved_to=delivery.saved_to)


@dataclass(frozen=True)
class ShownFailure:
    """A failed send as the user who pressed "Skicka protokoll" sees it."""

    reason: str
    ask_admin: bool  # only an administrator can fix it (the mail set-up or the server)


def failure_for(exc: MailDeliveryError, user: User) -> ShownFailure:
    """What to say about a failed send. A refused recipient is the user's to fix (another
    address), and says so in full. Anything else is the mail set-up or the server: an
    administrator sees the reason with its server details, everyone else a plain sentence and
    whom to ask, never MAIL_* settings, server addresses or file paths."""
    if user.is_admin or isinstance(exc.__cause__, smtplib.SMTPRecipientsRefused):
        return ShownFailure(exc.reason, ask_admin=False)
    return ShownFailure(_("e-postutskicket fungerar inte just nu"), ask_admin=True)


def protocol_message(order: Order, recipient: str, *, by: User, pdf: bytes) -> EmailMessage:
    """The e-mail: a short Swedish note with the PDF attached."""
    organisation = current_app.config["ORGANISATION_NAME"]
    with swedish():
        subject = _(
            "Serviceprotokoll %(number)s – %(customer)s",
            number=order.display_number,
            customer=order.customer.name,
        )
        body = _(
            "Hej,\n\nBifogat finns serviceprotokollet för %(number)s.\n\n"
            "Med vänliga hälsningar\n%(name)s\n%(organisation)s\n",
            number=order.display_number,
            name=by.name,
            organisation=organisation,
        )
    message = EmailMessage(
        subject=subject,
        body=body,
        to=[recipient],
        reply_to=[by.email] if by.email else None,
    )
    message.attach(protocol_filename(order), pdf, "application/pdf")
    return message
