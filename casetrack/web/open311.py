"""Open311 GeoReport v2 at /open311/v2 (and its discovery at /open311/discovery.json): other
systems file cases and follow them.

Services are the active categories; the discovery, the service list and the service
definitions are public (no personal data in them). Requests carry residents' data: reading them
names a user by one of their API tokens (`api_key`, a Bearer header, or the password of HTTP
Basic auth) and acts with exactly that user's scope and role (a request outside it is unknown:
404); a deployment that sets OPEN311_PUBLIC_READS lets key-less reads see the requests of its
jurisdiction without anything personal. Filing always needs a key. Intake is synchronous, so a
request's token is its id. Answers are JSON or XML by the extension; every error under /open311,
an unknown address or method included, is [{"code", "description"}] (XML:
<errors><error>...) in the format asked for.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import false, select

from casetrack.extensions import csrf, db
from casetrack.i18n import localized
from casetrack.models import Case, Category, Unit, User
from casetrack.services.workdays.calendar import SHANGHAI, now
from casetrack.services.casework.cases import (MAX_ID, file_case, scoped_cases, unit_filter, whole_number,
                                      workflow_of)
from casetrack.services.common.errors import Forbidden, NotFound, ServiceError, ValidationFailed
from casetrack.services.common.location import MAX_ADDRESS, coordinate, parse_address, parse_media_url
from casetrack.services.organisation.org import active_categories
from casetrack.services.common.text import printable
from casetrack.web.responses import ERROR_FORMATS
from casetrack.web.tokens import token_user
from casetrack.web.openapi import doc

bp = Blueprint("open311", __name__, url_prefix="/open311")
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-20T00:00:00Z"  # when the endpoint's behaviour last changed (discovery)
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
    "lat": {"type": ["number", "null"], "description": "WGS-84"}, "long": {"type": ["number", "null"]},
    "media_url": {"type": "string"},
    "name": {"type": "string", "description": "the resident (last_name + first_name); with an api_key only"},
    "phone": {"type": "string", "description": "with an api_key only"},
    "email": {"type": "string", "description": "with an api_key only"}}}
TOKEN = {"type": "object", "required": ["service_request_id", "token"], "properties": {
    "service_request_id": {"type": "integer"}, "token": {"type": "string"}}}


def errs(*codes: int) -> dict[str, Any]:
    return {str(code): ERRORS for code in (400, 500, *codes)}


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


# -- answers -------------------------------------------------------------------------------

# The element of one item of a list, in the XML the spec gives.
ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _node(parent, tag: str, value: Any) -> None:
    node = ElementTree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _node(node, key, item)
    elif isinstance(value, list):
        for item in value:
            _node(node, ITEMS.get(tag, "item"), item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    else:
        # printable: a control character stored before input was checked would make the
        # whole answer malformed XML
        node.text = "" if value is None else printable(str(value))


def _xml(root: str, item: str | None, rows: list[dict[str, Any]] | dict[str, Any]) -> Response:
    top = ElementTree.Element(root)
    if isinstance(rows, dict):  # one document (a service definition, the discovery)
        for key, value in rows.items():
            _node(top, key, value)
    else:
        for row in rows:
            _node(top, item, row)
    body = ElementTree.tostring(top, encoding="unicode")
    return Response('<?xml version="1.0" encoding="utf-8"?>' + body, mimetype="text/xml")


def answer(fmt: str, root: str, item: str | None, rows, status: int = 200):
    if fmt == "xml":
        response = _xml(root, item, rows)
        response.status_code = status
        return response
    return jsonify(rows), status


def _fmt() -> str:
    """The format asked for: by the route's extension, or (no route matched) the path's."""
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return fmt
    return "xml" if request.path.lower().endswith(".xml") else "json"


def errors(status: int, messages: list[str]):
    response = answer(_fmt(), "errors", "error", [{"code": status, "description": m} for m in messages], status)
    if status == 401:
        response = current_app.make_response(response)
        response.headers["WWW-Authenticate"] = 'Basic realm="open311"'
    return response


ERROR_FORMATS[bp.url_prefix + "/"] = errors


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()
    if isinstance(exc, ValidationFailed):  # the spec answers bad input with 400, one error per field
        return errors(400, [f"{field}: {message}" for field, message in exc.errors.items()])
    return errors(exc.status, [exc.message])


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(_("Answers come as .json or .xml."))


@bp.before_request
def _one_jurisdiction():
    """A jurisdiction_id other than this deployment's names nothing here."""
    asked = request.values.get("jurisdiction_id", "").strip()
    if asked and (jurisdiction() is None or asked != jurisdiction().code):
        raise NotFound(_("No such jurisdiction: this endpoint serves %(code)s.",
                         code=jurisdiction().code if jurisdiction() else "-"))


