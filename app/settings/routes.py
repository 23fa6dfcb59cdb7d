"""Inställningar → Serviceprotokoll: what the protocol PDF shows (admin only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
from app.mail import writes_files
from app.settings.forms import ProtocolSettingsForm
from app.settings.services import protocol_shows_prices, set_setting
from app.web import admin_required

bp = Blueprint("settings", __name__)


@bp.route("/settings/protocol", methods=["GET", "POST"])
@admin_required
def protocol() -> ResponseReturnValue:
    form = ProtocolSettingsForm(data={"show_prices": protocol_shows_prices()})
    if form.validate_on_submit():
        set_setting("protocol_show_prices", bool(form.show_prices.data), by=current_user)
        db.session.commit()
        flash(_("Inställningarna för serviceprotokollet är sparade."), "success")
        return redirect(url_for(".protocol"))
    status = 422 if form.is_submitted() else 200
    return render_template("settings/protocol.html", form=form, mail=mail_setup()), status


def mail_setup() -> dict[str, Any]:
    """How "Skicka protokoll" sends, for the administrator: the SMTP server, or the folder the
    mails are written to instead (and the latest of them). Never the password."""
    config = current_app.config
    folder = Path(config["MAIL_FILE_PATH"]) if config.get("MAIL_FILE_PATH") else None
    security = "SSL" if config.get("MAIL_USE_SSL") else ""
    if config.get("MAIL_USE_TLS"):
        security = "STARTTLS"
    latest: list[Path] = []
    if writes_files() and folder is not None and folder.is_dir():
        latest = sorted(folder.glob("*.eml"), reverse=True)[:5]  # names start with the time
    return {
        "writes_files": writes_files(),
        "server": config.get("MAIL_SERVER"),
        "port": config.get("MAIL_PORT"),
        "security": security,
        "username": config.get("MAIL_USERNAME"),
        "sender": config.get("MAIL_DEFAULT_SENDER"),
        "folder": str(folder) if folder is not None else "",
        "latest": [path.name for path in latest],
    }
