"""Open311 GeoReport v2 at /open311/v2: other systems file cases and follow them.

Services are the active categories. Every call but services names a user by one of their API
tokens (`api_key`, a Bearer header, or the password of HTTP Basic auth) and acts with exactly
that user's scope and role: a request outside it is unknown (404). Intake is synchronous, so a
request's token is its id. Answers are JSON or XML by the extension; errors are
[{"code", "description"}] (XML: <errors><error>...).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from casetrack.extensions import csrf, db
from casetrack.i18n import localized
from casetrack.models import Case, Category, Unit
from casetrack.services.calendar import SHANGHAI, now
from casetrack.services.cases import MAX_ID, file_case, get_case, scoped_cases, whole_number, workflow_of
from casetrack.services.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from casetrack.services.org import active_categories
from casetrack.services.text import printable
from casetrack.web import token_user, with_headers_of
from casetrack.web.openapi import doc

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
csrf.exempt(bp)

WINDOW = timedelta(days=90)   # the spec's default and widest date range
LIMIT = 1000                  # the spec's most requests per answer
FORMATS = ("json", "xml")


def _answer(item: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    """An answer as the spec gives it: a JSON list, or the same rows as XML."""
    return {"description": description, "content": {
        "application/json": {"schema": {"type": "array", "items": item}},
        "text/xml": {"schema": {"type": "string"}}}}


ERRORS = _answer({"type": "object", "required": ["code", "description"],
                  "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
                 "Errors as the spec gives them")
FMT = {"name": "fmt", "in": "path", "required": True, "schema": {"type": "string", "enum": list(FORMATS)}}
REQUEST = {"type": "object", "required": ["service_request_id", "status"], "properties": {
    "service_request_id": {"type": "integer"}, "status": {"type": "string", "enum": ["open", "closed"]},
    "status_notes": {"type": "string"}, "service_name": {"type": "string"}, "service_code": {"type": "string"},
    "description": {"type": "string"}, "agency_responsible": {"type": "string"},
    "service_notice": {"type": "string"}, "requested_datetime": {"type": "string", "format": "date-time"},
    "updated_datetime": {"type": "string", "format": "date-time"},
    "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
    "address": {"type": "string"}, "address_id": {"type": "string"}, "zipcode": {"type": "string"},
    "lat": {"type": ["number", "null"]}, "long": {"type": ["number", "null"]}, "media_url": {"type": "string"}}}
TOKEN = {"type": "object", "required": ["service_request_id", "token"], "properties": {
    "service_request_id": {"type": "integer"}, "token": {"type": "string"}}}


def errs(*codes: int) -> dict[str, Any]:
    return {str(code): ERRORS for code in (400, *codes)}


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


# -- answers -------------------------------------------------------------------------------

def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> Response:
    top = ElementTree.Element(root)
    for row in rows:
        node = ElementTree.SubElement(top, item)
        for key, value in row.items():
            # printable: a control character stored before input was checked would make the
            # whole list malformed XML
            ElementTree.SubElement(node, key).text = "" if value is None else printable(str(value))
    body = ElementTree.tostring(top, encoding="unicode")
    return Response('<?xml version="1.0" encoding="utf-8"?>' + body, mimetype="text/xml")


def answer(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200):
    if fmt == "xml":
        response = _xml(root, item, rows)
        response.status_code = status
        return response
    return jsonify(rows), status


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in FORMATS else "json"


def errors(status: int, messages: list[str]):
    return answer(_fmt(), "errors", "error", [{"code": status, "description": m} for m in messages], status)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()
    if isinstance(exc, ValidationFailed):  # the spec answers bad input with 400, one error per field
        return errors(400, [f"{field}: {message}" for field, message in exc.errors.items()])
    return errors(exc.status, [exc.message])


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    db.session.rollback()
    return with_headers_of(exc, errors(exc.code or 500, [exc.description or exc.name]))


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(_("Answers come as .json or .xml."))


# -- who is asking -------------------------------------------------------------------------

def api_user():
    """The user whose API token came with the request; none or a revoked one: 401."""
    token = request.values.get("api_key", "")
    if not token:
        scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
        elif request.authorization and request.authorization.type == "basic":
            token = request.authorization.password or ""
    user = token_user(token) if token else None
    if user is None:
        raise Unauthorized(_("A valid api_key (one of your API tokens) is needed."))
    return user


# -- shapes --------------------------------------------------------------------------------

def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


def request_json(case: Case) -> dict[str, Any]:
    wf = workflow_of(case)
    state = wf.states[case.state]
    deadline = datetime.combine(case.deadline, time(23, 59, 59), SHANGHAI) if case.deadline else None
    return {
        "service_request_id": case.id,
        "status": "closed" if state.final else "open",
        "status_notes": f"{case.state}: {localized(state.label)}",
        "service_name": localized({"zh": case.category.name_zh, "en": case.category.name_en}),
        "service_code": case.category.code,
        "description": case.description or case.title,
        "agency_responsible": case.unit.name,
        "service_notice": "",
        "requested_datetime": _w3c(case.created_at),
        "updated_datetime": _w3c(case.updated_at),
        "expected_datetime": _w3c(deadline),
        "address": case.resident_address,
        "address_id": "",
        "zipcode": "",
        "lat": None,
        "long": None,
        "media_url": "",
    }


# -- routes --------------------------------------------------------------------------------

@bp.get("/services.<fmt>")
@doc(summary="Open311: the categories as services", tags=["open311"], security=[],
     parameters=[FMT, {"name": "jurisdiction_id", "in": "query", "schema": {"type": "string"},
                       "description": "accepted and ignored: one jurisdiction per deployment"}],
     responses={"200": _answer({"type": "object", "required": ["service_code", "service_name"], "properties": {
         "service_code": {"type": "string"}, "service_name": {"type": "string"},
         "description": {"type": "string"}, "metadata": {"type": "string"}, "type": {"type": "string"},
         "keywords": {"type": "string"}, "group": {"type": "string"}}}), **errs(404)})
def services(fmt: str):
    _check_format(fmt)
    return answer(fmt, "services", "service", [
        {"service_code": c.code, "service_name": localized({"zh": c.name_zh, "en": c.name_en}),
         "description": f"{c.name_zh} / {c.name_en}", "metadata": "false", "type": "realtime",
         "keywords": "", "group": ""} for c in active_categories()])


def _datetime(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        # Years as parse_day takes them: 9999-12-31T23:59:59-12:00 would overflow in UTC, and
        # the 90-day window's arithmetic near year 1 or 9999.
        if not 1900 <= moment.year <= 2999:
            raise ValueError(raw)
    except ValueError:
        raise ValidationFailed({name: _("A W3C date and time like 2026-07-01T00:00:00Z, please.")}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _list(name: str) -> list[str]:
    return [v.strip() for v in request.args.get(name, "").split(",") if v.strip()]


@bp.get("/requests.<fmt>")
@doc(summary="Open311: requests in my scope (90 days by default, at most 1,000)", tags=["open311"],
     parameters=[FMT, *({"name": n, "in": "query", "schema": sch} for n, sch in [
         ("api_key", {"type": "string"}), ("service_request_id", {"type": "string"}),
         ("service_code", {"type": "string"}), ("status", {"type": "string"}),
         ("start_date", {"type": "string", "format": "date-time"}),
         ("end_date", {"type": "string", "format": "date-time"})])],
     responses={"200": _answer(REQUEST), **errs(400, 401, 404)})
def requests_(fmt: str):
    """Requests in the user's scope: by ids, or filed within a window of at most 90 days."""
    _check_format(fmt)
    user = api_user()
    stmt = scoped_cases(user)
    ids = _list("service_request_id")
    if ids:
        if not all(whole_number(i) for i in ids):
            raise ValidationFailed({"service_request_id": _("Numbers separated by commas, please.")})
        # an id past MAX_ID names no row (and would overflow PostgreSQL's INTEGER)
        stmt = stmt.where(Case.id.in_([int(i) for i in ids if int(i) <= MAX_ID]))
    else:
        end, start = _datetime("end_date"), _datetime("start_date")
        end = end or (start + WINDOW if start else now())
        start = start or end - WINDOW
        if start > end or end - start > WINDOW:
            raise ValidationFailed({"start_date": _("The range may span at most 90 days.")})
        stmt = stmt.where(Case.created_at >= start.astimezone(timezone.utc),
                          Case.created_at <= end.astimezone(timezone.utc))
        codes = _list("service_code")
        if codes:
            stmt = stmt.where(Case.category_id.in_(select(Category.id).where(Category.code.in_(codes))))
        statuses = set(_list("status"))
        if statuses - {"open", "closed"}:
            raise ValidationFailed({"status": _("open or closed, please.")})
        if len(statuses) == 1:
            final = [s.name for s in _final_states()]
            stmt = stmt.where(Case.state.in_(final) if statuses == {"closed"} else Case.state.not_in(final))
    cases = db.session.scalars(stmt.order_by(Case.id.desc()).limit(LIMIT))
    return answer(fmt, "service_requests", "request", [request_json(c) for c in cases])


