"""The settings (fortnox-settings.md §3, §4, §7, §8): declared once as the fields of
FortnoxSettings, the definitions derived from them, and their validation."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import typing
from pathlib import Path

import pytest

from app.integrations.fortnox import limits
from app.integrations.fortnox.settings import (
    DEFINITIONS_BY_KEY,
    GROUPS,
    SETTING_DEFINITIONS,
    FortnoxSettings,
    InvalidSettingError,
    SettingError,
    UnknownSettingError,
    definitions_of,
    setting,
)

SPEC = Path(
    os.environ.get(
        "ORDNA_SETTINGS_SPEC",
        Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "fortnox-settings.md",
    )
)


def spec_rows() -> list[tuple[str, str, str, str]]:
    """(section heading, key, Swedish label, default) for every settings-table row of the spec."""
    if not SPEC.exists():
        pytest.skip(f"the settings spec is not at {SPEC}")
    rows = []
    section = ""
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = re.match(r"\| `([a-z_]+)` \| (.+?) \| (.+?) \|", line)
        if match:
            rows.append((section, *match.groups()))
    return rows


def test_definitions_match_the_spec_keys_labels_and_order() -> None:
    rows = spec_rows()
    assert [(key, label) for _, key, label, _ in rows] == [
        (d.key, d.label) for d in SETTING_DEFINITIONS
    ]


def test_defaults_match_the_spec() -> None:
    expected = {"off": False, "empty": None, "0": 0, "`TID`": "TID"}
    defaults = FortnoxSettings.from_dict({})
    for _, key, _, default in spec_rows():
        wanted = expected[default]
        if wanted is None:  # "empty": the empty text or list
            assert getattr(defaults, key) in ("", ()), key
        else:
            assert getattr(defaults, key) == wanted, key


def test_groups_follow_the_spec_sections() -> None:
    sections = {key: section for section, key, _, _ in spec_rows()}
    assert [g.section for g in GROUPS] == ["§3", "§4", "§7", "§8"]
    for group in GROUPS:
        assert group.keys, group.id
        assert group.title  # Swedish title for the settings page
        for key in group.keys:
            assert sections[key].startswith(group.section.strip("§") + ".")
    assert [k for g in GROUPS for k in g.keys] == [d.key for d in SETTING_DEFINITIONS]


def test_help_texts_are_one_short_line() -> None:
    for declared in dataclasses.fields(FortnoxSettings):
        help_text = declared.metadata["help"]
        assert help_text and len(help_text) <= 100 and "\n" not in help_text, declared.name


def test_each_field_default_is_what_from_dict_and_to_dict_give_for_a_missing_key() -> None:
    """The default declared on a field is the whole truth: nothing else lists defaults."""
    built = FortnoxSettings.from_dict({})
    stored = built.to_dict()
    for declared in dataclasses.fields(FortnoxSettings):
        assert getattr(built, declared.name) == declared.default, declared.name
        default = declared.default
        assert stored[declared.name] == (
            ";".join(default) if isinstance(default, tuple) else default
        )


@dataclasses.dataclass(frozen=True)
class _Declared:
    """A settings class as a new setting would be declared: only the field and setting()."""

    flag: bool = setting(False, "Flagga", "Slår på något.", group="rows")
    count: int = setting(3, "Antal", "Hur många.", group="header", depends_on="flag")
    code: str = setting(
        "AB", "Kod", "En kod.", group="sending", max_length=4, choices=frozenset({"AB", "CD"})
    )
    note: str = setting("", "Not", "Fritext.", group="sync", strip=False, multiline=True)
    numbers: tuple[str, ...] = setting((), "Nummer", "Med semikolon.", group="sync")


def test_a_declared_field_is_all_a_definition_needs() -> None:
    found = {d.key: d for d in definitions_of(_Declared)}
    assert list(found) == ["flag", "count", "code", "note", "numbers"]
    assert [found[k].type for k in found] == ["bool", "int", "str", "str", "list"]
    assert [found[k].default for k in found] == [False, 3, "AB", "", ()]
    assert [found[k].group for k in found] == ["rows", "header", "sending", "sync", "sync"]
    assert (found["count"].label, found["count"].help) == ("Antal", "Hur många.")
    assert found["count"].depends_on == "flag" and found["flag"].depends_on is None
    assert (found["code"].max_length, found["code"].choices) == (4, frozenset({"AB", "CD"}))
    assert found["note"].strip is False and found["note"].multiline is True
    assert found["numbers"].strip is True and found["numbers"].multiline is False


def _one_field(*extra: tuple[str, object, dataclasses.Field]) -> type:
    return dataclasses.make_dataclass("Bad", list(extra), frozen=True)


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        ([("x", bool, dataclasses.field(default=False))], "declare every setting"),
        ([("x", float, setting(0, "X", "X.", group="rows"))], "a setting is bool"),
        ([("x", list[str], setting((), "X", "X.", group="rows"))], "a setting is bool"),
        ([("x", int, setting(False, "X", "X.", group="rows"))], "the default is not of type int"),
        ([("x", bool, setting(False, "X", "X.", group="nope"))], "unknown group"),
        (
            [
                ("n", int, setting(0, "N", "N.", group="rows")),
                ("x", bool, setting(False, "X", "X.", group="rows", depends_on="n")),
            ],
            "earlier boolean",
        ),
        (
            [
                ("x", bool, setting(False, "X", "X.", group="rows", depends_on="y")),
                ("y", bool, setting(False, "Y", "Y.", group="rows")),
            ],
            "earlier boolean",
        ),
    ],
)
def test_a_declaration_mistake_fails_when_the_definitions_are_derived(
    declared: list, problem: str
) -> None:
    with pytest.raises(TypeError, match=problem):
        definitions_of(_one_field(*declared))


def test_from_dict_of_nothing_is_the_defaults() -> None:
    assert FortnoxSettings.from_dict({}) == FortnoxSettings()


def test_to_dict_lists_every_key_and_round_trips_through_json() -> None:
    settings = FortnoxSettings(
        sort_by_actions=True,
        serial_number_max_chars=8,
        service_object_prefix="Maskin :",
        no_price_article_numbers=("12", "13", "14"),
        order_text="Rad ett\nRad två",
        cost_center="100",
    )
    data = settings.to_dict()
    assert list(data) == [d.key for d in SETTING_DEFINITIONS]
    assert data["no_price_article_numbers"] == "12;13;14"
    assert FortnoxSettings.from_dict(json.loads(json.dumps(data))) == settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12;13;14", ("12", "13", "14")),
        (" 12 ; 13;;14; ", ("12", "13", "14")),
        ("12;12", ("12",)),
        (["12", " 13 "], ("12", "13")),
        ("", ()),
        (None, ()),
    ],
)
def test_list_settings_accept_semicolon_text_or_a_list(value: object, expected: tuple) -> None:
    settings = FortnoxSettings.from_dict({"no_price_article_numbers": value})
    assert settings.no_price_article_numbers == expected


def test_codes_are_trimmed_and_free_texts_kept_as_typed() -> None:
    settings = FortnoxSettings.from_dict(
        {
            "cost_center": " 100 ",
            "service_object_prefix": "Maskin: ",
            "order_text": "  Indrag\n",
            "time_report_cause_code": "tid",
        }
    )
    assert settings.cost_center == "100"
    assert settings.service_object_prefix == "Maskin: "
    assert settings.order_text == "  Indrag\n"
    assert settings.time_report_cause_code == "TID"


@pytest.mark.parametrize("empty", [None, ""])
def test_serial_number_max_chars_empty_means_whole(empty: object) -> None:
    assert (
        FortnoxSettings.from_dict({"serial_number_max_chars": empty}).serial_number_max_chars == 0
    )


def test_unknown_key_is_refused_with_the_key_named() -> None:
    with pytest.raises(UnknownSettingError) as info:
        FortnoxSettings.from_dict({"sort_by_actions": True, "sort_by_action": True})
    assert info.value.key == "sort_by_action"
    assert "sort_by_action" in info.value.message
    assert info.value.problems == {"sort_by_action": "Okänd inställning: sort_by_action."}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sort_by_actions", "true"),
        ("sort_by_actions", 1),
        ("sort_by_actions", None),
        ("serial_number_max_chars", -1),
        ("serial_number_max_chars", True),
        ("serial_number_max_chars", "8"),
        ("serial_number_max_chars", 2.5),
        ("order_text", 12),
        ("cost_center", ["100"]),
        ("cost_center", "1234567"),  # Fortnox codes are at most 6 characters
        ("time_report_cause_code", "XYZ"),
        ("no_price_article_numbers", 12),
        ("no_price_article_numbers", ["12", 13]),
        ("no_price_article_numbers", ["12;13"]),
    ],
)
def test_wrong_type_or_value_is_refused_with_the_key_named(key: str, value: object) -> None:
    with pytest.raises(InvalidSettingError) as info:
        FortnoxSettings.from_dict({key: value})
    assert info.value.key == key
    assert DEFINITIONS_BY_KEY[key].label in info.value.message


def test_declared_rules_refuse_with_the_same_messages_as_before() -> None:
    with pytest.raises(InvalidSettingError) as info:
        FortnoxSettings.from_dict({"cost_center": "1234567", "time_report_cause_code": "xyz"})
    codes = ", ".join(sorted(limits.ATTENDANCE_CAUSE_CODES))
    assert info.value.problems == {
        "cost_center": "Lägg till kostnadsställe (cost_center) får vara högst 6 tecken "
        "(en kostnadsställekod i Fortnox).",
        "time_report_cause_code": "Orsakskod för tidsrapport (time_report_cause_code) måste "
        f"vara en av Fortnox orsakskoder för närvaro: {codes}.",
    }
    assert FortnoxSettings.from_dict({"cost_center": " 123456 "}).cost_center == "123456"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingError) as info:
        FortnoxSettings.from_dict({"nope": 1, "sort_by_actions": "ja", "order_text": 5})
    assert isinstance(info.value, InvalidSettingError)
    assert list(info.value.problems) == ["sort_by_actions", "order_text", "nope"]


def test_updated_applies_changes_and_keeps_the_rest() -> None:
    settings = FortnoxSettings(sort_by_actions=True, cost_center="100")
    changed = settings.updated({"cost_center": "200"})
    assert (changed.sort_by_actions, changed.cost_center) == (True, "200")
    assert settings.cost_center == "100"  # frozen: the original is untouched


def test_settings_are_frozen_and_hashable() -> None:
    settings = FortnoxSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.sort_by_actions = True  # type: ignore[misc]
    assert hash(settings) == hash(FortnoxSettings())


# --- the page and its form come from the same fields ---------------------------------------------


def test_every_field_is_on_the_settings_page_with_its_label_and_help_in_its_group(client, login):
    import html

    login("admin")
    page = client.get("/settings/integration").get_data(as_text=True)
    positions = []
    for declared in dataclasses.fields(FortnoxSettings):
        key, meta = declared.name, declared.metadata
        position = page.index(f'name="{key}"')
        group_start = page.index(f'id="group-{meta["group"]}"')
        group_end = page.index("</section>", group_start)
        assert group_start < position < group_end, key
        assert html.escape(meta["label"], quote=False) in page[group_start:group_end], key
        assert html.escape(meta["help"], quote=False) in page[group_start:group_end], key
        positions.append(position)
    assert positions == sorted(positions)  # the declaration's (the spec's) order


def test_the_form_has_every_field_with_its_label_kind_and_default(app):
    from wtforms import BooleanField, IntegerField, StringField, TextAreaField

    from app.integrations.forms import settings_form_class, submitted_changes

    kinds = {bool: BooleanField, int: IntegerField, str: StringField, tuple[str, ...]: StringField}
    hints = typing.get_type_hints(FortnoxSettings)
    with app.test_request_context():
        form = settings_form_class()(data=FortnoxSettings().to_dict())
        for declared in dataclasses.fields(FortnoxSettings):
            field = form[declared.name]
            assert field.label.text == declared.metadata["label"], declared.name
            assert field.description == declared.metadata["help"], declared.name
            kind = TextAreaField if declared.metadata["multiline"] else kinds[hints[declared.name]]
            assert type(field) is kind, declared.name
        # What the untouched form submits is every field's default.
        assert FortnoxSettings.from_dict(submitted_changes(form)) == FortnoxSettings()
