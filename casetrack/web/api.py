"""JSON API under /api/v1, with bearer-token authentication, or the page session for the app's own
scripts when they send its CSRF token in a header."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casetrack.extensions import csrf, db
from casetrack.models import Attachment, Case, Unit, User
from casetrack.services.organisation import accounts
from casetrack.services.casework import progress as reports
from casetrack.services.casework.attachments import case_attachments, decode_photos
from casetrack.services.casework.cases import MAX_ID, MAX_TEXT, allowed_triggers, assists_of, case_events, case_to_fire, file_case, fire, get_case, workflow_of
from casetrack.services.workdays.clock import clock_json, pending_extensions
from casetrack.services.common.errors import NotFound, ServiceError, ValidationFailed
from casetrack.services.common.location import place_json
from casetrack.services.organisation.org import active_categories
from casetrack.services.casework.queries import CaseFilters, list_cases
from casetrack.services.workdays.calendar import parse_day, today
from casetrack.web.responses import csrf_refused, error_response
from casetrack.web.tokens import token_user
from casetrack.web.idempotency import PARAMETER as IDEMPOTENCY
from casetrack.web.idempotency import once
from casetrack.web.openapi import doc, json_body, openapi_json, ref, responses
from casetrack.i18n import localized

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.create_token", "api.openapi"}


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if "Authorization" not in request.headers and CSRF_HEADER in request.headers:
        return _session_user()
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    user = token_user(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if user is None:
        return error_response(401, "unauthorized", _("A valid API token is needed: "
                                                     "Authorization: Bearer <token>."))
    g.api_user = user
    return None


CSRF_HEADER = "X-CSRFToken"


def _session_user():
    """The logged-in user of a page's script (the offline queue of static/offline.js): the CSRF
    token in a header proves the request comes from our own page, so a cookie alone never acts."""
    origin = request.headers.get("Origin")
    try:
        validate_csrf(request.headers.get(CSRF_HEADER))
    except ValidationError:
        return csrf_refused()
    if origin is not None and origin.rstrip("/") != request.host_url.rstrip("/"):
        return csrf_refused()
    if not current_user.is_authenticated:
        return error_response(401, "unauthorized", _("Please log in."))
    g.api_user = current_user._get_current_object()
    return None


def body() -> dict[str, Any]:
    """The JSON object sent, read by StrictJSON (casetrack.web.inputs), which refuses what no
    one types."""
    data = request.get_json()
    if not isinstance(data, dict):
        raise ServiceError(_("The body must be a JSON object."))
    return data


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role, "post": user.post,
            "unit": user.unit.code if user.unit else None,
            "unit_name": user.unit.name if user.unit else None}


def unit_json(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent": unit.parent.code if unit.parent else None}


def case_json(case: Case, **pending) -> dict[str, Any]:
    """The case as the API shows it; a list passes `pending=` looked up for the whole page."""
    wf = workflow_of(case)
    clock = clock_json(case, wf, **pending)
    return {
        "id": case.id, "title": case.title, "description": case.description,
        "category": case.category.code, "kind": case.kind, "urgency": case.urgency, "state": case.state,
        "state_label": wf.states[case.state].label,
        "unit": case.unit.code, "unit_name": case.unit.name, "group": case.group.code,
        "department": case.department.code if case.department else None,
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "overdue": clock.pop("overdue"),
        "revisit_on": case.revisit_on.isoformat() if case.revisit_on else None,
        "funds": str(case.funds) if case.funds is not None else None,
        "donations": str(case.donations) if case.donations is not None else None,
        "resident": {"name": case.resident_name, "phone": case.resident_phone,
                     "address": case.resident_address, "email": case.resident_email,
                     "id_tail": case.resident_id_tail},
        "location": place_json(case.lat, case.long, case.location_accuracy), "address": case.address,
        "target": case.target_id, "visit": case.visit_id, "found_on": case.found_on.isoformat(),
        "source": case.source, "campaign": case.campaign,
        "owner": case.owner.username if case.owner_id else None,
        "workflow": case.workflow, "workflow_version": case.workflow_version,
        "version": case.version,
        "created_at": case.created_at.isoformat(), "updated_at": case.updated_at.isoformat(),
        **clock,
    }


@bp.post("/tokens")
@doc(summary="Exchange a username and password for an API token (shown once)", security=[],
     tags=["auth"],
     requestBody={"required": True, "content": {"application/json": {"schema": {
         "type": "object", "required": ["username", "password"],
         "properties": {"username": {"type": "string"}, "password": {"type": "string"},
                        "name": {"type": "string", "description": "what the token is for"},
                        "expires_in_days": {"type": ["integer", "null"], "minimum": 1,
                                            "maximum": accounts.MAX_TOKEN_DAYS,
                                            "description": "refused after so many days; none: until revoked"}}}}}},
     responses=responses(("201", json_body({"type": "object", "required": [
         "token", "name", "created_at", "expires_at", "user"], "properties": {
         "token": {"type": "string"}, "name": {"type": "string"},
         "created_at": {"type": "string", "format": "date-time"},
         "expires_at": {"type": ["string", "null"], "format": "date-time"},
         "user": ref("User")}}, "The new token")), 400, 422, 429))
def create_token():
    """A new token; a password reset, a deactivation or the settings page revokes it."""
    data = body()
    username, password, days = data.get("username"), data.get("password"), data.get("expires_in_days")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ValidationFailed({"username": _("Please fill this in."),
                                "password": _("Please fill this in.")})
    days = accounts.token_days(days)  # before the password is checked, so a typo costs no attempt
    user = accounts.log_in(username, password, request.remote_addr or "")
    if user is None:
        db.session.commit()  # keep the failure count
        return error_response(401, "unauthorized", _("Wrong username or password."))
    token, row = accounts.issue_token(user, str(data.get("name") or "api"), days)
    db.session.commit()
    return jsonify(token=token, name=row.name, created_at=row.created_at.isoformat(),
                   expires_at=row.expires_at.isoformat() if row.expires_at else None,
                   user=user_json(user)), 201


@bp.get("/openapi.json")
@doc(summary="This description of the API", security=[], tags=["meta"],
     responses={"200": json_body({"type": "object"}, "OpenAPI 3.1")})
def openapi():
    return openapi_json()


@bp.get("/me")
@doc(summary="The token's owner", tags=["auth"], responses=responses(("200", json_body(ref("User")))))
def me():
    return jsonify(user_json(g.api_user))


@bp.get("/categories")
@doc(summary="Active case categories", tags=["org"], responses=responses(("200", json_body({
    "type": "object", "required": ["categories"],
    "properties": {"categories": {"type": "array", "items": ref("Category")}}}))))
def categories():
    return jsonify(categories=[{"code": c.code, "name": {"zh": c.name_zh, "en": c.name_en}}
                               for c in active_categories()])


@bp.get("/units")
@doc(summary="Active units, in tree order", tags=["org"],
     parameters=[{"name": "kind", "in": "query", "schema": {"type": "string"},
                  "description": "only units of this kind (group, team, department, county...)"}],
     responses=responses(("200", json_body({"type": "object", "required": ["units"], "properties": {
         "units": {"type": "array", "items": ref("Unit")}}}))))
def units():
    stmt = select(Unit).where(Unit.active.is_(True)).order_by(Unit.path)
    if request.args.get("kind"):
        stmt = stmt.where(Unit.kind == request.args["kind"])
    return jsonify(units=[unit_json(u) for u in db.session.scalars(stmt)])


@bp.post("/cases")
@doc(summary="File a case (work-group cadres; a case of another workflow, e.g. \"petition\": "
             "the roles its file names)", tags=["cases"], parameters=[IDEMPOTENCY],
     requestBody={"required": True, "content": {"application/json": {"schema": ref("NewCase")}}},
     responses={**responses(("201", json_body(ref("Case"), "Filed")), 400, 403, 422),
                "201": {**json_body(ref("Case"), "Filed"),
                        "headers": {"Location": {"schema": {"type": "string"}}}}})
def create_case():
    data = body()
    fields = {"title", "description", "category", "kind", "resident", "target", "visit", "location", "address",
              "workflow", "urgency", "found_on", "campaign", "photos"}
    filing = {"department"}   # a workflow's filing fields (workflows/*.yaml, filing.fields)
    unknown = {k: _("This action takes no such field.") for k in data if k not in fields | filing}
    if unknown:
        raise ValidationFailed(unknown)

    def file():
        case = file_case(g.api_user, title=data.get("title"), description=data.get("description", ""),
                         category=data.get("category"), kind=data.get("kind"),
                         resident=data.get("resident"), target=data.get("target"),
                         visit=data.get("visit"), location=data.get("location"),
                         address=data.get("address"), workflow=data.get("workflow"),
                         urgency=data.get("urgency"), found_on=data.get("found_on"),
                         campaign=data.get("campaign"), photos=decode_photos(data.get("photos")),
                         fields={k: v for k, v in data.items() if k in filing})
        # A case filed just now has no extension pending: no query for it.
        return case_json(case, pending=None), 201, {"Location": url_for(".case", case_id=case.id)}
    return once("create_case", data, file)


@bp.get("/campaigns")
@doc(summary="The campaigns of this deployment (the grand visit, the civilized-city rectification...)",
     tags=["org"], responses=responses(("200", json_body({
         "type": "object", "required": ["items"],
         "properties": {"items": {"type": "array", "items": ref("Campaign")}}}))))
def campaigns():
    from casetrack.services.organisation.campaigns import campaigns as all_campaigns
    from casetrack.services.organisation.campaigns import takes_part
    every = all_campaigns()
    return jsonify(items=[{"code": c.code, "name": localized(c.name), "label": c.name, "workflow": c.workflow,
                           "workflows": list(c.workflows), "categories": list(c.categories),
                           "target_kinds": list(c.target_kinds), "default": c.code == every.default,
                           "checklists": {kind: [{"code": i.code, "label": i.label, "category": i.category}
                                                 for i in items.values()] for kind, items in c.checklists.items()},
                           "mine": takes_part(g.api_user.unit, c)} for c in every.by_code.values()])


@bp.post("/inspections")
@doc(summary="Inspect a site against its kind's checklist: every item pass or fail; one problem filed per "
             "failed item (with its photos), assigned to the site's responsible unit", tags=["cases"],
     parameters=[IDEMPOTENCY],
     requestBody={"required": True, "content": {"application/json": {"schema": ref("NewInspection")}}},
     responses=responses(("201", json_body(ref("Inspection"), "Recorded")), 400, 403, 422))
def create_inspection():
    from casetrack.services.fieldwork.inspections import inspect_site
    data = body()
    unknown = {k: _("This action takes no such field.") for k in data
               if k not in ("campaign", "site", "results", "problems", "date")}
    if unknown:
        raise ValidationFailed(unknown)

    def record():
        row = inspect_site(g.api_user, data.get("campaign"), data.get("site"), data.get("results"),
                           data.get("problems"), data.get("date"))
        return {"id": row.id, "campaign": row.campaign, "site": row.target_id,
                "date": row.inspected_on.isoformat(), "results": row.results, "cases": row.cases}, 201, {}
    return once("create_inspection", data, record)


@bp.get("/campaigns/<code>/pairs")
@doc(summary="The county units paired with each community (包抓共建) in a campaign, of my county", tags=["org"],
     responses=responses(("200", json_body(ref("Pairs"))), 404))
def campaign_pairs(code: str):
    from casetrack.services.organisation.campaigns import pairs_of
    chosen = _campaign_or_404(code)
    return jsonify(items=[{"community": c, "units": [u.code for u in units]}
                          for c, units in pairs_of(g.api_user, chosen).items()])


@bp.put("/campaigns/<code>/pairs")
@doc(summary="Pair a community with county units (包抓单位), in place of those before: the county office",
     tags=["org"], requestBody={"required": True, "content": {"application/json": {"schema": {
         "type": "object", "required": ["community", "units"], "additionalProperties": False, "properties": {
             "community": {"type": "string", "maxLength": 80},
             "units": {"type": "array", "items": {"type": "string"}}}}}}},
     responses=responses(("200", json_body(ref("Pairs"))), 400, 403, 404, 422))
def set_campaign_pairs(code: str):
    from casetrack.services.organisation.campaigns import pair
    chosen = _campaign_or_404(code)
    data = body()
    unknown = {k: _("This action takes no such field.") for k in data if k not in ("community", "units")}
    if unknown:
        raise ValidationFailed(unknown)
    units = pair(g.api_user, chosen, data.get("community"), data.get("units"))
    db.session.commit()
    return jsonify(items=[{"community": data["community"].strip(), "units": [u.code for u in units]}])


def _campaign_or_404(code: str):
    from casetrack.services.organisation.campaigns import campaigns as all_campaigns
    if code not in all_campaigns().by_code:
        raise NotFound(_("No such campaign."))
    return all_campaigns().get(code)


@bp.get("/campaigns/<code>/week")
@doc(summary="A campaign's week by responsible unit (周通报): assigned, rectified, struck off, sent back, "
             "flagged overdue, the rate to date and its rank; the sites with most problems", tags=["reports"],
     parameters=[{"name": "date", "in": "query", "schema": {"type": "string", "format": "date"},
                  "description": "a day of the week (default today)"}],
     responses=responses(("200", json_body(ref("CampaignWeek"))), 404, 422))
def campaign_week(code: str):
    from casetrack.services.reports.campaign_week import week_figures
    return jsonify(week_figures(g.api_user, _campaign_or_404(code), report_day(request.args.get("date"))))


def report_day(value: Any, field: str = "date"):
    """A report's day from the query string (its `field`): today when not given; a bad one refused."""
    if value in (None, ""):
        return today()
    try:
        return parse_day(value)
    except ValueError:
        raise ValidationFailed({field: _("A date like 2026-07-31, please.")}) from None


