"""Inställningar → Serviceprotokoll: what the protocol PDF shows (admin only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import db
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
    return render_template("settings/protocol.html", form=form), status
