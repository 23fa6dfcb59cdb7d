"""/api/v1/integrations/fortnox: state, settings and the connect flow (admin only)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from app.api.common import Loose, Strict, authenticate_request, current_api_user, require_roles
from app.auth.models import Role
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.models import FortnoxIntegration
from app.integrations.routes import redirect_uri

bp = Blueprint(
    "api_integrations", __name__, url_prefix="/api/v1", description="Fortnox-integrationen"
)
bp.before_request(authenticate_request)


class SubgroupArg(Loose):
    subgroup_id = fields.Integer(load_default=None)


class ConnectSchema(Strict):
    subgroup_id = fields.Integer(allow_none=True)


class ConnectResultSchema(Loose):
    authorize_url = fields.String()


class IntegrationStateSchema(Loose):
    id = fields.Integer()
    subgroup_id = fields.Integer(allow_none=True)
    state = fields.String()
    connected = fields.Boolean()
    company_name = fields.String(allow_none=True)
    organisation_number = fields.String(allow_none=True)
    connected_at = fields.DateTime(allow_none=True)
    last_sync = fields.Raw(allow_none=True)
    open_errors = fields.List(fields.Dict())
    registers = fields.Dict()


class IntegrationListSchema(Loose):
    items = fields.List(fields.Nested(IntegrationStateSchema))


def _describe(integration: FortnoxIntegration) -> dict[str, Any]:
    from sqlalchemy import select

    from app.integrations.models import SyncRun

    last = db.session.scalar(
        select(SyncRun)
        .where(SyncRun.integration_id == integration.id)
        .order_by(SyncRun.started_at.desc())
        .limit(1)
    )
    return {
        "id": integration.id,
        "subgroup_id": integration.subgroup_id,
        "state": integration.state.value,
        "connected": bool(integration.encrypted_tokens),
        "company_name": integration.company_name,
        "organisation_number": integration.organisation_number,
        "connected_at": integration.connected_at,
        "last_sync": (
            {
                "status": last.status.value,
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "counts": last.counts,
            }
            if last
            else None
        ),
        "open_errors": [
            {
                "id": e.id,
                "operation": e.operation,
                "message": e.message,
                "fortnox_code": e.fortnox_code,
                "fortnox_message": e.fortnox_message,
                "first_at": e.first_at.isoformat(),
                "last_at": e.last_at.isoformat(),
                "occurrences": e.occurrences,
            }
            for e in services.open_errors(integration)
        ],
        "registers": integration.registers or {},
    }


@bp.route("/integrations/fortnox", methods=["GET"])
@require_roles(Role.ADMIN, Role.OFFICE)
@bp.response(200, IntegrationListSchema)
def list_integrations() -> dict[str, Any]:
    """Varje integration: läge (inactive, ok, error, syncing), senaste synk, öppna fel."""
    return {"items": [_describe(i) for i in services.all_integrations()]}


@bp.route("/integrations/fortnox/settings")
class Settings(MethodView):
    decorators = [require_roles(Role.ADMIN)]

    @bp.arguments(SubgroupArg, location="query")
    @bp.response(200)
    def get(self, args: dict) -> dict[str, Any]:
        """Alla inställningar i fortnox-settings.md för integrationen (?subgroup_id=)."""
        integration = services.get_or_create_integration(args["subgroup_id"])
        db.session.commit()
        return services.settings_of(integration).to_dict()

    @bp.arguments(SubgroupArg, location="query")
    @bp.response(200)
    def put(self, args: dict) -> dict[str, Any]:
        """Ändra inställningar; okända nycklar och fel typer ger 422 och ändrar ingenting."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            from app.errors import ValidationFailed

            raise ValidationFailed("Skicka ett JSON-objekt med inställningar.")
        integration = services.get_or_create_integration(args["subgroup_id"])
        updated = services.update_settings(integration, body)
        db.session.commit()
        return updated.to_dict()


@bp.route("/integrations/fortnox/connect", methods=["POST"])
@require_roles(Role.ADMIN)
@bp.arguments(ConnectSchema)
@bp.response(200, ConnectResultSchema)
def connect(data: dict) -> dict[str, str]:
    """Starta anslutningen: öppna authorize_url i en webbläsare; callbacken avslutar den."""
    url = services.start_connect(
        by=current_api_user(), subgroup_id=data.get("subgroup_id"), redirect_uri=redirect_uri()
    )
    db.session.commit()
    return {"authorize_url": url}
