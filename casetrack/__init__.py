"""casetrack: case tracking for a county's grand-visit campaign (大走访)."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request, session
from flask_babel import refresh
from werkzeug.middleware.proxy_fix import ProxyFix

from casetrack import config, extensions, i18n
from casetrack.db import engine
from casetrack.db.intent import write_intent
from casetrack.extensions import babel, csrf, login_manager, talisman
from casetrack.services.integration import outbound
from casetrack.workflow import Registry
from casetrack.workflow.assessment import assessment_file, load_assessment
from casetrack.workflow.campaigns import load_campaigns
from casetrack.models.visits import TARGET_KINDS

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = {"default-src": "'self'", "object-src": "'none'", "base-uri": "'self'",
       "frame-ancestors": "'none'", "form-action": "'self'", "img-src": "'self' data:"}


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                template_folder=str(config.shipped("templates")))
    config.load(app)
    if overrides:
        app.config.update(overrides)
    engine.configure(app)
    i18n.ensure_catalogues(app)
    outbound.networks(app.config["WEBHOOK_ALLOWED_NETWORKS"])  # a mistyped network stops start-up
    # A broken workflow file stops start-up here, with the file and key in the message.
    app.extensions["casetrack.workflows"] = Registry(app.config["WORKFLOWS_DIR"])
    app.extensions["casetrack.assessment"] = load_assessment(assessment_file(app.config["WORKFLOWS_DIR"]))
    app.extensions["casetrack.campaigns"] = load_campaigns(
        app.config["WORKFLOWS_DIR"], app.extensions["casetrack.workflows"], app.config["WORKFLOW"], TARGET_KINDS)

    # not `db` imported by name: here that would hide the casetrack.db package
    extensions.db.init_app(app)
    csrf.init_app(app)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX"],
                                x_proto=app.config["PROXY_FIX"])
    # Sent on every answer; HSTS only goes out over HTTPS, cookies are Secure when HTTPS is on.
    talisman.init_app(app, force_https=False, session_cookie_secure=app.config["HTTPS"],
                      content_security_policy=CSP, frame_options="DENY",
                      referrer_policy="same-origin", strict_transport_security=True)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    @app.before_request
    def _declare_write_intent():
        # The user and locale are per request, even in an app context that outlives it (tests).
        g.pop("_login_user", None)
        refresh()
        g._write_token = write_intent.set(request.method not in SAFE_METHODS)

    @app.teardown_request
    def _end_write_intent(_exc):
        token = g.pop("_write_token", None)
        if token is not None:
            write_intent.reset(token)

    from casetrack import cli
    from casetrack.services.figures import summaries  # noqa: F401  (keeps the daily figures, session hooks)
    from casetrack.services.casework import shared  # noqa: F401  (registers the after: action resolve_members)
    from casetrack.services.casework import attachments  # noqa: F401  (registers the filing photos' use case)
    from casetrack.web import register
    register(app)
    cli.register(app)
    return app


def select_locale() -> str:
    """The user's choice, else Chinese for any zh* browser, else the browser's best, else Chinese."""
    if not has_request_context():
        return "zh_Hans"
    chosen = session.get("lang")
    if chosen in ("zh_Hans", "en"):
        return chosen
    for lang, _q in request.accept_languages:
        if lang.lower().startswith("zh"):
            return "zh_Hans"
        if lang.lower().startswith("en"):
            return "en"
    return "zh_Hans"
