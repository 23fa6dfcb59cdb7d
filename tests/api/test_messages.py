"""marshmallow's default messages are Swedish once an app is built, and importing the API's
modules changes nothing of marshmallow's by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from marshmallow import fields
import app.api.common, app.api.customers
print(fields.Field.default_error_messages["required"])
from app import create_app
from app.config import TestConfig
create_app(TestConfig)
print(fields.Field.default_error_messages["required"])
"""


def test_the_factory_installs_the_swedish_messages_importing_does_not():
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    after_import, after_factory = probe.stdout.splitlines()[-2:]
    assert after_import == "Missing data for required field."
    assert after_factory == "Obligatoriskt fält."


def test_a_missing_required_field_is_named_in_swedish(api):
    response = api("admin").post("/customers", json={})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["name"] == ["Obligatoriskt fält."]
