"""Blueprints, error pages and template helpers."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, request
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from casetrack.db.busy import database_busy
from casetrack.extensions import db, login_manager
from casetrack.i18n import localized
from casetrack.models import User
from casetrack.services.workdays.calendar import calendar_known, today
from casetrack.services.casework.cases import registry, whole_number
from casetrack.services.reports.dashboard import DASHBOARD_ROLES
from casetrack.services.common.errors import ServiceError
from casetrack.web.attachments import process_after_answers
from casetrack.web.inputs import IdConverter, Request, refuse_bad_text, refuse_empty_dates
from casetrack.web.labels import category_label, masked_phone, state_label, trigger_label
from casetrack.web.openapi import DESCRIBED
from casetrack.web.responses import csrf_refused, error_response, with_headers_of

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    app.request_class = Request
    app.url_map.converters["int"] = IdConverter  # before any route is added
    # api_deadlines, api_shared, api_sheets and api_visits add their routes to api.bp when imported.
    from casetrack.web import (admin, admin_webhooks, api, api_deadlines, api_ledger, api_sheets,  # noqa: F401
                               api_shared, api_visits, auth, boards, case_sheets, cases, ledger, notices, offline,
                               open311, openapi, settings, shared, visits)
    from casetrack.web import api_attachments, api_reports, reports  # noqa: F401 (routes on api.bp)
    from casetrack.web import api_petitions, petitions  # noqa: F401 (api_petitions: routes on api.bp)
    from casetrack.web import api_feedback, feedback  # noqa: F401 (api_feedback: routes on api.bp)
    from casetrack.web import assessment, circulars  # circulars: also routes on api.bp

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
    app.register_blueprint(circulars.bp)
    app.register_blueprint(offline.bp)
    app.register_blueprint(ledger.bp)
    app.register_blueprint(feedback.bp)
    process_after_answers(app)  # the photos a request added, once its answer is sent

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
    app.add_template_global(header_campaign)

    app.add_template_filter(masked_phone)

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "yyyy-MM-dd HH:mm"):
        return format_datetime(value, fmt) if value else ""




def header_campaign(user, page_campaign=None, case=None):
    """The campaign a page's header names: the one the page is about (its board, week, circulars,
    a case of it), else the only one whose workflows the user's role acts in when not the default
    (an inspector's); none: the default's header."""
    from casetrack.services.organisation.campaigns import campaigns, campaigns_of
    from casetrack.workflow.campaigns import Campaign
    if isinstance(page_campaign, Campaign):
        return page_campaign
    code = getattr(case, "campaign", None)
    if isinstance(code, str) and code in campaigns().by_code:
        return campaigns().get(code)
    if not getattr(user, "is_authenticated", False) or user.unit is None:
        return None
    key = "casetrack.header_campaign"   # once a request: it reads which campaigns the unit takes part in
    if key not in request.environ:
        mine = [c for c in campaigns_of(user) if any(_acts_in(user.role, registry().latest(w)) for w in c.workflows)]
        request.environ[key] = mine[0] if len(mine) == 1 and mine[0].code != campaigns().default else None
    return request.environ[key]


def _acts_in(role: str, wf) -> bool:
    """The role files or moves cases in the workflow."""
    return role in wf.filing_roles or any(role in t.roles for t in wf.transitions)


def other_campaigns(user) -> list:
    """The campaigns beside the default one that an office or an inspection unit works in (the
    menu's links to their boards); a department finds them on its own board."""
    from casetrack.services.organisation.campaigns import OFFICE_KINDS, campaigns, campaigns_of
    if user.unit is None or user.unit.kind not in OFFICE_KINDS + ("inspection",):
        return []
    return [c for c in campaigns_of(user) if c.code != campaigns().default]