@bp.get("/cases")
@doc(summary="The cases in my scope, filtered, newest first, by keyset pages", tags=["cases"],
     parameters=[{"name": n, "in": "query", "schema": s, "description": d} for n, s, d in [
         ("campaign", {"type": "string"}, "a campaign's code: only its cases (default: every campaign's)"),
         ("state", {"type": "string"}, "a workflow state"),
         ("category", {"type": "string"}, "a category code"),
         ("kind", {"type": "string", "enum": ["individual", "shared"]}, ""),
         ("unit", {"type": "string"}, "a unit code: the cases of that unit"),
         ("overdue", {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]}, ""),
         ("due_soon", {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]},
          "the pre-warning day has come, the deadline not passed"),
         ("held_by", {"type": "string"}, "a unit code: the cases that unit holds now"),
         ("flagged_at", {"type": "string", "format": "date-time"},
          "flagged overdue or pre-warned by the sweep run of that time (a digest notice's link)"),
         ("q", {"type": "string"}, "words in the title or description, or a resident's name, phone number, address or village"),
         ("date_from", {"type": "string", "format": "date"}, "filed on or after (Asia/Shanghai)"),
         ("date_to", {"type": "string", "format": "date"}, "filed on or before (Asia/Shanghai)"),
         ("cursor", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "from the previous page"),
         ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "page size (at most 200)")]],
     responses=responses(("200", json_body(ref("CaseList"))), 422))
