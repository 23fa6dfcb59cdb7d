from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.auth.models import Role
from app.auth.services import UserError, check_email
from app.formfields import StrippedForm, optional_int, select_choices


class UserEmail:
    """A user's e-mail address by the one rule every way of creating or changing users
    shares (`app.auth.services.check_email`)."""

    def __call__(self, form: FlaskForm, field: EmailField) -> None:
        try:
            check_email(field.data)
        except UserError:
            raise ValidationError(_l("Ange en giltig e-postadress.")) from None


class LoginForm(StrippedForm):
    # Nothing about the address's form is checked: signing in only looks the user up
    # (normalised), so any address a user was created with can sign in.
    email = EmailField(
        _l("E-post"),
        validators=[DataRequired(_l("Fyll i din e-postadress."))],
    )
    password = PasswordField(_l("Lösenord"), validators=[DataRequired(_l("Fyll i lösenordet."))])
    remember = BooleanField(_l("Kom ihåg mig"))
    submit = SubmitField(_l("Logga in"))


ROLE_LABELS = {
    Role.ADMIN: _l("Administratör"),
    Role.OFFICE: _l("Kontor"),
    Role.TECHNICIAN: _l("Tekniker"),
}
LOCALE_CHOICES = select_choices([("sv", _l("Svenska")), ("en", _l("Engelska"))])


class UserForm(StrippedForm):
    name = StringField(
        _l("Namn"),
        validators=[
            DataRequired(_l("Fyll i namnet.")),
            Length(max=120, message=_l("Högst 120 tecken.")),
        ],
    )
    email = EmailField(
        _l("E-post"),
        validators=[
            DataRequired(_l("Fyll i e-postadressen.")),
            Length(max=254, message=_l("Högst 254 tecken.")),
            UserEmail(),
        ],
    )
    role = SelectField(_l("Roll"), choices=select_choices(ROLE_LABELS.items()))
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int)
    employee_number = StringField(
        _l("Anställningsnummer"), validators=[Length(max=30, message=_l("Högst 30 tecken."))]
    )
    cost_center = StringField(
        _l("Kostnadsställe"), validators=[Length(max=30, message=_l("Högst 30 tecken."))]
    )
    locale = SelectField(_l("Språk"), choices=LOCALE_CHOICES)
    password = PasswordField(
        _l("Lösenord"),
        validators=[Optional(), Length(min=8, max=200, message=_l("Minst 8 tecken."))],
        render_kw={"autocomplete": "new-password"},
    )
    active = BooleanField(_l("Aktiv"), default=True)


class SubgroupForm(StrippedForm):
    name = StringField(
        _l("Namn"),
        validators=[
            DataRequired(_l("Fyll i ett namn.")),
            Length(max=120, message=_l("Högst 120 tecken.")),
        ],
    )


class ProfileForm(StrippedForm):
    locale = SelectField(_l("Språk"), choices=LOCALE_CHOICES)


class LoginRefreshForm(StrippedForm):
    """ "Hämta från Fortnox vid första inloggningen varje dag" (admin and office)."""

    fortnox_refresh_on_login = BooleanField(
        _l("Hämta från Fortnox vid första inloggningen varje dag")
    )


class TokenForm(StrippedForm):
    token_name = StringField(
        _l("Vad används token till?"),
        validators=[Length(max=120, message=_l("Högst 120 tecken."))],
        render_kw={"placeholder": _l("t.ex. Lagerskript")},
    )
