"""Connecting the app to a sandbox tenant with real tokens: the one helper tests, the soak and
the benchmarks share (no OAuth round trip; the connect flow has tests of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens
from app.integrations.models import FortnoxIntegration


def connect_to_sandbox(sandbox: Any, tenant: int, **settings: Any) -> FortnoxIntegration:
    """The organisation-wide integration, connected to ``tenant`` with tokens the sandbox
    issues, ``settings`` applied; committed."""
    issued = sandbox.issue_tokens(tenant)
    integration = services.get_or_create_integration(None)
    tokens = Tokens(
        issued.access_token,
        issued.refresh_token,
        datetime.now(UTC) + timedelta(seconds=issued.expires_in),
        issued.scope,
    )
    integration.encrypted_tokens = encrypt_tokens(tokens, services.token_key())
    if settings:
        services.update_settings(integration, settings)
    db.session.commit()
    return integration