def cases():
    filters = CaseFilters.from_args(request.args)
    page, cursor = list_cases(g.api_user, filters, selectinload(Case.department),
                              selectinload(Case.parent))
    nxt = url_for(".cases", **{**request.args.to_dict(), "cursor": cursor}) if cursor else None
    pending = pending_extensions(page)
    return jsonify(cases=[case_json(c, pending=pending.get(c.id)) for c in page], next=nxt,
                   cursor=str(cursor) if cursor else None)


@bp.get("/cases/<int:case_id>")
@doc(summary="A case in my scope, with its timeline and the triggers I may fire", tags=["cases"],
     responses=responses(("200", json_body(ref("CaseDetail"))), 404))
def case(case_id: int):
    row = get_case(g.api_user, case_id)
    return jsonify({**case_json(row), "events": [event_json(e) for e in case_events(row)],
                    "allowed": [t.trigger for t in allowed_triggers(row, g.api_user)],
                    "assisting": [u.code for u in assists_of(row)],
                    "attachments": [attachment_json(a) for a in case_attachments(row)]})


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    return {"id": attachment.id, "url": url_for("api.attachment", attachment_id=attachment.id),
            "thumbnail_url": url_for("api.attachment_thumbnail", attachment_id=attachment.id)
            if attachment.is_image else None,
            "content_type": attachment.content_type, "size": attachment.size, "stage": attachment.stage,
            "caption": attachment.caption, "filename": attachment.filename, "event": attachment.event_id,
            "created_at": attachment.created_at.isoformat()}


