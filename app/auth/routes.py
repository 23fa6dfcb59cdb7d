"""Sign-in and sign-out, the user's own profile (language, API tokens), and the admin's
pages for users and subgroups."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext, refresh
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app.auth import throttle
from app.auth.forms import (
    ROLE_LABELS,
    LoginForm,
    LoginRefreshForm,
    ProfileForm,
    SubgroupForm,
    TokenForm,
    UserForm,
)
from app.auth.models import Role, Subgroup, User
from app.auth.services import (
    UserError,
    api_tokens_of,
    authenticate,
    create_api_token,
    create_subgroup,
    create_user,
    end_sessions,
    revoke_api_token,
    set_locale,
    update_user,
)
from app.extensions import db
from app.formfields import select_choices
from app.web import admin_required, paginate

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """`next` when it is a path of this app, else None (the caller goes to the start page).
    Never an open redirect, and never a 500: no other host or scheme (`//host`, `/\\host`,
    which browsers read as `//host`), and no control characters (a CR/LF would split the
    Location header)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Vänta %(num)d sekund innan du försöker igen.",
        "Vänta %(num)d sekunder innan du försöker igen.",
        seconds,
    )


def _throttled(form: LoginForm, seconds: int) -> ResponseReturnValue:
    """The sign-in form again, with the e-mail address kept and the time to wait (429)."""
    form.password.errors = [*form.password.errors, _wait_message(seconds)]
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        keys = throttle.keys_for(form.email.data or "", request.remote_addr)
        wait = throttle.seconds_to_wait(keys)
        if wait:
            # Not even looked at: no guess is tried while waiting, right or wrong.
            return _throttled(form, wait)
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            throttle.record_success(keys)
            login_user(user, remember=bool(form.remember.data))
            db.session.commit()
            from app.integrations.health import refresh_on_login

            refresh_on_login(user)  # the first sign-in of the day fetches from Fortnox
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
        throttle.record_failure(keys)
        db.session.commit()
        form.password.errors.append(_("Fel e-postadress eller lösenord."))
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    # Every session of this user ends, on every device, copied cookies and remember-me
    # cookies included (docs/decisions.md "Sessions").
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))


# --- my profile: language and personal API tokens ---------------------------------------------


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> ResponseReturnValue:
    form = ProfileForm(data={"locale": current_user.locale})
    if form.validate_on_submit():
        set_locale(current_user, form.locale.data)
        db.session.commit()
        refresh()  # the page after the redirect speaks the new language
        flash(_("Språket är sparat."), "success")
        return redirect(url_for(".profile"))
    return _profile_page(form=form, status=422 if form.is_submitted() else 200)


