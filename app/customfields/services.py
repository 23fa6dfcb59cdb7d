"""Checking custom-field values against the admin's definitions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from app.customfields.models import CustomFieldDefinition, CustomFieldEntity, CustomFieldType
from app.errors import Conflict, ValidationFailed
from app.extensions import db


def definitions_for(entity: CustomFieldEntity) -> list[CustomFieldDefinition]:
    return list(
        db.session.scalars(
            select(CustomFieldDefinition)
            .where(CustomFieldDefinition.entity == entity)
            .order_by(CustomFieldDefinition.id)
        )
    )


def clean_custom_fields(entity: CustomFieldEntity, values: dict | None) -> dict[str, str]:
    """Validate `values` (name → value) against the definitions of `entity`.

    Returns the values as strings, empty ones dropped. Raises ValidationFailed naming
    `custom_fields.<name>` for an unknown field or a value of the wrong type."""
    if not values:
        return {}
    by_name = {d.name: d for d in definitions_for(entity)}
    cleaned: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name, raw in values.items():
        key = f"custom_fields.{name}"
        definition = by_name.get(name)
        if definition is None:
            problems[key] = [_("Det finns inget sådant anpassat fält.")]
            continue
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            continue
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            if not (definition.type == CustomFieldType.BOOLEAN and isinstance(raw, bool)):
                problems[key] = [_("Ogiltigt värde.")]
                continue
        value = str(raw).strip() if not isinstance(raw, bool) else ("ja" if raw else "nej")
        if definition.type == CustomFieldType.NUMBER:
            try:
                Decimal(value.replace(",", "."))
            except InvalidOperation:
                problems[key] = [_("Ange ett tal.")]
                continue
        elif definition.type == CustomFieldType.DATE:
            try:
                date.fromisoformat(value)
            except ValueError:
                problems[key] = [_("Ange ett datum som ÅÅÅÅ-MM-DD.")]
                continue
        if len(value) > 2000:
            problems[key] = [_("Högst 2000 tecken.")]
            continue
        cleaned[name] = value
    if problems:
        raise ValidationFailed(_("Uppgifterna är inte giltiga."), problems)
    return cleaned


def create_definition(
    entity: CustomFieldEntity | str, name: str, type_: CustomFieldType | str = "text"
) -> CustomFieldDefinition:
    """Create a custom field definition; raises Conflict when the name is taken."""
    entity = CustomFieldEntity(entity)
    name = name.strip()
    exists = db.session.scalar(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.entity == entity, CustomFieldDefinition.name == name
        )
    )
    if exists is not None:
        raise Conflict(
            _("Fältet finns redan."), {"name": [_("Det finns redan ett fält med det namnet.")]}
        )
    definition = CustomFieldDefinition(entity=entity, name=name, type=CustomFieldType(type_))
    db.session.add(definition)
    db.session.flush()
    return definition
