"""The admin's form for a new custom field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.customfields.models import CustomFieldEntity, CustomFieldType
from app.formfields import StrippedForm, select_choices

ENTITY_LABELS = {
    CustomFieldEntity.CUSTOMER: _l("Kund"),
    CustomFieldEntity.FACILITY: _l("Anläggning"),
    CustomFieldEntity.SERVICE_ORDER: _l("Serviceorder"),
    CustomFieldEntity.WORK_ORDER: _l("Arbetsorder"),
    CustomFieldEntity.SALES_ORDER: _l("Försäljningsorder"),
}
TYPE_LABELS = {
    CustomFieldType.TEXT: _l("Text"),
    CustomFieldType.NUMBER: _l("Tal"),
    CustomFieldType.DATE: _l("Datum"),
    CustomFieldType.BOOLEAN: _l("Ja/nej"),
}


class CustomFieldForm(StrippedForm):
    entity = SelectField(_l("Gäller"), choices=select_choices(ENTITY_LABELS.items()))
    name = StringField(
        _l("Fältets namn"),
        validators=[
            DataRequired(_l("Fyll i ett namn.")),
            Length(max=80, message=_l("Högst 80 tecken.")),
        ],
    )
    type = SelectField(_l("Typ"), choices=select_choices(TYPE_LABELS.items()))
