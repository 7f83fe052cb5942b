"""Log in, log out, choose the language."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from casetrack.extensions import db
from casetrack.services.organisation import accounts, throttle
from casetrack.services.common.errors import TooManyAttempts

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def safe_next(target: str | None) -> str:
    """Only a path on this site, so a login link cannot send people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("cases.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            device_cookie = request.cookies.get(throttle.DEVICE_COOKIE)
            user = accounts.log_in(form.username.data, form.password.data, request.remote_addr or "",
                                   device_cookie)
        except TooManyAttempts as exc:
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 429
        db.session.commit()  # the failure count too
        if user is None:
            flash(_("Wrong username or password."), "error")
        else:
            lang = session.get("lang")
            session.clear()  # a fresh session on login: no fixation
            if lang:
                session["lang"] = lang
            login_user(user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            response = redirect(safe_next(request.args.get("next")))
            # Sent with logins only; it lets this browser past locks that strangers' failures set.
            response.set_cookie(throttle.DEVICE_COOKIE, throttle.remember_device(device_cookie, user),
                                max_age=int(throttle.DEVICE_LIFETIME.total_seconds()),
                                path=url_for("auth.login"), secure=current_app.config["HTTPS"],
                                httponly=True, samesite="Lax")
            return response
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    accounts.end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.post("/lang/<code>")
def set_language(code: str):
    if code in ("zh_Hans", "en"):
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
