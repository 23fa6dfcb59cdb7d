"""Forms of the organisation settings pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from app.formfields import StrippedForm


class ProtocolSettingsForm(StrippedForm):
    show_prices = BooleanField(_l("Visa priser på protokollet"))
