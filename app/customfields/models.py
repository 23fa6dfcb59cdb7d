"""Custom field definitions per entity (customer, facility and each order kind)."""

from __future__ import annotations

import enum

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import str_enum
from app.extensions import Model


class CustomFieldEntity(enum.StrEnum):
    CUSTOMER = "customer"
    FACILITY = "facility"
    SERVICE_ORDER = "service_order"
    WORK_ORDER = "work_order"
    SALES_ORDER = "sales_order"


class CustomFieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"


class CustomFieldDefinition(Model):
    """A field an admin adds to an entity. Values live in the entity's `custom_fields`
    JSON column keyed by the definition's name (names are unique per entity)."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("entity", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[CustomFieldEntity] = mapped_column(
        str_enum(CustomFieldEntity, "custom_field_entity")
    )
    name: Mapped[str] = mapped_column(String(80))
    type: Mapped[CustomFieldType] = mapped_column(
        str_enum(CustomFieldType, "custom_field_type"), default=CustomFieldType.TEXT
    )
