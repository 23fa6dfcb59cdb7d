"""Fortnox error bodies become typed errors with our Swedish explanation (FACTS.md §3)."""

from __future__ import annotations

import pytest

from app.integrations.fortnox.errors import (
    USER_MESSAGES,
    FortnoxAuthError,
    FortnoxError,
    FortnoxNotFound,
    FortnoxPermissionError,
    FortnoxRateLimited,
    FortnoxServerError,
    FortnoxValidationError,
    error_from_response,
    parse_error_information,
)


@pytest.mark.parametrize(
    "body",
    [
        {"ErrorInformation": {"error": 1, "message": "Kan inte hitta kontot.", "code": 2000423}},
        {"ErrorInformation": {"Error": 1, "Message": "Kan inte hitta kontot.", "Code": 2000423}},
        {"ErrorInformation": {"error": 1, "message": "Kan inte hitta kontot.", "code": "2000423"}},
        {
            "errorinformation": {
                "ERROR": "1",
                "MESSAGE": "Kan inte hitta kontot.",
                "CODE": "2000423",
            }
        },
    ],
    ids=["official-lower-case", "spec-capitalised", "string-code", "any-casing"],
)
def test_error_information_is_read_in_every_casing_and_code_type(body: dict) -> None:
    assert parse_error_information(body) == (2000423, "Kan inte hitta kontot.")


@pytest.mark.parametrize("body", [None, "oops", [], {}, {"ErrorInformation": "x"}, {"message": 1}])
def test_bodies_without_error_information_give_nothing(body: object) -> None:
    assert parse_error_information(body) == (None, None)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, 2000423, FortnoxValidationError),
        (400, 2000637, FortnoxValidationError),
        (400, None, FortnoxValidationError),
        (401, None, FortnoxAuthError),
        (403, 2000310, FortnoxAuthError),
        (403, 2000311, FortnoxAuthError),
        (400, 2000311, FortnoxAuthError),
        (403, 2001101, FortnoxPermissionError),
        (400, 2003275, FortnoxPermissionError),
        (403, None, FortnoxPermissionError),
        (404, None, FortnoxNotFound),
        (429, None, FortnoxRateLimited),
        (500, 1000003, FortnoxServerError),
        (503, None, FortnoxServerError),
    ],
)
def test_status_and_code_choose_the_error_class(
    status: int, code: int | None, expected: type[FortnoxError]
) -> None:
    body = {"ErrorInformation": {"error": 1, "message": "x", "code": code}} if code else None

    error = error_from_response(status, body, method="POST", path="/orders")

    assert type(error) is expected
    assert (error.status, error.code, error.method, error.path) == (status, code, "POST", "/orders")


def test_known_code_gets_swedish_text_naming_the_fix() -> None:
    body = {
        "ErrorInformation": {
            "Error": 1,
            "Message": "Kostnadsstället är inaktivt",
            "Code": "2000947",
        }
    }

    error = error_from_response(400, body)

    assert isinstance(error, FortnoxValidationError)
    assert error.message == "Kostnadsstället är inaktivt"  # Fortnox's own words are kept
    assert error.code == 2000947
    assert "inaktivt" in error.user_message and "Aktivera" in error.user_message
    assert "2000947" in str(error) and "HTTP 400" in str(error)


def test_unknown_code_falls_back_to_the_class_text() -> None:
    error = error_from_response(400, {"ErrorInformation": {"message": "Nytt fel", "code": 1}})

    assert error.user_message == FortnoxValidationError.default_user_message


def test_every_code_of_facts_section_3_has_a_swedish_text() -> None:
    documented = {
        1000003, 1000030, 1000031, 2000106, 2000108, 2000134, 2000310, 2000311, 2000359,
        2000588, 2000637, 2000729, 2001103, 2001101, 2001392, 2001740, 2002115, 2001304,
        2001399, 2000013, 2000423, 2004167, 2004194, 2003275, 2000946, 2000947, 2000401,
    }  # fmt: skip
    assert documented <= USER_MESSAGES.keys()
