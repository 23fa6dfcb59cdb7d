"""Forms of the organisation settings pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class ProtocolSettingsForm(FlaskForm):
    show_prices = BooleanField(_l("Visa priser på protokollet"))
