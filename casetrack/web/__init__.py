"""Blueprints, error pages and template helpers."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from sqlalchemy.exc import OperationalError

from casetrack.db.busy import database_busy
from casetrack.db.intent import outside_write_lock, write_intent
from casetrack.extensions import db, login_manager
from casetrack.i18n import localized
from casetrack.models import User
from casetrack.services import accounts
from casetrack.services.calendar import calendar_known, today
from casetrack.services.cases import whole_number
from casetrack.services.dashboard import DASHBOARD_ROLES
from casetrack.services.errors import ServiceError
from casetrack.services.notices import REPORT_LATE
from casetrack.services.sweep import REVISIT_EVENT
from casetrack.web.inputs import IdConverter, Request, refuse_bad_text, refuse_empty_dates
from casetrack.web.openapi import DESCRIBED

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: str, **extra):
    if request.path.startswith("/open311/"):  # unknown addresses and methods there too
        from casetrack.web.open311 import errors
        return errors(status, [message])
    if wants_json():
        return jsonify(error=code, message=message, **extra), status
    try:
        return render_template("errors/error.html", status=status, message=message), status
    except Exception:  # the error page itself failed: a plain answer, never a traceback
        log.exception("error page failed")
        return message, status, {"Content-Type": "text/plain; charset=utf-8"}


def csrf_refused():
    return error_response(400, "csrf", _("The form expired or came from elsewhere; "
                                         "reload the page and try again."))


def token_user(token: str) -> User | None:
    """The owner of a valid API token, read outside the write lock. The token's last use, when
    due (once a minute), is written in a short transaction of its own before the request's work (call it first):
    a busy database skips it rather than fail the call."""
    with outside_write_lock():
        found = accounts.token_owner(token)
    if found is None:
        return None
    user, token_id = found
    if token_id is not None:
        intent = write_intent.set(True)  # SQLite: the writer lock, not a read upgraded mid-way
        try:
            accounts.note_token_use(token_id)
            db.session.commit()
        except OperationalError as exc:
            db.session.rollback()
            if not database_busy(exc):
                raise
            log.warning("token use not noted, database busy: %s", exc)
        finally:
            write_intent.reset(intent)
    return user


def with_headers_of(exc: HTTPException, answer):
    """Our answer to an HTTP error, with the headers the error carries (a 405's Allow)."""
    response = make_response(answer)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def register(app: Flask) -> None:
    app.request_class = Request
    app.url_map.converters["int"] = IdConverter  # before any route is added
    # api_deadlines, api_shared, api_sheets and api_visits add their routes to api.bp when imported.
    from casetrack.web import (admin, admin_webhooks, api, api_deadlines, api_ledger, api_sheets,  # noqa: F401
                               api_shared, api_visits, auth, boards, case_sheets, cases, ledger, notices, offline,
                               open311, openapi, settings, shared, visits)
    from casetrack.web import api_attachments, api_reports, reports  # noqa: F401 (routes on api.bp)
    from casetrack.web import api_petitions, petitions  # noqa: F401 (api_petitions: routes on api.bp)
    from casetrack.web import assessment

    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(boards.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(visits.bp)
    app.register_blueprint(notices.bp)
    app.register_blueprint(shared.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(assessment.bp)
    app.register_blueprint(openapi.docs)
    app.register_blueprint(open311.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(case_sheets.bp)
    app.register_blueprint(admin_webhooks.bp)
    app.register_blueprint(petitions.bp)
    app.register_blueprint(offline.bp)
    app.register_blueprint(ledger.bp)

    @app.get("/healthz")
    def healthz():
        """For load balancers and the benchmarks: unauthenticated, touches no database."""
        return jsonify(status="ok")

    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(ident: str) -> User | None:
        user_id, _sep, version = ident.partition(":")
        if not whole_number(user_id) or not whole_number(version):
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_version != int(version):
            return None
        return user

    @app.before_request
    def _refuse_bad_input():
        # No text column stores a NUL or a lone surrogate, and XML and Excel refuse control
        # characters: refuse them here, by field, not with a 500 (JSON bodies: StrictJSON).
        if request.method != "GET" and not request.mimetype.startswith(("application/x-www-form", "multipart/")):
            refuse_bad_text(request.args.items(multi=True))
        else:
            refuse_bad_text([*request.args.items(multi=True), *request.form.items(multi=True)])
        if request.endpoint and request.path.startswith(DESCRIBED):
            refuse_empty_dates(app.view_functions[request.endpoint], request.args)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        extra = {"errors": exc.errors} if getattr(exc, "errors", None) else {}
        return error_response(exc.status, exc.code, exc.message, **extra)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        db.session.rollback()
        return csrf_refused()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        messages = {
            400: _("The request could not be understood."),
            401: _("Please log in."),
            403: _("You may not do this."),
            404: _("There is nothing here."),
            405: _("This address does not take that method."),
            413: _("The upload is too large."),
        }
        code = (exc.name or "error").lower().replace(" ", "_")
        return with_headers_of(exc, error_response(exc.code or 500, code, messages.get(exc.code, exc.name or "")))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if database_busy(exc):
            log.warning("database busy on %s %s: %s", request.method, request.path, exc)
            response = make_response(error_response(503, "busy", _("The system is busy; nothing was changed. "
                                                                   "Please try again in a moment.")))
            response.headers["Retry-After"] = "5"
            return response
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "server_error",
                              _("Something went wrong on our side; nothing was changed."))

    app.add_template_global(get_locale)
    app.add_template_global(DASHBOARD_ROLES, "dashboard_roles")
    app.add_template_global(localized)
    app.add_template_global(state_label)
    app.add_template_global(today)
    app.add_template_global(calendar_known)
    app.add_template_global(category_label)
    app.add_template_global(trigger_label)
    app.add_template_global(other_campaigns)

    app.add_template_filter(masked_phone)

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "yyyy-MM-dd HH:mm"):
        return format_datetime(value, fmt) if value else ""


# Events every workflow has, that move no case (services/progress.py).
# Events that do not move a case, named in the reader's language (their triggers are codes).
EVENT_LABELS = {"progress": _l("Progress report"), "feedback": _l("Told the resident"),
                REPORT_LATE: _l("Progress report due"), "supervise": _l("Supervision note"),
                "acknowledge": _l("Supervision note acknowledged"),
                "extension_request": _l("Extension asked"), "extension_approved": _l("Extension approved"),
                "extension_refused": _l("Extension refused"), "link": _l("Linked into a shared problem"),
                "unlink": _l("Taken out of the shared problem")}


def trigger_label(wf, event) -> str:
    """What a timeline event was, in the current language (by the transition it fired)."""
    if event.trigger == "file":
        return _("Filing")
    system = {"overdue": _("Overdue"), "pre_warning": _("Deadline approaching"),
              REVISIT_EVENT: _("Revisit day reached"), **EVENT_LABELS}
    if event.trigger in system:
        return str(system[event.trigger])
    if event.trigger == "take_down":
        return _("Taken down to the grass roots (带案下访)")
    spec = next((t for t in wf.transitions
                 if t.trigger == event.trigger and event.from_state in t.sources), None)
    return localized(spec.label) if spec else event.trigger


def masked_phone(phone: str | None) -> str:
    """A phone as a list shows it: the first three and last four digits (138****0001)."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def category_label(category) -> str:
    return localized({"zh": category.name_zh, "en": category.name_en})


def state_label(case, state: str | None = None) -> str:
    """A state's label in the current language, by the case's workflow (None: the default one)."""
    from casetrack.services.cases import default_workflow, workflow_of
    states = (workflow_of(case) if case is not None else default_workflow()).states
    state = state or case.state
    return localized(states[state].label) if state in states else state


def other_campaigns(user) -> list:
    """The campaigns beside the default one that an office or an inspection unit works in (the
    menu's links to their boards); a department finds them on its own board."""
    from casetrack.services.campaigns import OFFICE_KINDS, campaigns, campaigns_of
    if user.unit is None or user.unit.kind not in OFFICE_KINDS + ("inspection",):
        return []
    return [c for c in campaigns_of(user) if c.code != campaigns().default]
