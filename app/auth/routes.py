"""Sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth.forms import LoginForm
from app.auth.services import authenticate
from app.extensions import db, limiter

bp = Blueprint("auth", __name__)


def _login_key() -> str:
    """Throttle failed sign-ins per e-mail address (so a botnet can't spread the guesses)."""
    return "login:" + (request.form.get("email") or "").strip().lower()


def _login_limit() -> str:
    return current_app.config["LOGIN_THROTTLE"]


def _failed(response) -> bool:  # type: ignore[no-untyped-def]
    # Only failed attempts count: a successful sign-in redirects.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_login_key, methods=["POST"], deduct_when=_failed)
@limiter.limit(
    lambda: "30 per 15 minutes", methods=["POST"], deduct_when=_failed
)  # per client address
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user, remember=bool(form.remember.data))
            db.session.commit()
            target = request.args.get("next") or ""
            # Only local paths: never an open redirect.
            if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
                target = url_for("main.index")
            return redirect(target)
        form.password.errors.append(_("Fel e-postadress eller lösenord."))
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))
