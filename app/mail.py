"""E-mail through Flask-Mailman: SMTP when MAIL_SERVER is set, else .eml files under
instance/mail/ (what `make run` does), and every failure turned into one Swedish reason.

`deliver` is the only way out of the process for a mail; callers send after their commit."""

from __future__ import annotations

import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_mailman import BadHeaderError, EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

from app.extensions import mail


class MailDeliveryError(Exception):
    """The mail did not go out; `reason` says why in Swedish (no "Kunde inte …" prefix)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """How a mail left: over SMTP (`saved_to` None) or written to a file."""

    saved_to: Path | None = None


class EmlFileBackend(BaseEmailBackend):
    """Writes each message to MAIL_FILE_PATH as its own .eml file (any mail program opens
    it) instead of sending it. `written` lists the files of this connection."""

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_path = Path(file_path or self.mailman.file_path)
        self.written: list[Path] = []

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        self.file_path.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            path = self.file_path / f"{stamp}-{secrets.token_hex(4)}.eml"
            path.write_bytes(message.message().as_bytes())
            self.written.append(path)
        return len(email_messages)


def init_mail(app: Flask) -> None:
    """Pick the backend and defaults from the config, then bind Flask-Mailman.

    Raises RuntimeError when MAIL_USE_TLS and MAIL_USE_SSL are both on (fail at start, not at
    the first send)."""
    config = app.config
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        raise RuntimeError("MAIL_USE_TLS and MAIL_USE_SSL exclude each other: set one of them")
    if not config.get("MAIL_PORT"):
        config["MAIL_PORT"] = (
            465 if config.get("MAIL_USE_SSL") else 587 if config.get("MAIL_USE_TLS") else 25
        )
    if not config.get("MAIL_FILE_PATH"):
        config["MAIL_FILE_PATH"] = str(Path(app.instance_path) / "mail")
    if not config.get("MAIL_BACKEND"):
        config["MAIL_BACKEND"] = "smtp" if config.get("MAIL_SERVER") else EmlFileBackend
    mail.init_app(app)


def writes_files() -> bool:
    """True when mails are written to MAIL_FILE_PATH instead of being sent."""
    return current_app.config.get("MAIL_BACKEND") is EmlFileBackend


def deliver(message: EmailMessage) -> Delivery:
    """Send `message` (SMTP, or a file without MAIL_SERVER).

    Raises MailDeliveryError with a Swedish reason for every failure: refused or timed-out
    connection, TLS, login, a refused sender or recipient, a disk error."""
    connection = mail.get_connection()
    message.connection = connection
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError, BadHeaderError) as exc:
        raise MailDeliveryError(smtp_error_reason(exc)) from exc
    written = getattr(connection, "written", None)
    return Delivery(saved_to=written[-1] if written else None)


def smtp_error_reason(exc: BaseException) -> str:
    """What went wrong, in Swedish, with the server's own words where it gave any."""
    config = current_app.config
    server = f"{config.get('MAIL_SERVER') or 'localhost'}:{config.get('MAIL_PORT')}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _(
            "e-postservern godtog inte inloggningen (MAIL_USERNAME/MAIL_PASSWORD): %(detail)s",
            detail=_smtp_detail(exc),
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(
            f"{address} ({_smtp_detail(reply)})" for address, reply in exc.recipients.items()
        )
        return _("e-postservern tog inte emot mottagaren %(refused)s", refused=refused)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _(
            "e-postservern tog inte emot avsändaren %(sender)s: %(detail)s",
            sender=exc.sender,
            detail=_smtp_detail(exc),
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return _("e-postservern %(server)s stängde anslutningen", server=server)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _("e-postservern svarade: %(detail)s", detail=_smtp_detail(exc))
    if isinstance(exc, smtplib.SMTPException):
        return _("fel i samtalet med e-postservern: %(detail)s", detail=str(exc))
    if isinstance(exc, ConnectionRefusedError):
        return _(
            "e-postservern %(server)s tar inte emot anslutningar (anslutningen nekades)",
            server=server,
        )
    if isinstance(exc, TimeoutError):
        return _(
            "e-postservern %(server)s svarade inte inom %(seconds)s sekunder",
            server=server,
            seconds=config.get("MAIL_TIMEOUT"),
        )
    if isinstance(exc, socket.gaierror):
        return _("hittar inte e-postservern %(server)s", server=server)
    if isinstance(exc, ssl.SSLError):
        return _("krypteringen (TLS) mot e-postservern misslyckades: %(detail)s", detail=str(exc))
    if isinstance(exc, OSError) and writes_files():
        return _(
            "kunde inte skriva filen i %(path)s: %(detail)s",
            path=config.get("MAIL_FILE_PATH"),
            detail=exc.strerror or str(exc),
        )
    if isinstance(exc, OSError):
        return _(
            "nätverksfel mot e-postservern %(server)s: %(detail)s",
            server=server,
            detail=exc.strerror or str(exc),
        )
    return str(exc)


def _smtp_detail(exc: Any) -> str:
    """ "550 No such user" from an SMTP exception or a (code, message) reply."""
    code, text = (exc.smtp_code, exc.smtp_error) if hasattr(exc, "smtp_code") else (exc[0], exc[1])
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
