"""Where the Fortnox integration keeps its state: one integration per subgroup (or one for
the whole organisation), its errors, its sync runs, and the send outbox."""

from __future__ import annotations

import enum
from datetime import date as date_type
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Subgroup, User
from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import Model

if TYPE_CHECKING:
    from app.orders.models import Order


class IntegrationState(enum.StrEnum):
    INACTIVE = "inactive"  # never connected, disconnected, or authorisation gone
    OK = "ok"
    ERROR = "error"


class FortnoxIntegration(Model):
    __tablename__ = "fortnox_integrations"
    # subgroup_id NULL is the organisation-wide integration; at most one per subgroup, and at
    # most one organisation-wide (NULLs escape the unique constraint, hence the second index).
    __table_args__ = (
        UniqueConstraint("subgroup_id"),
        Index(
            "uq_fortnox_integrations_organisation",
            text("(subgroup_id IS NULL)"),
            unique=True,
            postgresql_where=text("subgroup_id IS NULL"),
            sqlite_where=text("subgroup_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"))
    # Every key of fortnox-settings.md, as JSON (app.integrations.fortnox.settings).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    company_name: Mapped[str | None] = mapped_column(String(200))
    organisation_number: Mapped[str | None] = mapped_column(String(30))
    tenant_id: Mapped[str | None] = mapped_column(String(30))
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[IntegrationState] = mapped_column(
        str_enum(IntegrationState, "integration_state"), default=IntegrationState.INACTIVE
    )
    hourly_sync: Mapped[bool] = mapped_column(default=True)
    nightly_sync: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    subgroup: Mapped[Subgroup | None] = relationship()
    connected_by: Mapped[User | None] = relationship()
    token_row: Mapped[FortnoxTokens | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def encrypted_tokens(self) -> str | None:
        """The Fernet-encrypted tokens (None: not connected); kept in their own row."""
        return self.token_row.encrypted if self.token_row is not None else None

    @encrypted_tokens.setter
    def encrypted_tokens(self, value: str | None) -> None:
        if self.token_row is None:
            self.token_row = FortnoxTokens(encrypted=value)
        else:
            self.token_row.encrypted = value


class FortnoxTokens(Model):
    """An integration's tokens, encrypted at rest (Fernet), never logged. A row of their own:
    the token store writes it in its own short transaction while a job's session may hold a
    lock on the integration's row (after recording an error), and must never wait for it."""

    __tablename__ = "fortnox_tokens"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE"), primary_key=True
    )
    encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class OAuthState(Model):
    """A one-time OAuth `state`, bound to the admin who started the connect flow."""

    __tablename__ = "oauth_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IntegrationError(Model):
    """An unresolved or resolved integration error (integration-health.md)."""

    __tablename__ = "integration_errors"
    __table_args__ = (Index("ix_integration_errors_open", "integration_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE")
    )
    # What failed, e.g. "token_refresh", "sync:articles", "send"; one open error per key.
    operation: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)  # our words, Swedish
    fortnox_code: Mapped[str | None] = mapped_column(String(30))
    fortnox_message: Mapped[str | None] = mapped_column(Text)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(30))  # "auto" or "manual"


class SyncRunStatus(enum.StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class SyncRun(Model):
    """One sync run with per-register counts (integration-health.md "Sync run log"). At most
    one runs per integration at a time (a partial unique index); a run whose worker died is
    found by its old heartbeat and marked failed."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(
            "uq_sync_runs_running",
            "integration_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(30))  # scheduled, manual, first_login
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    parts: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[SyncRunStatus] = mapped_column(
        str_enum(SyncRunStatus, "sync_run_status"), default=SyncRunStatus.RUNNING
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # {"articles": {"fetched": n, "created": n, "updated": n, "unchanged": n, …}, …}
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    log: Mapped[list] = mapped_column(JSON, default=list)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class SyncCursor(Model):
    """Where the last good sync of one register of one integration got to: the Fortnox
    `lastmodified` to ask from next time (Swedish local time, "YYYY-MM-DD HH:MM"). A failed
    run leaves it where it was, so the next run picks up from there."""

    __tablename__ = "fortnox_sync_cursors"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE"), primary_key=True
    )
    register: Mapped[str] = mapped_column(String(30), primary_key=True)
    lastmodified: Mapped[str | None] = mapped_column(String(20))
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    records: Mapped[int] = mapped_column(Integer, default=0)  # how many we hold from Fortnox
    ok: Mapped[bool] = mapped_column(default=True)


class FeedOffset(Model):
    """Where the change feed is in one Fortnox topic (FACTS.md §8): the offset of the last
    event handled. The feed's connection is one for all tenants, so the offsets are too; a
    restart replays from here (docs/sync.md "Change feed")."""

    __tablename__ = "fortnox_feed_offsets"

    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    offset: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class FeedState(Model):
    """The change feed's work for one integration: the parts events asked to sync (kept until
    a run of them starts, so a listener that dies loses none), and the fallback poll's turn."""

    __tablename__ = "fortnox_feed_states"

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE"), primary_key=True
    )
    pending: Mapped[list] = mapped_column(JSON, default=list)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    events: Mapped[int] = mapped_column(Integer, default=0)  # events handled, duplicates too
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    poll_round: Mapped[int] = mapped_column(Integer, default=0)


