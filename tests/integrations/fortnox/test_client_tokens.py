"""Tokens: expiry arithmetic, encryption at rest, key rotation, and never shown in repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet, InvalidToken

from app.integrations.fortnox.tokens import (
    Tokens,
    decrypt_tokens,
    encrypt_tokens,
    rotate_encrypted_tokens,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOKENS = Tokens("access-abc", "refresh-def", NOW + timedelta(hours=1), "order invoice")


def test_round_trip_through_encryption_keeps_every_field() -> None:
    key = Fernet.generate_key()

    blob = encrypt_tokens(TOKENS, key)

    assert "access-abc" not in blob and "refresh-def" not in blob
    assert decrypt_tokens(blob, key) == TOKENS
    assert decrypt_tokens(blob, key.decode()) == TOKENS  # str keys work too


def test_wrong_key_is_refused() -> None:
    blob = encrypt_tokens(TOKENS, Fernet.generate_key())

    with pytest.raises(InvalidToken):
        decrypt_tokens(blob, Fernet.generate_key())


def test_key_rotation_old_blobs_open_with_the_new_key_list() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    blob = encrypt_tokens(TOKENS, old)

    assert decrypt_tokens(blob, [new, old]) == TOKENS
    rotated = rotate_encrypted_tokens(blob, [new, old])
    assert decrypt_tokens(rotated, new) == TOKENS
    assert decrypt_tokens(encrypt_tokens(TOKENS, [new, old]), new) == TOKENS


def test_repr_never_shows_the_tokens() -> None:
    assert "access-abc" not in repr(TOKENS) and "refresh-def" not in repr(TOKENS)


def test_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError):
        Tokens("a", "r", datetime(2026, 1, 1), "")


def test_token_response_counts_expiry_from_our_clock_and_keeps_a_missing_refresh_token() -> None:
    tokens = Tokens.from_token_response(
        {"access_token": "a", "expires_in": 3600, "scope": ["order", "invoice"]},
        NOW,
        previous_refresh_token="old-refresh",
    )

    assert tokens.expires_at == NOW + timedelta(hours=1)
    assert tokens.refresh_token == "old-refresh"
    assert tokens.scope == "order invoice"
    assert tokens.expires_within(timedelta(minutes=5), NOW + timedelta(minutes=55))
    assert not tokens.expires_within(timedelta(minutes=5), NOW + timedelta(minutes=54))