def _profile_page(
    *,
    form: ProfileForm | None = None,
    token_form: TokenForm | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return render_template(
        "auth/profile.html",
        form=form or ProfileForm(formdata=None, data={"locale": current_user.locale}),
        refresh_form=(
            LoginRefreshForm(
                formdata=None,
                prefix="fortnox",
                data={"fortnox_refresh_on_login": current_user.fortnox_refresh_on_login},
            )
            if current_user.is_staff
            else None
        ),
        token_form=token_form or TokenForm(formdata=None, prefix="token"),
        tokens=api_tokens_of(current_user),
        new_token=new_token,
    ), status


@bp.route("/profile/fortnox", methods=["POST"])
@login_required
def save_login_refresh() -> ResponseReturnValue:
    """ "Hämta från Fortnox vid första inloggningen varje dag": honoured only for the roles
    that may run syncs (admin, office), so only they have the setting."""
    if not current_user.is_staff:
        abort(403)
    refresh_form = LoginRefreshForm(prefix="fortnox")
    if not refresh_form.validate_on_submit():
        return _profile_page(status=422)
    current_user.fortnox_refresh_on_login = bool(refresh_form.fortnox_refresh_on_login.data)
    db.session.commit()
    flash(_("Inställningen är sparad."), "success")
    return redirect(url_for(".profile") + "#fortnox")


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token() -> ResponseReturnValue:
    token_form = TokenForm(prefix="token")
    if not token_form.validate_on_submit():
        return _profile_page(token_form=token_form, status=422)
    token = create_api_token(current_user, (token_form.token_name.data or "").strip())
    db.session.commit()
    # Shown once, in this response only: it is stored hashed. No redirect, so a reload of the
    # page never shows it again.
    return _profile_page(new_token=token)


@bp.route("/profile/tokens/<int:token_id>/delete", methods=["POST"])
@login_required
def revoke_token(token_id: int) -> ResponseReturnValue:
    if not revoke_api_token(current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("Token är borttagen."), "success")
    return redirect(url_for(".profile"))


# --- users and subgroups (admin) ----------------------------------------------------------------


def _subgroup_choices() -> list[SelectChoice]:
    subgroups = db.session.scalars(select(Subgroup).order_by(Subgroup.name))
    return select_choices([("", _("Ingen")), *((s.id, s.name) for s in subgroups)])


@bp.route("/users")
@admin_required
def users() -> ResponseReturnValue:
    page = paginate(select(User).order_by(User.active.desc(), User.name), per_page=50)
    return render_template("auth/users.html", page=page, role_labels=ROLE_LABELS)


def _save_user(form: UserForm, user: User | None) -> ResponseReturnValue:
    form.subgroup_id.choices = _subgroup_choices()
    if user is None:
        form.password.validators = [
            DataRequired(_("Ange ett lösenord (minst 8 tecken).")),
            *form.password.validators,
        ]
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/user_form.html", form=form, user=user), status
    if user is not None and user.id == current_user.id:
        # An admin who demotes or deactivates themselves may leave nobody to undo it.
        if form.role.data != Role.ADMIN.value or not form.active.data:
            form.role.errors = [*form.role.errors, _("Du kan inte ta bort din egen admin-roll.")]
            return render_template("auth/user_form.html", form=form, user=user), 422
    subgroup = db.session.get(Subgroup, form.subgroup_id.data) if form.subgroup_id.data else None
    fields = {
        "email": form.email.data,
        "name": form.name.data,
        "role": form.role.data,
        "subgroup": subgroup,
        "employee_number": (form.employee_number.data or "").strip() or None,
        "cost_center": (form.cost_center.data or "").strip() or None,
        "locale": form.locale.data,
    }
    try:
        if user is None:
            user = create_user(password=form.password.data, **fields)
            user.active = bool(form.active.data)
        else:
            update_user(user, active=bool(form.active.data), password=form.password.data, **fields)
    except UserError as exc:
        db.session.rollback()
        form[exc.field].errors = [*form[exc.field].errors, _(exc.message)]
        return render_template("auth/user_form.html", form=form, user=user), 422
    db.session.commit()
    if form.password.data and user.id == current_user.id:
        # A new password ends every session of the user; the admin who set their own stays
        # signed in here (a new session with the new version), nowhere else.
        login_user(user)
    flash(_("Användaren %(name)s är sparad.", name=user.name), "success")
    return redirect(url_for(".users"))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> ResponseReturnValue:
    return _save_user(UserForm(data={"role": "technician", "locale": "sv", "active": True}), None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if request.method == "GET":
        form = UserForm(obj=user)
        form.role.data = user.role.value
    else:
        form = UserForm()
    return _save_user(form, user)


@bp.route("/subgroups", methods=["GET", "POST"])
@admin_required
def subgroups() -> ResponseReturnValue:
    form = SubgroupForm()
    status = 200
    if form.validate_on_submit():
        try:
            subgroup = create_subgroup(form.name.data)
        except UserError as exc:
            db.session.rollback()
            form.name.errors = [*form.name.errors, exc.message]
        else:
            db.session.commit()
            flash(_("Undergruppen %(name)s är skapad.", name=subgroup.name), "success")
            return redirect(url_for(".subgroups"))
    if form.is_submitted():
        status = 422
    rows = db.session.execute(
        select(Subgroup, func.count(User.id))
        .outerjoin(User, User.subgroup_id == Subgroup.id)
        .group_by(Subgroup.id)
        .order_by(Subgroup.name)
    ).all()
    return render_template("auth/subgroups.html", form=form, rows=rows), status