class FeedListener(Model):
    """The change feed's listener (one row, id 1): which process holds the connection (a
    lease, so a second listener waits as a standby), whether the socket is up and why not, and
    "Uppdatera" asked from the pages."""

    __tablename__ = "fortnox_feed_listener"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connected: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    restart_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RegisterItem(Model):
    """A row of a register kept in Fortnox and synced here: cost centers, terms of delivery,
    ways of delivery (per integration: two subgroups may use two Fortnox companies)."""

    __tablename__ = "fortnox_register_items"
    __table_args__ = (UniqueConstraint("integration_id", "register", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE")
    )
    register: Mapped[str] = mapped_column(String(30))
    code: Mapped[str] = mapped_column(String(50))
    description: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ArticleSnapshot(Model):
    """The article register as it was before a sync overwrote prices (fortnox-settings.md §8
    `sync_prices`), for an admin to download (Excel) or restore."""

    __tablename__ = "article_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="SET NULL")
    )
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(200))
    # [{"article_number", "name", "unit", "price", "active", "hidden"}, …]
    articles: Mapped[list] = mapped_column(JSON, default=list)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    restored_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CustomerChange(Model):
    """One overwritten field of a customer: when, by which sync run or user, before and after
    (shown on the customer page)."""

    __tablename__ = "customer_changes"
    __table_args__ = (Index("ix_customer_changes_customer", "customer_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class SendStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


OPEN_SEND_STATUSES = (SendStatus.PENDING.value, SendStatus.SENDING.value)


class SendStep(enum.StrEnum):
    """How far a send got; a retry resumes after the last step recorded (never redoes one)."""

    START = "start"
    DOCUMENT = "document"  # the order or invoice exists in Fortnox (number recorded)
    INVOICE = "invoice"  # order mode: createinvoice done (invoice number recorded)
    # Before the e-mail: Fortnox sends the invoice with what is attached to it by then.
    PROTOCOL = "protocol"  # the signed protocol is attached to the document
    EMAILED = "emailed"  # Fortnox e-mailed the invoice to the customer
    HOURS = "hours"  # the actions' hours are reported (send_time_report)
    DONE = "done"


class FortnoxSend(Model):
    """The outbox: a send to Fortnox is recorded in the same transaction as the change that
    caused it; a sweeper re-enqueues rows left pending (style.md, indico's rule)."""

    __tablename__ = "fortnox_sends"
    __table_args__ = (
        # At most one open send per order: two clicks or two workers can never start two.
        Index(
            "uq_fortnox_sends_open_order",
            "order_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_fortnox_sends_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # No cascade: the send history outlives a disconnect (the integration row is kept anyway).
    integration_id: Mapped[int] = mapped_column(ForeignKey("fortnox_integrations.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[SendStatus] = mapped_column(
        str_enum(SendStatus, "send_status"), default=SendStatus.PENDING, index=True
    )
    job_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    document_type: Mapped[str | None] = mapped_column(String(10))
    document_number: Mapped[str | None] = mapped_column(String(30))
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(String(30))
    error_message: Mapped[str | None] = mapped_column(Text)
    step: Mapped[SendStep] = mapped_column(str_enum(SendStep, "send_step"), default=SendStep.START)
    invoice_number: Mapped[str | None] = mapped_column(String(30))
    # A worker holds a send until lease_until; a send whose lease ran out (the worker died) is
    # taken again by the next worker or the sweeper. next_attempt_at: when a retry is due.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who holds the send now: every write of the job checks it, so a worker that outlived its
    # lease never records anything over the worker that took the send after it.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()
    integration: Mapped[FortnoxIntegration] = relationship()


class PushStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing to send by the time it ran: the record or its rule is gone


class FortnoxRegisterPush(Model):
    """The outbox of registers going to Fortnox (fortnox-settings.md §8): a customer or an
    article changed here, recorded in the same transaction as the change
    (:mod:`app.integrations.fortnox.pushing`). At most one pending push per integration, kind
    and key: saving a record ten times before it is sent gives one push, which sends the
    record as it is when the job runs."""

    __tablename__ = "fortnox_register_pushes"
    __table_args__ = (
        Index(
            "uq_fortnox_register_pushes_pending",
            "integration_id",
            "kind",
            "key",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_fortnox_register_pushes_key", "integration_id", "kind", "key"),
        Index("ix_fortnox_register_pushes_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))  # "customer" | "article"
    key: Mapped[str] = mapped_column(String(100))  # our customer or article number
    status: Mapped[PushStatus] = mapped_column(
        str_enum(PushStatus, "register_push_status"), default=PushStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # As on FortnoxSend: the worker holding the push until lease_until, its claim checked on
    # every write; next_attempt_at: when a retry is due.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_code: Mapped[str | None] = mapped_column(String(30))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    integration: Mapped[FortnoxIntegration] = relationship()


class FortnoxLink(Model):
    """What this integration knows exists in its Fortnox company: a customer or an article,
    by its Fortnox number (two subgroups may be connected to two companies). A send skips the
    existence check for what is linked; a 404 from Fortnox drops the link."""

    __tablename__ = "fortnox_links"
    __table_args__ = (UniqueConstraint("integration_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))  # "customer" | "article"
    key: Mapped[str] = mapped_column(String(100))  # CustomerNumber / ArticleNumber
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TimeReportEntry(Model):
    """The ledger of hours reported to Fortnox as attendance transactions (send_time_report):
    per order, technician (employee number), day and cause code. A re-send reports only what
    the ledger does not hold yet, so nothing is reported twice, and two orders of one
    technician on the same day are each reported. An entry is written ``pending`` before the
    call and ``reported`` after it; a pending one found later is checked against Fortnox."""

    __tablename__ = "fortnox_time_reports"
    __table_args__ = (Index("ix_fortnox_time_reports_key", "order_id", "employee_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("fortnox_integrations.id"))
    employee_id: Mapped[str] = mapped_column(String(30))
    date: Mapped[date_type] = mapped_column(Date)
    cause_code: Mapped[str] = mapped_column(String(10))
    hours: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | reported
    transaction_id: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