def jurisdiction() -> Unit | None:
    """The unit this endpoint serves: OPEN311_JURISDICTION (a unit's code), else the one unit at
    the top of the tree (none when there are several)."""
    code = current_app.config.get("OPEN311_JURISDICTION")
    stmt = select(Unit).where(Unit.code == code) if code else select(Unit).where(Unit.parent_id.is_(None)).limit(2)
    units = list(db.session.scalars(stmt))
    return units[0] if len(units) == 1 else None


# -- who is asking -------------------------------------------------------------------------

def _key() -> str:
    token = request.values.get("api_key", "")
    if not token:
        scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
        elif request.authorization and request.authorization.type == "basic":
            token = request.authorization.password or ""
    return token


def api_user() -> User:
    """The user whose API token came with the request; none or a revoked one: 401."""
    token = _key()
    user = token_user(token) if token else None
    if user is None:
        raise Unauthorized(_("A valid api_key (one of your API tokens) is needed: pass it as the api_key "
                             "parameter, or as the password of HTTP Basic auth."))
    return user


def reader() -> User | None:
    """Who reads requests: the key's user, or nobody (None) where OPEN311_PUBLIC_READS lets
    key-less reads see the jurisdiction's requests without their personal fields."""
    if not _key() and current_app.config.get("OPEN311_PUBLIC_READS"):
        return None
    return api_user()


def readable(user: User | None):
    """The requests a reader may see: the user's scope, or the public jurisdiction's."""
    if user is not None:
        return scoped_cases(user)
    unit = jurisdiction()
    return select(Case).where(unit_filter(unit) if unit is not None else false())


def get_request(user: User | None, case_id: int) -> Case:
    case = db.session.scalars(readable(user).where(Case.id == case_id)).first() if 0 < case_id < MAX_ID else None
    if case is None:
        raise NotFound(_("No such case."))
    return case


# -- shapes --------------------------------------------------------------------------------

def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds") if moment else None


PERSONAL = ("address", "lat", "long", "media_url", "name", "phone", "email")


def request_json(case: Case, personal: bool = True) -> dict[str, Any]:
    """A request as the spec gives it, with the resident's name, phone and e-mail besides;
    `personal=False` (a key-less public read) blanks what could lead to a household."""
    wf = workflow_of(case)
    state = wf.states[case.state]
    deadline = datetime.combine(case.deadline, time(23, 59, 59), SHANGHAI) if case.deadline else None
    row = {
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
        "address": case.address or case.resident_address,
        "address_id": "",
        "zipcode": "",
        "lat": case.lat,
        "long": case.long,
        "media_url": case.media_url,
        "name": case.resident_name,
        "phone": case.resident_phone,
        "email": case.resident_email,
    }
    if not personal:
        row.update({key: None if key in ("lat", "long") else "" for key in PERSONAL})
    return row


# -- discovery and services (public) -------------------------------------------------------

JURISDICTION = {"name": "jurisdiction_id", "in": "query", "schema": {"type": "string"},
                "description": "this deployment's (OPEN311_JURISDICTION); another one is a 404"}


@bp.get("/discovery.<fmt>")
@doc(summary="Open311: the discovery document (where the GeoReport v2 endpoint is)", tags=["open311"],
     security=[], parameters=[FMT, JURISDICTION], responses={"200": {"description": "The discovery document", "content": {
         "application/json": {"schema": {"type": "object", "required": ["changeset", "endpoints"], "properties": {
             "changeset": {"type": "string"}, "contact": {"type": "string"}, "key_service": {"type": "string"},
             "endpoints": {"type": "array", "items": {"type": "object"}}}}},
         "text/xml": {"schema": {"type": "string"}}}}, **errs(404)})
def discovery(fmt: str):
    _check_format(fmt)
    base = url_for(".services", fmt="json", _external=True).rsplit("/", 1)[0]
    return answer(fmt, "discovery", None, {
        "changeset": CHANGESET,
        "contact": current_app.config.get("OPEN311_CONTACT") or "",
        "key_service": url_for("settings.tokens", _external=True),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET,
                       "type": "production", "formats": ["text/xml", "application/json"]}]})


