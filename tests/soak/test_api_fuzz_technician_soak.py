"""The generated API campaign as a technician (issue #17 asks for an admin and a technician
token): every operation of /api/v1/openapi.json, the protocol PDF included, sent with the token
of the seeded technician of subgroup Väst (assigned the seeded order), on top of the boundary
cases, the same cases on every run; no 5xx and nothing off the document. Role and subgroup
checks come first on a technician's paths, so fewer cases reach as far and fewer are drawn
(``SOAK_FUZZ_TECHNICIAN_EXAMPLES``, default 50). A module of its own, so its records are
freshly seeded whatever the administrator's campaign (tests/soak/test_api_fuzz_soak.py)
changed. `make soak` runs it (about a minute)."""

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

TECHNICIAN_EXAMPLES = int(os.environ.get("SOAK_FUZZ_TECHNICIAN_EXAMPLES", "50"))

technician_schema = api_fuzz.load_schema(
    max_examples=TECHNICIAN_EXAMPLES, excluded=api_fuzz.EXCLUDED_SOAK
)


@pytest.fixture(scope="module")
def fuzz_world(migrated_database: str) -> Iterator[tuple[Flask, Seed]]:
    with api_fuzz.fuzz_world() as world:
        yield world


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@technician_schema.parametrize()
def test_no_operation_answers_a_technician_5xx_or_off_its_document(
    case: Any, fuzz_world: tuple[Flask, Seed]
) -> None:
    api_fuzz.call(case, *fuzz_world, api_fuzz.CHECKS, as_technician=True)