def _final_states():
    from casetrack.services.cases import default_workflow
    return [s for s in default_workflow().states.values() if s.final]


@bp.post("/requests.<fmt>")
@doc(summary="Open311: file a request as the api_key's user", tags=["open311"], parameters=[FMT],
     requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
         "type": "object", "required": ["service_code"], "properties": {n: {"type": "string"} for n in (
             "api_key", "service_code", "description", "first_name", "last_name", "phone", "email",
             "address_string", "attribute[title]", "attribute[kind]", "attribute[group]")}}}}},
     responses={"200": _answer({"type": "object", "required": ["service_request_id"], "properties": {
         "service_request_id": {"type": "integer"}, "token": {"type": "string"},
         "service_notice": {"type": "string"}, "account_id": {"type": ["string", "null"]}}}),
         **errs(400, 401, 403, 404, 409)})
def create_request(fmt: str):
    """File a case as the api_key's user, in their group (attribute[group] may only name it)."""
    _check_format(fmt)
    user = api_user()
    form = request.form
    group = form.get("attribute[group]", "").strip()
    if group and (user.unit is None or user.unit.code != group):
        known = db.session.scalars(select(Unit).where(Unit.code == group, Unit.kind == "group")).first()
        if known is None:
            raise ValidationFailed({"attribute[group]": _("No such group.")})
        raise Forbidden(_("You may file only in your own group."))
    description = form.get("description", "").strip()
    name = " ".join(p for p in (form.get("first_name", "").strip(), form.get("last_name", "").strip()) if p)
    case = file_case(user, title=form.get("attribute[title]", "").strip() or description[:200],
                     description=description, category=form.get("service_code", ""),
                     kind=form.get("attribute[kind]", "individual") or "individual",
                     resident={"name": name, "phone": form.get("phone", "").strip(),
                               "address": form.get("address_string", "").strip()})
    db.session.commit()
    return answer(fmt, "service_requests", "request", [
        {"service_request_id": case.id, "token": str(case.id), "service_notice": "",
         "account_id": None}])


@bp.get("/requests/<int:case_id>.<fmt>")
@doc(summary="Open311: one request", tags=["open311"], parameters=[FMT],
     responses={"200": _answer(REQUEST), **errs(401, 404)})
def request_(case_id: int, fmt: str):
    _check_format(fmt)
    return answer(fmt, "service_requests", "request", [request_json(get_case(api_user(), case_id))])


@bp.get("/tokens/<token>.<fmt>")
@doc(summary="Open311: the request of a token (the token is the request's id)", tags=["open311"],
     parameters=[FMT], responses={"200": _answer(TOKEN), **errs(401, 404)})
def token(token: str, fmt: str):
    """The request a token stands for (intake is synchronous: the token is the id)."""
    _check_format(fmt)
    if not whole_number(token):
        raise NotFound(_("No such token."))
    case = get_case(api_user(), int(token))
    return answer(fmt, "service_requests", "request", [{"service_request_id": case.id, "token": token}])