@bp.get("/v2/services.<fmt>")
@doc(summary="Open311: the categories as services", tags=["open311"], security=[],
     parameters=[FMT, JURISDICTION],
     responses={"200": _answer({"type": "object", "required": ["service_code", "service_name"], "properties": {
         "service_code": {"type": "string"}, "service_name": {"type": "string"},
         "description": {"type": "string"}, "metadata": {"type": "string"}, "type": {"type": "string"},
         "keywords": {"type": "string"}, "group": {"type": "string"}}}), **errs(404)})
def services(fmt: str):
    _check_format(fmt)
    return answer(fmt, "services", "service", [
        {"service_code": c.code, "service_name": localized({"zh": c.name_zh, "en": c.name_en}),
         "description": f"{c.name_zh} / {c.name_en}", "metadata": "true", "type": "realtime",
         "keywords": "", "group": ""} for c in active_categories()])


def _attributes() -> list[dict[str, Any]]:
    """The fields a request of any category may carry besides the spec's own."""
    return [
        {"variable": True, "code": "kind", "datatype": "singlevaluelist", "required": False,
         "datatype_description": _("individual (the default) or shared"), "order": 1,
         "description": _("Kind"),
         "values": [{"key": "individual", "name": _("Individual problem (个性)")},
                    {"key": "shared", "name": _("Shared problem (共性)")}]},
        {"variable": True, "code": "title", "datatype": "string", "required": False,
         "datatype_description": _("At most %(n)d characters; default: the description's beginning.", n=200),
         "order": 2, "description": _("Title")},
        {"variable": True, "code": "group", "datatype": "string", "required": False,
         "datatype_description": _("Your own work group's code."), "order": 3,
         "description": _("Work group")},
    ]


@bp.get("/v2/services/<service_code>.<fmt>")
@doc(summary="Open311: a service's definition (the attributes a request may carry)", tags=["open311"],
     security=[], parameters=[FMT, JURISDICTION],
     responses={"200": {"description": "The service definition", "content": {
         "application/json": {"schema": {"type": "object", "required": ["service_code", "attributes"], "properties": {
             "service_code": {"type": "string"}, "attributes": {"type": "array", "items": {
                 "type": "object", "required": ["variable", "code", "datatype", "required", "order", "description"],
                 "properties": {"variable": {"type": "boolean"}, "code": {"type": "string"},
                                "datatype": {"type": "string"}, "required": {"type": "boolean"},
                                "datatype_description": {"type": "string"}, "order": {"type": "integer"},
                                "description": {"type": "string"},
                                "values": {"type": "array", "items": {"type": "object", "properties": {
                                    "key": {"type": "string"}, "name": {"type": "string"}}}}}}}}}},
         "text/xml": {"schema": {"type": "string"}}}}, **errs(404)})
def service_definition(service_code: str, fmt: str):
    _check_format(fmt)
    if service_code not in {c.code for c in active_categories()}:
        raise NotFound(_("No such service."))
    return answer(fmt, "service_definition", None, {"service_code": service_code,
                                                     "attributes": _attributes()})


# -- requests ------------------------------------------------------------------------------

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


KEY = {"name": "api_key", "in": "query", "schema": {"type": "string"},
       "description": "one of your API tokens (or HTTP Basic auth, the token as password); without "
                      "it only where OPEN311_PUBLIC_READS is set, and nothing personal"}


@bp.get("/v2/requests.<fmt>")
@doc(summary="Open311: requests in my scope (90 days by default, at most 1,000)", tags=["open311"],
     parameters=[FMT, KEY, JURISDICTION, *({"name": n, "in": "query", "schema": sch} for n, sch in [
         ("service_request_id", {"type": "string"}),
         ("service_code", {"type": "string"}), ("status", {"type": "string"}),
         ("start_date", {"type": "string", "format": "date-time"}),
         ("end_date", {"type": "string", "format": "date-time"})])],
     responses={"200": _answer(REQUEST), **errs(400, 401, 404)})
def requests_(fmt: str):
    """Requests in the reader's scope: by ids, or filed within a window of at most 90 days."""
    _check_format(fmt)
    user = reader()
    stmt = readable(user)
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
    return answer(fmt, "service_requests", "request", [request_json(c, user is not None) for c in cases])


def _final_states():
    from casetrack.services.casework.cases import default_workflow
    return [s for s in default_workflow().states.values() if s.final]


