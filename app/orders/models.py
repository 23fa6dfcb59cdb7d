"""Orders (service, work and sales), their actions, article rows, covered service objects,
comments, the service protocols mailed to the customer, and the per-kind number sequence."""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from decimal import Decimal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.articles.models import Article
from app.auth.models import Subgroup, User
from app.customers.models import ContactPerson, Customer, Facility, ServiceObject
from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import Model
from app.orders import words


def new_send_reference() -> str:
    """A random send reference: ``ordna-`` and 24 hex digits. Fixed width, so no reference is
    a substring of another (Fortnox's externalinvoicereference1 search matches substrings);
    far below the 80 characters ExternalInvoiceReference1 takes (FACTS.md §4)."""
    return "ordna-" + secrets.token_hex(12)


class OrderKind(enum.StrEnum):
    SERVICE = "service"
    WORK = "work"
    SALES = "sales"

    @property
    def prefix(self) -> str:
        """The display prefix: SO service order, AO work order, FO sales order."""
        return words.KIND_PREFIX[self.value]

    @property
    def label(self) -> LazyString:
        """What the pages call the kind ("Serviceorder"), in the user's language."""
        return _l(words.KIND_WORD[self.value])


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    READY = "ready"
    SENT = "sent"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"

    @property
    def label(self) -> LazyString:
        """What the pages call the status ("Klar för fakturering"), in the user's language."""
        return _l(words.STATUS_WORD[self.value])


class FortnoxState(enum.StrEnum):
    """Per-order Fortnox state (integration-health.md "Per order")."""

    NOT_SENT = "not_sent"  # Ej skickad
    QUEUED = "queued"  # I kö
    SENDING = "sending"  # Skickas
    SENT = "sent"  # Skickad
    FAILED = "failed"  # Misslyckades
    INVOICED = "invoiced"  # Fakturerad
    CANCELLED = "cancelled"  # Makulerad i Fortnox (the document was cancelled there)


class OrderNumberSequence(Model):
    """The next number per order kind. Numbers are taken with one atomic
    UPDATE … RETURNING, so concurrent creators never get the same one."""

    __tablename__ = "order_number_sequences"

    kind: Mapped[OrderKind] = mapped_column(
        str_enum(OrderKind, "order_number_sequence_kind"), primary_key=True
    )
    next_number: Mapped[int] = mapped_column(Integer, default=1001)


