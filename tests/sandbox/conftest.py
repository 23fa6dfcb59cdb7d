"""Fixtures for the sandbox tests: a real HTTP server on 127.0.0.1, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from fortnox_sandbox.testing import SandboxServer, TokenSet, serve


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxServer]:
    with serve() as server:
        yield server


@pytest.fixture
def sandbox(shared_sandbox: SandboxServer) -> SandboxServer:
    """The session's sandbox with fresh state (no tenants, tokens, faults; real time)."""
    shared_sandbox.reset()
    return shared_sandbox


@pytest.fixture
def tokens(sandbox: SandboxServer) -> TokenSet:
    """Tokens with every scope Ordna uses, for the default company (a seeded tenant)."""
    return sandbox.obtain_tokens()


class Api:
    """A tiny Fortnox client for tests: JSON in and out, no error raising."""

    def __init__(self, server: SandboxServer, token_set: TokenSet) -> None:
        self.server = server
        self.tokens = token_set
        self.http = requests.Session()

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {**self.tokens.headers, **kwargs.pop("headers", {})}
        return self.http.request(
            method, self.server.api_url + path, json=body, headers=headers, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def api(sandbox: SandboxServer, tokens: TokenSet) -> Iterator[Api]:
    client = Api(sandbox, tokens)
    yield client
    client.http.close()


def error_code(response: requests.Response) -> int:
    """The ErrorInformation code of an error answer (lower-case keys, FACTS.md §3)."""
    return int(response.json()["ErrorInformation"]["code"])
