"""Custom-field definitions per entity (admin only)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app.customfields.forms import ENTITY_LABELS, TYPE_LABELS, CustomFieldForm
from app.customfields.models import CustomFieldDefinition
from app.customfields.services import create_definition
from app.errors import Conflict
from app.extensions import db
from app.web import admin_required, apply_errors

bp = Blueprint("customfields", __name__)


@bp.route("/custom-fields", methods=["GET", "POST"])
@admin_required
def index() -> ResponseReturnValue:
    form = CustomFieldForm()
    if form.validate_on_submit():
        try:
            definition = create_definition(form.entity.data, form.name.data, form.type.data)
        except Conflict as exc:
            db.session.rollback()
            apply_errors(form, exc.fields)
        else:
            db.session.commit()
            flash(
                _(
                    "Fältet %(name)s finns nu på %(entity)s.",
                    name=definition.name,
                    entity=ENTITY_LABELS[definition.entity],
                ),
                "success",
            )
            return redirect(url_for(".index"))
    definitions = db.session.scalars(
        select(CustomFieldDefinition).order_by(
            CustomFieldDefinition.entity, CustomFieldDefinition.name
        )
    ).all()
    grouped = {entity: [d for d in definitions if d.entity == entity] for entity in ENTITY_LABELS}
    return render_template(
        "customfields/index.html",
        form=form,
        grouped=grouped,
        entity_labels=ENTITY_LABELS,
        type_labels=TYPE_LABELS,
    ), 422 if form.is_submitted() else 200
