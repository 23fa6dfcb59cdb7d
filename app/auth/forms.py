from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Email


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-post"),
        validators=[
            DataRequired(_l("Fyll i din e-postadress.")),
            Email(_l("Ange en giltig e-postadress.")),
        ],
    )
    password = PasswordField(_l("Lösenord"), validators=[DataRequired(_l("Fyll i lösenordet."))])
    remember = BooleanField(_l("Kom ihåg mig"))
    submit = SubmitField(_l("Logga in"))
