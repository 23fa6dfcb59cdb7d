"""What a page costs to render does not grow with its rows more than it must (issue #18):
the order page's row selects share their options, the lists translate their headings once,
and WTForms' attributes are rendered by `app.web.html_params`, which must give WTForms' own
HTML."""

from __future__ import annotations

import importlib.util
from datetime import date
from decimal import Decimal
from typing import Any

import flask_babel
import pytest
import wtforms.widgets
import wtforms.widgets.core
from markupsafe import Markup
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import Select

from app.extensions import db
from app.formfields import optional_int, select_choices
from app.orders.forms import SharedChoices, SharedOptionsSelect
from app.orders.services import create_order
from app.web import html_params
from tests import factories


def _wtforms_html_params() -> Any:
    """WTForms' own html_params, from a fresh copy of its module (create_app replaced the
    one in wtforms.widgets.core)."""
    spec = importlib.util.find_spec("wtforms.widgets.core")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.html_params


ATTRIBUTES = [
    {},
    {"name": "q"},
    {"id": "f", "name": "text1", "class_": "text"},
    {"checked": True, "readonly": False, "name": "text1", "abc": "hello"},
    {"data_attr": "user.name", "aria_labeledby": "name", "data_a_b_c": "x"},
    {"for_": "id", "value": 'a "quoted" <b>&amp;</b> \'s'},
    {"value": Markup('<i class="x">safe</i>'), "title": Markup("&lt;")},
    {"value": 0, "size": 3.5, "placeholder": None, "min": Decimal("1.50")},
    {"value": date(2026, 12, 3), "selected": True, "disabled": False},
    {"data_label": "Åtgärd · Tove", "aria_invalid": "true", "aria_describedby": "x-error"},
]


@pytest.mark.parametrize("attrs", ATTRIBUTES)
def test_html_params_is_wtforms_own(attrs: dict[str, Any]) -> None:
    expected = _wtforms_html_params()(**attrs)
    assert html_params(**attrs) == expected
    assert isinstance(html_params(**attrs), Markup)


def test_html_params_renders_lazy_texts_in_the_users_language(app) -> None:
    with app.test_request_context("/"):
        placeholder = flask_babel.lazy_gettext("Sök")
        assert html_params(placeholder=placeholder) == _wtforms_html_params()(
            placeholder=placeholder
        )


def test_every_widget_renders_its_attributes_with_html_params(app) -> None:
    assert wtforms.widgets.core.html_params is html_params  # Select, TextArea, options
    assert wtforms.widgets.html_params is html_params  # labels  # type: ignore[attr-defined]
    assert wtforms.widgets.core.Input.html_params is html_params
    assert wtforms.widgets.core.Button.html_params is html_params


# --- the rows' selects share their options -----------------------------------------------------


class PickForm(Form):
    shared = SelectField(coerce=optional_int, widget=SharedOptionsSelect())
    plain = SelectField(coerce=optional_int, widget=Select())


@pytest.mark.parametrize("data", [None, 2, 3, 99])
def test_shared_options_select_renders_like_wtforms_select(app, data: int | None) -> None:
    pairs = [("", "—"), (2, 'Tove "T" <Tekniker>'), (3, "Åsa & Co")]
    choices = [
        *select_choices(pairs),
        SelectChoice(value=4, label="Med attribut", render_kw={"data_x": "1", "disabled": True}),
    ]
    form = PickForm(data={"shared": data, "plain": data})
    form.shared.choices = SharedChoices(choices)
    form.plain.choices = choices
    shared = str(form.shared(class_="w-tech", aria_describedby="hint"))
    plain = str(form.plain(class_="w-tech", aria_describedby="hint"))
    assert shared == plain.replace('"plain"', '"shared"')
    assert shared.count("selected") == (0 if data == 99 else 1)  # None: the "" option


def test_shared_options_in_groups_render_like_wtforms_select(app) -> None:
    choices = [
        SelectChoice(value=1, label="Ett", optgroup="Hallen"),
        SelectChoice(value=2, label="Två", optgroup="Lagret"),
    ]
    form = PickForm(data={"shared": 2, "plain": 2})
    form.shared.choices = SharedChoices(choices)
    form.plain.choices = choices
    assert "<optgroup" in form.shared()
    assert str(form.shared()) == str(form.plain()).replace('"plain"', '"shared"')


def _orders_with_rows(make_user, *rows: int) -> list[int]:
    tech = make_user("technician", name="Tove Tekniker")
    office = make_user("office")
    customer = factories.customer(name="Räknare AB")
    facility = factories.facility(customer, name="Hallen")
    factories.service_object(facility, name="Kompressor")
    factories.article("Q1", name="Artikel", price=Decimal(10))
    ids = []
    for count in rows:
        order = create_order(
            {
                "kind": "service",
                "customer_id": customer.id,
                "facility_id": facility.id,
                "actions": [
                    {"date": date(2026, 12, 1), "description": f"Åtgärd {i}",
                     "technician_id": tech.id, "hours": Decimal(1)}
                    for i in range(count)
                ],
                "article_rows": [
                    {"article_number": "Q1", "quantity": Decimal(1), "technician_id": tech.id}
                    for _ in range(count)
                ],
            },
            by=office,
        )  # fmt: skip
        ids.append(order.id)
    db.session.commit()
    return ids


def _options_rendered(client, monkeypatch, path: str) -> int:
    """How many <option> tags WTForms renders for the page."""
    calls = {"n": 0}
    render_option = Select.render_option.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, choice: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        return render_option(cls, choice, **kwargs)

    monkeypatch.setattr(Select, "render_option", classmethod(counting))
    response = client.get(path)
    monkeypatch.undo()
    assert response.status_code == 200
    return calls["n"]


def test_order_page_renders_each_rows_options_once(client, login, make_user, monkeypatch):
    """Every row offers the same technicians and service objects: their <option> tags are
    made once for the page (SharedChoices), not once for each row's select."""
    few, many = _orders_with_rows(make_user, 2, 12)
    login("office")
    client.get(f"/orders/{few}")
    assert _options_rendered(client, monkeypatch, f"/orders/{many}") == _options_rendered(
        client, monkeypatch, f"/orders/{few}"
    )


# --- the lists translate their headings once ---------------------------------------------------


def _translations_used(client, monkeypatch, path: str) -> int:
    """How many times the page's templates asked for a translation (_(), ngettext)."""
    calls = {"n": 0}
    get_translations = flask_babel.get_translations

    def counting() -> Any:
        calls["n"] += 1
        return get_translations()

    monkeypatch.setattr(flask_babel, "get_translations", counting)
    response = client.get(path)
    monkeypatch.undo()
    assert response.status_code == 200
    return calls["n"]


def test_order_list_translates_its_headings_once(client, login, make_user, monkeypatch):
    """A row's cells are labelled with the headings; only the checkbox's label ("Markera
    AO 1001") is translated for each row."""
    office = login("office")
    customer = factories.customer(name="Räknare AB")

    def add(n: int) -> None:
        for _ in range(n):
            create_order({"kind": "work", "customer_id": customer.id}, by=office)
        db.session.commit()

    add(5)
    few = _translations_used(client, monkeypatch, "/orders")
    add(20)
    many = _translations_used(client, monkeypatch, "/orders")
    assert many - few <= 20


def test_customer_list_translates_its_headings_once(client, login, monkeypatch):
    login("office")
    for n in range(5):
        factories.customer(name=f"Kund {n}")
    few = _translations_used(client, monkeypatch, "/customers")
    for n in range(20):
        factories.customer(name=f"Fler {n}")
    assert _translations_used(client, monkeypatch, "/customers") == few
