"""Customers, their contact persons and tags, facilities (anläggningar) and service objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Subgroup
from app.db import UTCDateTime, utcnow
from app.extensions import Model, db

if TYPE_CHECKING:
    from app.orders.models import Order

customer_tags = Table(
    "customer_tags",
    db.metadata,
    Column("customer_id", ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Customer(Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Fortnox CustomerNumber (FACTS.md §6: a string of at most 10 characters is safe).
    customer_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_number: Mapped[str | None] = mapped_column(String(30))
    address1: Mapped[str | None] = mapped_column(String(200))
    address2: Mapped[str | None] = mapped_column(String(200))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking (issue #17), as on Order: a stale save raises StaleDataError.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    subgroup: Mapped[Subgroup | None] = relationship()
    contacts: Mapped[list[ContactPerson]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="ContactPerson.id"
    )
    facilities: Mapped[list[Facility]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Facility.id"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=customer_tags, order_by="Tag.name")


# Look-ups, searches and the register's order at a real company's size (issue #18; migration
# 0010): a customer number is looked up as lower(customer_number) = …; the register and the
# customer field search lower(…) LIKE '%…%' (PostgreSQL: trigram indexes); the register lists
# by name.
Index("ix_customers_customer_number_lower", func.lower(Customer.customer_number))
Index("ix_customers_name_id", Customer.name, Customer.id)
for _column in ("name", "customer_number", "city"):
    Index(
        f"ix_customers_{_column}_trgm",
        func.lower(getattr(Customer, _column)).label(f"{_column}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_column}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


class ContactPerson(Model):
    __tablename__ = "contact_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Facility(Model):
    """An anläggning: a site of the customer where the machines stand."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    address1: Mapped[str | None] = mapped_column(String(200))
    address2: Mapped[str | None] = mapped_column(String(200))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)

    customer: Mapped[Customer] = relationship(back_populates="facilities")
    service_objects: Mapped[list[ServiceObject]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", order_by="ServiceObject.id"
    )


class ServiceObject(Model):
    """A serviceobjekt: a machine at a facility."""

    __tablename__ = "service_objects"
    __table_args__ = (CheckConstraint("operating_hours >= 0", name="operating_hours_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    machine_number: Mapped[str | None] = mapped_column(String(60))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    # The latest reading (ServiceObjectReading, by `read_at`); kept by the services.
    operating_hours: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))
    comment: Mapped[str | None] = mapped_column(Text)

    facility: Mapped[Facility] = relationship(back_populates="service_objects")
    readings: Mapped[list[ServiceObjectReading]] = relationship(
        back_populates="service_object",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=lambda: (ServiceObjectReading.read_at.desc(), ServiceObjectReading.id.desc()),
    )


class ServiceObjectReading(Model):
    """An operating-hours reading of a service object: noted on an order (`order_id`; at most
    one per order and object) or typed on the object itself (no order). `read_at` is when it
    was first noted and stays when the figure is corrected; the latest by `read_at` is the
    object's `operating_hours`, so an older order saved again never overwrites a newer one."""

    __tablename__ = "service_object_readings"
    __table_args__ = (
        UniqueConstraint("service_object_id", "order_id"),
        CheckConstraint("operating_hours >= 0", name="operating_hours_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    service_object_id: Mapped[int] = mapped_column(
        ForeignKey("service_objects.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    operating_hours: Mapped[Decimal] = mapped_column(Numeric(12, 1))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    service_object: Mapped[ServiceObject] = relationship(back_populates="readings")
    order: Mapped[Order | None] = relationship()
