"""Users and tokens. Services take explicit arguments and flush; callers commit."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.models import ApiToken, Role, Subgroup, User
from app.extensions import db


class UserError(ValueError):
    """Invalid user data; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EmailTaken(UserError):
    """Another user has this e-mail address (the API answers 409)."""


def N_(message: str) -> str:
    """Marks a message for the catalogue (pybabel's default keyword) without translating it."""
    return message


# Plain Swedish: the CLI prints it as is, the web and the API translate it (`_(exc.message)`).
INVALID_EMAIL = N_("Ange en giltig e-postadress.")
EMAIL_TAKEN = N_("Det finns redan en användare med den e-postadressen.")


def normalise_email(email: str | None) -> str:
    """An address as stored and looked up: without surrounding spaces, lower-case."""
    return (email or "").strip().lower()


def check_email(email: str | None) -> str:
    """The one rule for a user's e-mail address, wherever users are created or changed (the
    CLI, the admin's user form, the API): returns the address as stored (`normalise_email`),
    or raises UserError("email").

    Syntax only, by email-validator: no DNS lookup (deliverability checks off), so the same
    address is accepted or refused everywhere, offline too; `.test` addresses (RFC 6761,
    reserved for testing) are accepted, other special-use domains (`.local`, `localhost`, …)
    are not. Signing in checks nothing of the kind: it only looks the address up."""
    address = normalise_email(email)
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise UserError("email", INVALID_EMAIL) from None
    return address


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader for the id in the session or the remember-me cookie
    (`User.get_id`: "<id>:<session version>"). A session from before the user's last
    sign-out or password change, or in an older form, is no session: None."""
    user_id_text, sep, version_text = (user_id or "").partition(":")
    if not (sep and user_id_text.isdigit() and version_text.isdigit()):
        return None
    if len(user_id_text) > 10 or len(version_text) > 10:
        return None
    user = db.session.get(User, int(user_id_text))
    if user is None or user.session_version != int(version_text):
        return None
    return user


def find_user_by_email(email: str) -> User | None:
    """The user with this address, compared normalised (case and surrounding spaces don't
    matter); nothing about the address's form is checked."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made the way users' passwords are (`PASSWORD_HASH_METHOD`), to check unknown
    addresses against: the answer then takes as long as for a known one."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _dummy_hashes[method]


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, else None.

    The password is checked in every case — against a dummy hash for an unknown address, and
    before looking at `active` — so how long this takes tells nobody which addresses exist."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


def create_user(
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str = Role.TECHNICIAN,
    subgroup: Subgroup | None = None,
    employee_number: str | None = None,
    cost_center: str | None = None,
    locale: str = "sv",
) -> User:
    """Create a user. Raises UserError for an invalid e-mail address (`check_email`) or a too
    short password, EmailTaken for an address another user has."""
    email = check_email(email)
    if find_user_by_email(email) is not None:
        raise EmailTaken("email", EMAIL_TAKEN)
    if len(password) < 8:
        raise UserError("password", "Lösenordet måste ha minst 8 tecken.")
    user = User(
        email=email,
        name=name.strip(),
        role=Role(role),
        subgroup=subgroup,
        employee_number=employee_number or None,
        cost_center=cost_center or None,
        locale=locale,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def create_api_token(user: User, name: str = "") -> str:
    """Create a personal API token for `user`; returns the token (shown once, stored hashed)."""
    token = ApiToken.generate()
    db.session.add(ApiToken(user=user, name=name, token_hash=ApiToken.hash(token)))
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    """The active user owning this API token, or None. Records the token's last use."""
    api_token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token))
    )
    if api_token is None or not api_token.user.active:
        return None
    api_token.last_used_at = datetime.now(UTC)
    return api_token.user


LOCALES = ("sv", "en")


def update_user(
    user: User,
    *,
    email: str,
    name: str,
    role: Role | str,
    subgroup: Subgroup | None,
    employee_number: str | None,
    cost_center: str | None,
    locale: str,
    active: bool,
    password: str | None = None,
) -> User:
    """Change a user (admin). An empty `password` keeps the old one. Raises UserError for an
    invalid e-mail address (`check_email`), a too short password or an unknown locale,
    EmailTaken for an address another user has."""
    email = check_email(email)
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise EmailTaken("email", EMAIL_TAKEN)
    if password:
        if len(password) < 8:
            raise UserError("password", _("Lösenordet måste ha minst 8 tecken."))
        change_password(user, password)
    set_locale(user, locale)
    user.email = email
    user.name = name.strip()
    user.role = Role(role)
    user.subgroup = subgroup
    user.employee_number = employee_number or None
    user.cost_center = cost_center or None
    user.active = active
    db.session.flush()
    return user


def change_password(user: User, password: str) -> None:
    """A new password: every session and remember-me cookie of `user` ends
    (`User.set_password`), and so do the user's personal API tokens — whoever knew the old
    password could have made one (docs/decisions.md "Sessions")."""
    user.set_password(password)
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.flush()


def end_sessions(user: User) -> None:
    """Sign-out: every session of `user` ends, on every device (API tokens stay)."""
    user.end_sessions()
    db.session.flush()


def set_locale(user: User, locale: str) -> None:
    """The language the UI uses for `user` (sv or en); raises UserError otherwise."""
    if locale not in LOCALES:
        raise UserError("locale", _("Välj svenska eller engelska."))
    user.locale = locale


def create_subgroup(name: str) -> Subgroup:
    """Create a subgroup; raises UserError("name") for an empty or taken name."""
    name = name.strip()
    if not name:
        raise UserError("name", _("Fyll i ett namn."))
    if db.session.scalar(select(Subgroup).where(func.lower(Subgroup.name) == name.lower())):
        raise UserError("name", _("Det finns redan en undergrupp med det namnet."))
    subgroup = Subgroup(name=name)
    db.session.add(subgroup)
    db.session.flush()
    return subgroup


def api_tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
    )


def revoke_api_token(user: User, token_id: int) -> bool:
    """Delete one of `user`'s tokens; False when `user` has no token with that id."""
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None or api_token.user_id != user.id:
        return False
    db.session.delete(api_token)
    db.session.flush()
    return True
