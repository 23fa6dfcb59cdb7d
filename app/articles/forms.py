"""Web form for an article of the register."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.formfields import DecimalInput, StrippedForm


class ArticleForm(StrippedForm):
    article_number = StringField(
        _l("Artikelnummer"),
        validators=[
            DataRequired(_l("Fyll i artikelnumret.")),
            Length(max=50, message=_l("Högst 50 tecken.")),
        ],
    )
    name = StringField(
        _l("Benämning"),
        validators=[
            DataRequired(_l("Fyll i benämningen.")),
            Length(max=200, message=_l("Högst 200 tecken.")),
        ],
    )
    unit = StringField(
        _l("Enhet"), validators=[Optional(), Length(max=20, message=_l("Högst 20 tecken."))]
    )
    price = DecimalInput(
        _l("Pris"),
        validators=[
            InputRequired(_l("Ange ett pris.")),
            NumberRange(min=0, max=9_999_999_999, message=_l("Priset kan inte vara negativt.")),
        ],
        places=2,
    )
    active = BooleanField(_l("Aktiv"), default=True)
    hidden = BooleanField(_l("Dölj för inloggad kund och vid utskrift"))
    # The article's version when the page was made (optimistic locking, app/locking.py).
    version = HiddenField()


def article_data(form: ArticleForm) -> dict[str, Any]:
    return {
        "article_number": form.article_number.data.strip(),
        "name": form.name.data.strip(),
        "unit": (form.unit.data or "").strip() or None,
        "price": form.price.data,
        "active": bool(form.active.data),
        "hidden": bool(form.hidden.data),
    }
