"""/api/v1/integrations/fortnox: state, settings and the connect flow (admin only)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.common import Id, Loose, Strict, authenticate_request, current_api_user, require_roles
from app.auth.models import Role, Subgroup
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.integrations.fortnox import services, sync
from app.integrations.fortnox.settings import SETTING_DEFINITIONS, SettingDefinition
from app.integrations.models import FortnoxIntegration

bp = Blueprint(
    "api_integrations", __name__, url_prefix="/api/v1", description="Fortnox-integrationen"
)
bp.before_request(authenticate_request)


class SubgroupArg(Loose):
    subgroup_id = Id(load_default=None)


class ConnectSchema(Strict):
    subgroup_id = Id(allow_none=True)


class ConnectResultSchema(Loose):
    authorize_url = fields.String()


class IntegrationStateSchema(Loose):
    id = Id()
    subgroup_id = Id(allow_none=True)
    state = fields.String()
    connected = fields.Boolean()
    company_name = fields.String(allow_none=True)
    organisation_number = fields.String(allow_none=True)
    connected_at = fields.DateTime(allow_none=True)
    last_sync = fields.Raw(allow_none=True)
    feed = fields.Dict(
        metadata={
            "description": "The change feed: state connected, polling (its socket is down; "
            "changes come by polling) or stopped (no listener runs), since when, and why not."
        }
    )
    open_errors = fields.List(fields.Dict())
    registers = fields.List(fields.Dict())


class IntegrationListSchema(Loose):
    items = fields.List(fields.Nested(IntegrationStateSchema))


# --- the settings' schemas, generated from the one declaration (FortnoxSettings) ---------------

_SETTING_FIELDS: dict[str, type[fields.Field]] = {
    "bool": fields.Boolean,
    "int": fields.Integer,
    "str": fields.String,
    "list": fields.String,  # "12;13;14", as the settings page shows it
}


def _setting_field(definition: SettingDefinition, *, change: bool) -> fields.Field:
    """One setting as a marshmallow field: its type, its Swedish label as the title and in the
    description with its help text, and its rules as OpenAPI constraints.

    ``change``: a field of PUT's body, where every key is optional (a partial update) and an
    empty value may be sent as null (not for a boolean, nor for a code that must be one of its
    choices); else a field of the answer, which always has every key."""
    notes = [f"{definition.label} — {definition.help}"]
    if definition.depends_on:
        notes.append(f"Gäller bara när {definition.depends_on} är på.")
    if change and definition.type == "list":
        notes.append("Går också att skicka som en JSON-lista av texter.")
    metadata: dict[str, Any] = {"title": definition.label, "description": " ".join(notes)}
    if definition.type == "int":
        metadata["minimum"] = 0
    if definition.max_length is not None:
        metadata["maxLength"] = definition.max_length
    if definition.choices is not None:
        metadata["enum"] = sorted(definition.choices)
    field_class = _SETTING_FIELDS[definition.type]
    if change:
        nullable = definition.type != "bool" and definition.choices is None
        return field_class(allow_none=nullable, metadata=metadata)
    return field_class(required=True, metadata=metadata)


# The answer of GET and PUT: every setting (FortnoxSettings.to_dict()).
FortnoxSettingsSchema = Schema.from_dict(
    {d.key: _setting_field(d, change=False) for d in SETTING_DEFINITIONS},
    name="FortnoxSettingsSchema",
)
# PUT's body, documentation only: FortnoxSettings.updated validates it (see Settings.put), so
# the rules and the Swedish messages live in one place. Unknown keys are refused.
FortnoxSettingsChangesSchema = Schema.from_dict(
    {d.key: _setting_field(d, change=True) for d in SETTING_DEFINITIONS},
    name="FortnoxSettingsChangesSchema",
)


def _feed_status() -> dict[str, Any]:
    from app.integrations.fortnox import feed

    found = feed.status()
    since = found["since"]
    return {**found, "since": since.isoformat() if since else None}


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
        "state": (
            "syncing"
            if integration.encrypted_tokens and sync.running(integration) is not None
            else integration.state.value
        ),
        "connected": bool(integration.encrypted_tokens),
        "company_name": integration.company_name,
        "organisation_number": integration.organisation_number,
        "connected_at": integration.connected_at,
        "last_sync": (
            {
                "id": last.id,
                "status": last.status.value,
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "counts": last.counts,
            }
            if last
            else None
        ),
        "feed": _feed_status(),
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
        "registers": [
            {**row, "synced_at": row["synced_at"].isoformat() if row["synced_at"] else None}
            for row in sync.register_rows(integration)
        ],
    }


@bp.route("/integrations/fortnox", methods=["GET"])
@require_roles(Role.ADMIN)  # the same rule as the page Settings → Integration (issue #17)
@bp.response(200, IntegrationListSchema)
def list_integrations() -> dict[str, Any]:
    """Varje integration: läge (inactive, ok, error, syncing), senaste synk, öppna fel."""
    return {"items": [_describe(i) for i in services.all_integrations()]}


@bp.route("/integrations/fortnox/settings")
class Settings(MethodView):
    decorators = [require_roles(Role.ADMIN)]

    @bp.arguments(SubgroupArg, location="query")
    @bp.response(200, FortnoxSettingsSchema)
    def get(self, args: dict) -> dict[str, Any]:
        """Alla inställningar i fortnox-settings.md för integrationen (?subgroup_id=)."""
        if (
            args["subgroup_id"] is not None
            and db.session.get(Subgroup, args["subgroup_id"]) is None
        ):
            raise ValidationFailed.field("subgroup_id", "Undergruppen finns inte.")
        integration = services.integration_or_default(args["subgroup_id"])
        return services.settings_of(integration).to_dict()

    @bp.arguments(SubgroupArg, location="query")
    @bp.doc(
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": FortnoxSettingsChangesSchema}},
        }
    )
    @bp.response(200, FortnoxSettingsSchema)
    def put(self, args: dict) -> dict[str, Any]:
        """Ändra inställningar; okända nycklar och fel typer ger 422 och ändrar ingenting."""
        # The body is read as sent, not loaded by the schema: FortnoxSettings.updated is the
        # one validator (null empties a text, a list may be "12;13" or ["12", "13"]).
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
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
        by=current_api_user(),
        subgroup_id=data.get("subgroup_id"),
        redirect_uri=services.redirect_uri(),
    )
    db.session.commit()
    return {"authorize_url": url}


class SyncRequestSchema(Strict):
    parts = fields.List(
        fields.String(validate=validate.OneOf(sync.PARTS)),
        validate=validate.Length(min=1, max=len(sync.PARTS)),
        metadata={"description": "Delar att synka; utan: alla."},
    )
    subgroup_id = Id(allow_none=True)


class SyncStartedSchema(Loose):
    job_id = fields.String()
    run_id = Id()


class SyncRunSchema(Loose):
    id = Id()
    status = fields.String()
    trigger = fields.String()
    parts = fields.List(fields.String())
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    counts = fields.Dict()
    log = fields.List(fields.Dict())
    error = fields.String(allow_none=True)


@bp.route("/integrations/fortnox/sync", methods=["POST"])
@require_roles(Role.ADMIN, Role.OFFICE)
@bp.arguments(SyncRequestSchema)
@bp.response(202, SyncStartedSchema)
def start_sync(data: dict) -> dict[str, Any]:
    """Starta en synkning (alla delar utan `parts`). 409 medan en synkning av integrationen
    pågår eller när den inte är ansluten."""
    subgroup_id = data.get("subgroup_id")
    integration = services.integration_for_subgroup(subgroup_id)
    if integration is None:
        raise Conflict("Fortnox är inte anslutet för den här undergruppen.", code="not_connected")
    run = sync.start_sync(integration, data.get("parts"), trigger="manual", by=current_api_user())
    db.session.commit()
    job_id = sync.enqueue_sync(run)
    return {"job_id": job_id, "run_id": run.id}


@bp.route("/integrations/fortnox/sync/<int:run_id>", methods=["GET"])
@require_roles(Role.ADMIN, Role.OFFICE)
@bp.response(200, SyncRunSchema)
def get_sync_run(run_id: int) -> Any:
    """En synkning: läge, antal per del och loggraderna (för att följa den medan den pågår)."""
    from app.integrations.models import SyncRun

    run = db.session.get(SyncRun, run_id)
    if run is None:
        raise NotFound("Synkningen finns inte.")
    return run
