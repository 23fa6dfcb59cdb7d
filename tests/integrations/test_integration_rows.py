"""Integration rows: exactly one organisation-wide integration, and no GET creates one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.models import FortnoxIntegration


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(FortnoxIntegration))


def test_a_second_organisation_wide_integration_is_refused_by_the_database(app):
    db.session.add(FortnoxIntegration(subgroup_id=None, settings={}))
    db.session.commit()
    db.session.add(FortnoxIntegration(subgroup_id=None, settings={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert services.get_or_create_integration(None).subgroup_id is None
    db.session.commit()
    assert count() == 1


def test_reading_the_settings_creates_no_integration(client, login, api):
    login("admin")
    assert client.get("/settings/integration").status_code == 200
    response = api("admin").get("/integrations/fortnox/settings")
    assert response.status_code == 200 and response.json["create_invoice_directly"] is False
    assert count() == 0
    # Saving does create it.
    assert (
        api("admin").put("/integrations/fortnox/settings", json={"order_text": "Tack!"}).status_code
        == 200
    )
    assert count() == 1
