"""What oauthlib, requests-oauthlib and urllib3 log at DEBUG is scrubbed of secrets."""

from __future__ import annotations

import logging

import pytest

from app.integrations.fortnox.oauth import SecretRedactingFilter, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0ZW5hbnRJZCI6MX0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"Adding token {{'access_token': '{JWT}', 'token_type': 'Bearer'}} to request.", JWT),
        ("Supplying headers {'Authorization': 'Bearer abc.def-123'} and data None", "abc.def-123"),
        ("Request headers were {'Authorization': 'Basic b3JkbmE6c2VjcmV0'}", "b3JkbmE6c2VjcmV0"),
        ("Request body was grant_type=authorization_code&code=Zx9_k-1&redirect_uri=x", "Zx9_k-1"),
        (
            "Prepared refresh token request body grant_type=refresh_token&refresh_token=5a-b6",
            "5a-b6",
        ),
        ('content {"access_token":"tok1","refresh_token":"7f3e","scope":"order"}', "7f3e"),
        ("client_secret=hunter2&client_id=ordna", "hunter2"),
        (f"bare {JWT} in text", JWT),
    ],
)
def test_redact_removes_tokens_codes_secrets_and_credentials(line: str, secret: str) -> None:
    cleaned = redact(line)

    assert secret not in cleaned
    assert "[redacted" in cleaned


def test_redact_keeps_harmless_text() -> None:
    line = 'http://127.0.0.1:5001 "GET /3/orders?page=2&limit=500 HTTP/1.1" 200 812'
    assert redact(line) == line


def test_filter_rewrites_the_record_with_its_arguments() -> None:
    record = logging.LogRecord(
        "oauthlib",
        logging.DEBUG,
        __file__,
        1,
        "Obtained token %s.",
        ({"refresh_token": "r1"},),
        None,
    )

    assert SecretRedactingFilter().filter(record) is True
    assert "r1" not in record.getMessage()
