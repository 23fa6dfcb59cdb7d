"""Users, subgroups and personal API tokens."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import date, datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import Model


class Role(enum.StrEnum):
    ADMIN = "admin"
    OFFICE = "office"
    TECHNICIAN = "technician"


class Subgroup(Model):
    """A branch or sister company (undergrupp); may have its own Fortnox integration."""

    __tablename__ = "subgroups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), default=Role.TECHNICIAN)
    subgroup_id: Mapped[int | None] = mapped_column(ForeignKey("subgroups.id"), index=True)
    employee_number: Mapped[str | None] = mapped_column(String(30))
    cost_center: Mapped[str | None] = mapped_column(String(30))
    locale: Mapped[str] = mapped_column(String(5), default="sv")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "Hämta från Fortnox vid första inloggningen varje dag" (integration-health.md), honoured
    # for the roles that may run syncs; the day (organisation's time) it last started one.
    fortnox_refresh_on_login: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    last_login_refresh_on: Mapped[date | None] = mapped_column(Date)
    # Part of the id Flask-Login keeps in the session and the remember-me cookie (`get_id`):
    # raising it ends every session of the user, copied cookies included (sign-out, a new
    # password).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    subgroup: Mapped[Subgroup | None] = relationship()

    def set_password(self, password: str) -> None:
        """Store a hash of `password`; every session signed in with the old one ends."""
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def end_sessions(self) -> None:
        """Every session and remember-me cookie of this user stops working (once flushed)."""
        self.session_version = (self.session_version or 0) + 1

    def get_id(self) -> str:
        """Flask-Login's id of the user in the session and the remember-me cookie: the row's
        id and the session version (`app.auth.services.load_user` checks both)."""
        return f"{self.id}:{self.session_version or 0}"

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot sign in
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Admin and office see every subgroup's orders and manage registers."""
        return self.role in (Role.ADMIN, Role.OFFICE)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class LoginThrottle(Model):
    """Failed sign-ins of one (e-mail address, client address) pair, or of one client address
    (app/auth/throttle.py). Kept in the database so every gunicorn worker sees them; the key
    is a hash, so no typed address (nor a password typed into the wrong field) is stored."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "ordna_" + secrets.token_urlsafe(32)