class Order(Model):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("kind", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrderKind] = mapped_column(str_enum(OrderKind, "order_kind"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), default=OrderStatus.DRAFT, index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_persons.id"))
    orderer: Mapped[str | None] = mapped_column(String(120))
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    customer_order_number: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str | None] = mapped_column(Text)
    fault_cause: Mapped[str | None] = mapped_column(Text)
    delivery_date: Mapped[date | None] = mapped_column(Date)
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"), index=True)
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)

    # Signing off: the user who signed, when, and the customer's name in print.
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_customer_name: Mapped[str | None] = mapped_column(String(120))
    # The signature the customer drew on the device, as PNG bytes (at most 512 KB, checked by
    # services.sign_order). Deferred: lists of orders never load it.
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # Whether there is a drawing, without loading it (the API's order lists ask for every order).
    has_signature_drawing: Mapped[bool] = column_property(signature_png.is_not(None))

    # Fortnox state (integration-health.md "Per order"; fortnox-settings.md §7).
    fortnox_state: Mapped[FortnoxState] = mapped_column(
        str_enum(FortnoxState, "order_fortnox_state"), default=FortnoxState.NOT_SENT, index=True
    )
    fortnox_document_type: Mapped[str | None] = mapped_column(String(10))
    fortnox_document_number: Mapped[str | None] = mapped_column(String(30))
    fortnox_invoice_number: Mapped[str | None] = mapped_column(String(30))
    fortnox_last_error: Mapped[str | None] = mapped_column(Text)
    fortnox_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The send reference (fortnox-settings.md §2): random, given when the order is made and
    # kept for life, so it is unique beyond this database (a restore or a second installation
    # against the same Fortnox company repeats row ids, never these). Sent as
    # ExternalInvoiceReference1 and shown in the preview before the first send.
    fortnox_reference: Mapped[str] = mapped_column(
        String(80), unique=True, default=lambda: new_send_reference()
    )

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking (issue #17): every UPDATE of the row checks the version it was read
    # with and raises StaleDataError when someone else saved first. Shown as the API's ETag
    # and carried by the order page's form; the services touch the order when only its rows
    # change, so that bumps it too.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    customer: Mapped[Customer] = relationship()
    facility: Mapped[Facility | None] = relationship()
    contact: Mapped[ContactPerson | None] = relationship()
    assigned_user: Mapped[User | None] = relationship(foreign_keys=[assigned_user_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    subgroup: Mapped[Subgroup | None] = relationship()
    actions: Mapped[list[Action]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Action.position"
    )
    article_rows: Mapped[list[ArticleRow]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="ArticleRow.position"
    )
    service_objects: Mapped[list[OrderServiceObject]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderServiceObject.id"
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Comment.created_at"
    )
    protocol_mails: Mapped[list[ProtocolMail]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="ProtocolMail.id",
    )

    @property
    def display_number(self) -> str:
        return f"{self.kind.prefix} {self.number}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


# The order search at a real company's size (issue #18; migration 0010): a number, or
# lower(…) LIKE '%…%' on these columns (PostgreSQL: trigram indexes; services.search_orders).
Index("ix_orders_number", Order.number)
for _column in ("customer_order_number", "orderer", "description"):
    Index(
        f"ix_orders_{_column}_trgm",
        func.lower(getattr(Order, _column)).label(f"{_column}_lower"),
        postgresql_using="gin",
        postgresql_ops={f"{_column}_lower": "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")


class Action(Model):
    """An åtgärd: what a technician did on a date, with hours."""

    __tablename__ = "actions"
    __table_args__ = (CheckConstraint("hours >= 0", name="hours_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("0"))

    order: Mapped[Order] = relationship(back_populates="actions")
    technician: Mapped[User | None] = relationship()


class ArticleRow(Model):
    __tablename__ = "article_rows"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_nonneg"),
        CheckConstraint("price >= 0", name="price_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), index=True)
    # None: the article's name is used (fortnox-settings.md §1 "Rows in").
    description: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str | None] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    date: Mapped[date | None] = mapped_column(Date)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    service_object_id: Mapped[int | None] = mapped_column(ForeignKey("service_objects.id"))
    cost_center: Mapped[str | None] = mapped_column(String(30))

    order: Mapped[Order] = relationship(back_populates="article_rows")
    article: Mapped[Article] = relationship()
    technician: Mapped[User | None] = relationship()
    service_object: Mapped[ServiceObject | None] = relationship()


class OrderServiceObject(Model):
    """A service object the order covers, with the operating-hours reading taken."""

    __tablename__ = "order_service_objects"
    __table_args__ = (
        UniqueConstraint("order_id", "service_object_id"),
        CheckConstraint("operating_hours >= 0", name="operating_hours_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    service_object_id: Mapped[int] = mapped_column(ForeignKey("service_objects.id"))
    operating_hours: Mapped[Decimal | None] = mapped_column(Numeric(12, 1))

    order: Mapped[Order] = relationship(back_populates="service_objects")
    service_object: Mapped[ServiceObject] = relationship()


class Comment(Model):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class ProtocolMailStatus(enum.StrEnum):
    SENT = "sent"  # Skickat
    FAILED = "failed"  # Misslyckades


class ProtocolMail(Model):
    """One attempt to e-mail the service protocol: to whom, when, by whom, and how it went
    (the SMTP error in Swedish when it failed)."""

    __tablename__ = "protocol_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ProtocolMailStatus] = mapped_column(
        str_enum(ProtocolMailStatus, "protocol_mail_status")
    )
    error: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="protocol_mails")
    sent_by: Mapped[User | None] = relationship()
