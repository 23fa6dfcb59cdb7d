"""The quick pass of the generated API campaign (issue #17 "no 500 for any input"): every
operation of /api/v1/openapi.json with its boundary cases and a few generated ones each, the
same on every run. The long campaign is tests/soak/test_api_fuzz_soak.py (`make soak`); what
the cases are and what they check is in tests/security/api_fuzz.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings

from tests.security import api_fuzz
from tests.security.api_fuzz import Seed

# Generated cases per operation, on top of the examples and coverage phases' cases (every
# boundary and wrong type of every field and parameter: several hundred for an order's body).
MAX_EXAMPLES = 10

schema = api_fuzz.load_schema(max_examples=MAX_EXAMPLES, excluded=api_fuzz.EXCLUDED_QUICK)


@pytest.fixture(scope="module")
def fuzz_world(migrated_database: str) -> Iterator[tuple[Flask, Seed]]:
    with api_fuzz.fuzz_world() as world:
        yield world


# One app and one seed serve every case of the module (the suite's function-scoped fixtures,
# `_no_network` among them, hold for each); no deadline: a slow, shared CI machine must not
# fail a case, the app's speed is measured by the benchmarks.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@schema.parametrize()
def test_no_operation_answers_5xx_or_off_its_document(
    case: Any, fuzz_world: tuple[Flask, Seed]
) -> None:
    api_fuzz.call(case, *fuzz_world, api_fuzz.CHECKS)


def _documented(app: Flask) -> set[str]:
    document = app.test_client().get(api_fuzz.OPENAPI_PATH).get_json()
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method != "parameters"
    }


# A URL rule's argument (`<int:order_id>`, `<job_id>`) and its OpenAPI spelling (`{order_id}`).
_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def _braced(match: re.Match[str]) -> str:
    return "{" + match.group(1) + "}"


def test_every_api_route_is_in_the_document_the_campaign_reads(app: Flask) -> None:
    """The campaign fuzzes what the OpenAPI document lists: an /api/v1 route registered
    outside flask-smorest (so missing from the document) would slip through it."""
    routes = {
        f"{method} {_ARGUMENT.sub(_braced, rule.rule)}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.endswith("/openapi.json")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert sorted(routes - _documented(app)) == []


def test_every_exclusion_names_a_documented_operation(app: Flask) -> None:
    """A renamed path must not leave a stale exclusion (nor one that silently excludes
    nothing)."""
    documented = _documented(app)
    for excluded in (api_fuzz.EXCLUDED_QUICK, api_fuzz.EXCLUDED_SOAK):
        assert sorted(set(excluded) - documented) == []
