"""The settings definitions (fortnox-settings.md §3, §4, §7, §8) and their validation."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest

from app.integrations.fortnox.settings import (
    DEFINITIONS_BY_KEY,
    GROUPS,
    SETTING_DEFINITIONS,
    FortnoxSettings,
    InvalidSettingError,
    SettingError,
    UnknownSettingError,
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
    for _, key, _, default in spec_rows():
        definition = DEFINITIONS_BY_KEY[key]
        wanted = expected[default]
        if wanted is None:  # "empty": the empty text or list
            assert definition.default in ("", ()), key
        else:
            assert definition.default == wanted, key
        assert getattr(FortnoxSettings(), key) == definition.default, key


def test_groups_follow_the_spec_sections() -> None:
    sections = {key: section for section, key, _, _ in spec_rows()}
    assert [g.section for g in GROUPS] == ["§3", "§4", "§7", "§8"]
    for group in GROUPS:
        assert group.keys, group.id
        assert group.title  # Swedish title for the settings page
        for key in group.keys:
            assert sections[key].startswith(group.section.strip("§") + ".")
    assert [k for g in GROUPS for k in g.keys] == [d.key for d in SETTING_DEFINITIONS]


def test_dataclass_fields_are_the_definitions_with_matching_types() -> None:
    fields = dataclasses.fields(FortnoxSettings)
    assert [f.name for f in fields] == [d.key for d in SETTING_DEFINITIONS]
    python_type = {"bool": bool, "str": str, "int": int, "list": tuple}
    for definition in SETTING_DEFINITIONS:
        assert isinstance(definition.default, python_type[definition.type]), definition.key
        assert definition.help and len(definition.help) <= 100, definition.key
        if definition.depends_on:
            assert DEFINITIONS_BY_KEY[definition.depends_on].type == "bool"


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
