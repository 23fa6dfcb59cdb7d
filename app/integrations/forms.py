"""The settings form, built from the setting definitions (derived from the fields of
FortnoxSettings) so every key of fortnox-settings.md is on the page with its Swedish label and
help text: a new setting needs no change here."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional

from app.formfields import StrippedForm
from app.integrations.fortnox.settings import SETTING_DEFINITIONS


def settings_form_class() -> type[FlaskForm]:
    attrs: dict[str, object] = {}
    for d in SETTING_DEFINITIONS:
        if d.type == "bool":
            attrs[d.key] = BooleanField(d.label, description=d.help)
        elif d.type == "int":
            attrs[d.key] = IntegerField(
                d.label,
                description=d.help,
                validators=[
                    Optional(),
                    NumberRange(min=0, message="Ange 0 eller ett positivt heltal."),
                ],
            )
        elif d.multiline:
            attrs[d.key] = TextAreaField(d.label, description=d.help)
        else:
            attrs[d.key] = StringField(d.label, description=d.help)
    return type("FortnoxSettingsForm", (StrippedForm,), attrs)


def submitted_changes(form: FlaskForm) -> dict[str, object]:
    """The form's values as a settings dictionary (validated by FortnoxSettings)."""
    changes: dict[str, object] = {}
    for d in SETTING_DEFINITIONS:
        value = form[d.key].data
        if d.type == "bool":
            changes[d.key] = bool(value)
        elif d.type == "int":
            changes[d.key] = value if value is not None else 0
        else:
            changes[d.key] = value or ""
    return changes