def event_json(event) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat(), "trigger": event.trigger,
            "actor": event.actor.username if event.actor else None,
            "from_state": event.from_state, "to_state": event.to_state,
            "from_unit": event.from_unit.code if event.from_unit else None,
            "to_unit": event.to_unit.code, "data": event.data}


@bp.post("/cases/<int:case_id>/transitions")
@doc(summary="Fire a transition (escalate, refer, resolve...) on a case", tags=["cases"],
     requestBody={"required": True, "content": {"application/json": {"schema": ref("Transition")}}},
     responses=responses(("200", json_body(ref("CaseAfterTransition"))), 400, 403, 404, 409, 422))
def transition(case_id: int):
    data = body()
    row = case_to_fire(g.api_user, case_id)
    trigger = data.pop("trigger", None)
    version = data.pop("version", None)
    if version is None:
        raise ValidationFailed({"version": _("The version of the case you read is needed.")})
    fire(row, trigger, g.api_user, version=version, **data)
    db.session.commit()
    return jsonify({**case_json(row), "allowed": [t.trigger for t in allowed_triggers(row, g.api_user)]})


REPORT_DATE = {"type": "string", "format": "date", "description": "the day reported on (default today)"}


@bp.post("/cases/<int:case_id>/progress")
@doc(summary="Add a dated progress report (进展反馈) to a case without moving it: its holder or an "
             "assisting department", tags=["cases"],
     requestBody={"required": True, "content": {"application/json": {"schema": {
         "type": "object", "required": ["text"], "additionalProperties": False,
         "properties": {"text": {"type": "string", "maxLength": MAX_TEXT}, "date": REPORT_DATE}}}}},
     responses=responses(("201", json_body(ref("Event"))), 400, 403, 404, 422))
def progress(case_id: int):
    row = get_case(g.api_user, case_id)
    data = body()
    event = reports.add_progress(g.api_user, row, **{"text": None, **data})
    db.session.commit()
    return jsonify(event_json(event)), 201


@bp.post("/cases/<int:case_id>/feedback")
@doc(summary="Record that the filing group told the resident the answer (反馈群众)", tags=["cases"],
     requestBody={"required": True, "content": {"application/json": {"schema": {
         "type": "object", "required": ["text", "how"], "additionalProperties": False,
         "properties": {"text": {"type": "string", "maxLength": MAX_TEXT, "description": "what was said"},
                        "how": {"type": "string", "enum": list(reports.HOW)}, "date": REPORT_DATE}}}}},
     responses=responses(("201", json_body(ref("Event"))), 400, 403, 404, 422))
def feedback(case_id: int):
    row = get_case(g.api_user, case_id)
    data = body()
    event = reports.record_feedback(g.api_user, row, **{"text": None, "how": None, **data})
    db.session.commit()
    return jsonify(event_json(event)), 201

