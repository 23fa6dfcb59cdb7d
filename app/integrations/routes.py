"""Settings → Integration (admin only): connect, reconnect and disconnect Fortnox per
subgroup or for the whole organisation, every setting of fortnox-settings.md, and the
integration's health — registers, "Synka nu", schedule, "Töm synkad data" — whose actions
live in app/integrations/health.py."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.models import Subgroup
from app.errors import Conflict, ValidationFailed, render_error
from app.extensions import db
from app.integrations import health
from app.integrations.forms import settings_form_class, submitted_changes
from app.integrations.fortnox import services
from app.integrations.fortnox.labels import (
    HEADER_FIELDS,
    field_label,
    fortnox_name,
    preview_rows,
    rows_total,
)
from app.integrations.fortnox.settings import DEFINITIONS_BY_KEY, GROUPS

bp = Blueprint("integrations", __name__)


@bp.before_request
def admins_only() -> None:
    if request.endpoint == "integrations.callback":
        return  # the one-time state proves who started the flow
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined, no-any-return]
    if request.endpoint == "integrations.order_preview":
        return None  # everyone who may see the order may see what it would send
    if not current_user.is_admin:
        abort(403)


def _subgroup_id() -> int | None:
    raw = request.values.get("subgroup_id") or ""
    if not raw:
        return None
    if not raw.isdigit() or db.session.get(Subgroup, int(raw)) is None:
        abort(404)
    return int(raw)


def _page(subgroup_id: int | None, form=None, status: int = 200) -> ResponseReturnValue:  # type: ignore[no-untyped-def]
    integration = services.integration_or_default(subgroup_id)  # a GET never creates one
    settings = services.settings_of(integration)
    if form is None:
        form = settings_form_class()(data=settings.to_dict())
    subgroups = db.session.scalars(select(Subgroup).order_by(Subgroup.name)).all()
    return (
        render_template(
            "integrations/settings.html",
            integration=integration,
            subgroups=subgroups,
            subgroup_id=subgroup_id,
            form=form,
            groups=GROUPS,
            definitions=DEFINITIONS_BY_KEY,
            errors=services.open_errors(integration) if integration.id is not None else [],
            **health.settings_context(integration),
        ),
        status,
    )


@bp.route("/settings/integration")
@login_required
def settings() -> ResponseReturnValue:
    return _page(_subgroup_id())


@bp.route("/settings/integration/settings", methods=["POST"])
@login_required
def save_settings() -> ResponseReturnValue:
    subgroup_id = _subgroup_id()
    form = settings_form_class()()
    if not form.validate():
        return _page(subgroup_id, form, 422)
    integration = services.get_or_create_integration(subgroup_id)
    try:
        services.update_settings(integration, submitted_changes(form))
    except ValidationFailed as exc:
        for key, problems in exc.fields.items():
            if key in form:
                form[key].errors = list(problems)
        return _page(subgroup_id, form, 422)
    db.session.commit()
    flash("Inställningarna är sparade.", "info")
    return redirect(url_for("integrations.settings", subgroup_id=subgroup_id))


@bp.route("/settings/integration/connect", methods=["POST"])
@login_required
def connect() -> ResponseReturnValue:
    url = services.start_connect(
        by=current_user, subgroup_id=_subgroup_id(), redirect_uri=services.redirect_uri()
    )
    db.session.commit()
    return redirect(url)


@bp.route("/settings/integration/callback")
def callback() -> ResponseReturnValue:
    by = current_user if current_user.is_authenticated else None
    try:
        result = services.finish_connect(
            state=request.args.get("state"),
            code=request.args.get("code"),
            error=request.args.get("error"),
            by=by,
            redirect_uri=services.redirect_uri(),
        )
    except services.ConnectError as exc:
        db.session.commit()  # the state is spent either way; nothing else changed
        flash(exc.message, "error")
        return redirect(url_for("integrations.settings") if by else url_for("auth.login"))
    db.session.commit()
    flash(f"Ansluten till Fortnox: {result.company_name} ({result.organisation_number}).", "info")
    return redirect(
        url_for("integrations.settings", subgroup_id=result.integration.subgroup_id)
        if by
        else url_for("auth.login")
    )


@bp.route("/settings/integration/disconnect", methods=["POST"])
@login_required
def disconnect() -> ResponseReturnValue:
    subgroup_id = _subgroup_id()
    integration = services.integration_for_subgroup(subgroup_id)
    if integration is None:
        abort(404)
    services.disconnect(integration, by=current_user)
    db.session.commit()
    flash("Fortnox är frånkopplat. Inställningarna finns kvar.", "info")
    return redirect(url_for("integrations.settings", subgroup_id=subgroup_id))


@bp.route("/orders/<int:order_id>/fortnox-preview")
@login_required
def order_preview(order_id: int) -> ResponseReturnValue:
    """ "Förhandsgranska i Fortnox-format": the header with Swedish labels (the Fortnox field
    names small beside them), the rows as they will print, warnings and errors, and the raw
    JSON folded below. Nothing is sent. Without a connected integration: who can connect it,
    and the way back to the order."""
    from app.orders.models import Order
    from app.orders.services import ensure_access

    order = db.get_or_404(Order, order_id)
    ensure_access(current_user, order)
    back = (
        url_for("orders.detail", order_id=order.id),
        _("Tillbaka till %(number)s", number=order.display_number),
    )
    heading = _("Förhandsgranska i Fortnox-format: %(number)s", number=order.display_number)
    try:
        result = services.preview(order)
    except Conflict as exc:
        if exc.code != "no_integration":
            return render_error(409, exc.message, heading=heading, back=back)
        message = _("Ingen ansluten Fortnox-integration hanterar den här ordern.")
        if current_user.is_admin:
            return render_error(
                409,
                message,
                heading=heading,
                back=back,
                fix=_("Anslut Fortnox för orderns undergrupp eller för hela organisationen."),
                fix_link=(url_for("integrations.settings"), _("Inställningar → Integration")),
            )
        return render_error(
            409,
            message,
            heading=heading,
            back=back,
            fix=_("Bara en administratör kan ansluta Fortnox. Kontakta en administratör."),
        )
    rows = preview_rows(result.rows)
    return render_template(
        "integrations/preview.html",
        order=order,
        result=result,
        back=back,
        header=[
            (name, field_label(name), result.document[name])
            for name in HEADER_FIELDS
            if result.document.get(name)
        ],
        field_label=field_label,
        fortnox_name=fortnox_name,
        rows=rows,
        total=rows_total(rows),
        raw_json=json.dumps(result.payload, ensure_ascii=False, indent=2),
    )