def _name(first: str, last: str) -> str:
    """The resident's name in Chinese order, family name first (张 + 三 = 张三); a space between
    two Latin names."""
    spaced = first.isascii() and last.isascii() and first and last
    return f"{last} {first}" if spaced else last + first


def _place(form) -> tuple[dict[str, Any] | None, str]:
    """The spec's location: lat and long, or address_string, or address_id; one is required."""
    problems: dict[str, str] = {}
    lat = coordinate("lat", form.get("lat"), problems, "lat")
    lng = coordinate("long", form.get("long"), problems, "long")
    address = parse_address(form.get("address_string"), problems, "address_string")
    address_id = form.get("address_id", "").strip()
    if len(address_id) > MAX_ADDRESS:
        problems["address_id"] = _("At most %(n)d characters.", n=MAX_ADDRESS)
    if not problems and (lat is None) != (lng is None):
        missing = "lat" if lat is None else "long"
        problems[missing] = _("%(field)s is needed with the other coordinate.", field=missing)
    if not problems and lat is None and not address and not address_id:
        problems["lat"] = _("A location is required: lat and long, address_string or address_id.")
    if problems:
        raise ValidationFailed(problems)
    return ({"lat": lat, "long": lng} if lat is not None else None), address or address_id


@bp.post("/v2/requests.<fmt>")
@doc(summary="Open311: file a request as the api_key's user", tags=["open311"],
     parameters=[FMT, JURISDICTION],
     requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
         "type": "object", "required": ["service_code"], "properties": {n: {"type": "string"} for n in (
             "api_key", "service_code", "description", "first_name", "last_name", "phone", "email",
             "lat", "long", "address_string", "address_id", "media_url", "device_id", "account_id",
             "attribute[title]", "attribute[kind]", "attribute[group]")}}}}},
     responses={"200": _answer({"type": "object", "required": ["service_request_id"], "properties": {
         "service_request_id": {"type": "integer"}, "token": {"type": "string"},
         "service_notice": {"type": "string"}, "account_id": {"type": ["string", "null"]}}}),
         **errs(400, 401, 403, 404, 409)})
def create_request(fmt: str):
    """File a case as the api_key's user, in their group (attribute[group] may only name it).
    A location is required (lat and long, WGS-84; address_string; or address_id)."""
    _check_format(fmt)
    user = api_user()
    form = request.form
    group = form.get("attribute[group]", "").strip()
    if group and (user.unit is None or user.unit.code != group):
        known = db.session.scalars(select(Unit).where(Unit.code == group, Unit.kind == "group")).first()
        if known is None:
            raise ValidationFailed({"attribute[group]": _("No such group.")})
        raise Forbidden(_("You may file only in your own group."))
    location, address = _place(form)
    problems: dict[str, str] = {}
    media = parse_media_url(form.get("media_url"), problems)
    if problems:
        raise ValidationFailed(problems)
    description = form.get("description", "").strip()
    case = file_case(user, title=form.get("attribute[title]", "").strip() or description[:200],
                     description=description, category=form.get("service_code", ""),
                     kind=form.get("attribute[kind]", "individual") or "individual",
                     resident={"name": _name(form.get("first_name", "").strip(), form.get("last_name", "").strip()),
                               "phone": form.get("phone", "").strip(),
                               "email": form.get("email", "").strip()},
                     location=location, address=address, media_url=media)
    db.session.commit()
    return answer(fmt, "service_requests", "request", [
        {"service_request_id": case.id, "token": str(case.id), "service_notice": "",
         "account_id": None}])


@bp.get("/v2/requests/<int:case_id>.<fmt>")
@doc(summary="Open311: one request", tags=["open311"], parameters=[FMT, KEY, JURISDICTION],
     responses={"200": _answer(REQUEST), **errs(401, 404)})
def request_(case_id: int, fmt: str):
    _check_format(fmt)
    user = reader()
    return answer(fmt, "service_requests", "request", [request_json(get_request(user, case_id), user is not None)])


@bp.get("/v2/tokens/<token>.<fmt>")
@doc(summary="Open311: the request of a token (the token is the request's id)", tags=["open311"],
     parameters=[FMT, KEY, JURISDICTION], responses={"200": _answer(TOKEN), **errs(401, 404)})
def token(token: str, fmt: str):
    """The request a token stands for (intake is synchronous: the token is the id)."""
    _check_format(fmt)
    user = reader()
    if not whole_number(token):
        raise NotFound(_("No such token."))
    case = get_request(user, int(token))
    return answer(fmt, "service_requests", "request", [{"service_request_id": case.id, "token": token}])
