"""The long campaign of the generated API fuzzing (issue #17 "no 500 for any input"): every
operation of /api/v1/openapi.json, the protocol PDF included, with several hundred generated
cases each (``SOAK_FUZZ_EXAMPLES``, default 400) on top of the boundary cases, the same ones
on every run. The quick pass is tests/security/test_api_fuzz.py (`make test`); what the cases
are and what they check is in tests/security/api_fuzz.py. `make soak` runs it (several
minutes)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings

from tests.security import api_fuzz
from tests.security.api_fuzz import Seed

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(
        not os.environ.get("ORDNA_SOAK"), reason="the API fuzz campaign runs with `make soak`"
    ),
]

MAX_EXAMPLES = int(os.environ.get("SOAK_FUZZ_EXAMPLES", "400"))
schema = api_fuzz.load_schema(max_examples=MAX_EXAMPLES, excluded=api_fuzz.EXCLUDED_SOAK)


@pytest.fixture(scope="module")
def fuzz_world(migrated_database: str) -> Iterator[tuple[Flask, Seed]]:
    with api_fuzz.fuzz_world() as world:
        yield world


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@schema.parametrize()
def test_no_operation_answers_5xx_or_off_its_document(
    case: Any, fuzz_world: tuple[Flask, Seed]
) -> None:
    api_fuzz.call(case, *fuzz_world, api_fuzz.CHECKS)
