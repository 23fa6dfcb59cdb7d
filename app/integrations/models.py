"""Where the Fortnox integration keeps its state: one integration per subgroup (or one for
the whole organisation), its errors, its sync runs, and the send outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Subgroup, User
from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import Model


class IntegrationState(enum.StrEnum):
    INACTIVE = "inactive"  # never connected, disconnected, or authorisation gone
    OK = "ok"
    ERROR = "error"


class FortnoxIntegration(Model):
    __tablename__ = "fortnox_integrations"
    # subgroup_id NULL is the organisation-wide integration; at most one per subgroup.
    __table_args__ = (UniqueConstraint("subgroup_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"))
    # Every key of fortnox-settings.md, as JSON (app.integrations.fortnox.settings).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    # Tokens encrypted at rest (Fernet); never logged.
    encrypted_tokens: Mapped[str | None] = mapped_column(Text)
    company_name: Mapped[str | None] = mapped_column(String(200))
    organisation_number: Mapped[str | None] = mapped_column(String(30))
    tenant_id: Mapped[str | None] = mapped_column(String(30))
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    state: Mapped[IntegrationState] = mapped_column(
        str_enum(IntegrationState, "integration_state"), default=IntegrationState.INACTIVE
    )
    # Register caches (synced from Fortnox), as lists of {"code": …, "active": …}.
    registers: Mapped[dict] = mapped_column(JSON, default=dict)
    hourly_sync: Mapped[bool] = mapped_column(default=True)
    nightly_sync: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    subgroup: Mapped[Subgroup | None] = relationship()
    connected_by: Mapped[User | None] = relationship()


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
    """One sync run with per-register counts (integration-health.md "Sync run log")."""

    __tablename__ = "sync_runs"

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


class SendStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FortnoxSend(Model):
    """The outbox: a send to Fortnox is recorded in the same transaction as the change that
    caused it; a sweeper re-enqueues rows left pending (style.md, indico's rule)."""

    __tablename__ = "fortnox_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("fortnox_integrations.id", ondelete="CASCADE")
    )
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
