"""Users and tokens. Services take explicit arguments and flush; callers commit."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.auth.models import ApiToken, Role, Subgroup, User
from app.extensions import db


class UserError(ValueError):
    """Invalid user data; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with this e-mail and password, else None."""
    user = find_user_by_email(email)
    if user is None or not user.active or not user.check_password(password):
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
    """Create a user. Raises UserError for a duplicate e-mail or a too short password."""
    email = email.strip().lower()
    if find_user_by_email(email) is not None:
        raise UserError("email", "Det finns redan en användare med den e-postadressen.")
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
    """Change a user (admin). An empty `password` keeps the old one. Raises UserError for a
    duplicate e-mail, a too short password or an unknown locale."""
    email = email.strip().lower()
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise UserError("email", _("Det finns redan en användare med den e-postadressen."))
    if password:
        if len(password) < 8:
            raise UserError("password", _("Lösenordet måste ha minst 8 tecken."))
        user.set_password(password)
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
