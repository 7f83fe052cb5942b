"""The OpenAPI 3.1 description of /api/v1, built from the routes themselves.

Each API view carries its operation next to it (`@doc(...)`); the shared shapes are in SCHEMAS.
build_spec() walks the URL map, so a route without `@doc` is reported, never silently missing.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from apispec import APISpec
from flask import Blueprint, Flask, current_app, jsonify, render_template

from casetrack.services.casework.cases import MAX_ID
from casetrack.workflow import URGENCIES

API_PREFIX = "/api/v1"
DESCRIBED = (API_PREFIX + "/", "/open311/")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str | list[str], **extra) -> dict[str, Any]:
    kinds = [kind] if isinstance(kind, str) else list(kind)
    return {"type": [*kinds, "null"], **extra}


def json_body(schema: dict, description: str = "") -> dict[str, Any]:
    return {"description": description or "OK", "content": {"application/json": {"schema": schema}}}


ERROR = json_body(ref("Error"), "An error: a code, a message for people, and per-field errors")
# The answers every authenticated operation may give besides its own.
# 400: e.g. a NUL character in a parameter; 503 "busy": the database stayed locked past the wait
# (nothing was changed; try again after Retry-After seconds).
COMMON = {"400": ERROR, "401": ERROR, "405": ERROR, "503": ERROR}


def responses(ok: tuple[str, dict], *errors: str) -> dict[str, Any]:
    """{status: response}: the success answer and the error statuses (all the Error shape)."""
    return {ok[0]: ok[1], **COMMON, **{str(code): ERROR for code in errors}}


def doc(**operation: Any) -> Callable:
    """Attach an OpenAPI operation (summary, parameters, requestBody, responses...) to a view."""
    def wrap(view: Callable) -> Callable:
        view.openapi = operation
        return view
    return wrap


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string", "description": "a stable code: invalid, not_found, conflict, stale, busy, ..."},
        "message": {"type": "string", "description": "what went wrong, in the user's language"},
        "errors": {"oneOf": [
            {"type": "object", "additionalProperties": {"type": "string"},
             "description": "field -> what is wrong with it"},
            {"type": "array", "description": "an import: each problem by row and column",
             "items": {"type": "object", "required": ["row", "column", "message"], "properties": {
                 "row": nullable("integer"), "column": nullable("string"),
                 "message": {"type": "string"}}}}]}}},
    "Label": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
    "User": {"type": "object", "required": ["id", "username", "name", "role", "unit", "unit_name"],
             "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                            "name": {"type": "string"}, "role": {"type": "string"},
                            "post": nullable("string", description="a principal leader's or party secretary's post"),
                            "unit": nullable("string"), "unit_name": nullable("string")}},
    "Unit": {"type": "object", "required": ["code", "name", "kind", "parent"],
             "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                            "kind": {"type": "string", "enum": ["province", "city", "county",
                                                                "department", "team", "group"]},
                            "parent": nullable("string")}},
    "Category": {"type": "object", "required": ["code", "name"],
                 "properties": {"code": {"type": "string"}, "name": ref("Label")}},
    "Resident": {"type": "object", "description": "personal data: only in the scope of the case",
                 "properties": {"name": {"type": "string", "maxLength": 60},
                                "phone": {"type": "string", "maxLength": 30},
                                "address": {"type": "string", "maxLength": 200},
                                "email": {"type": "string", "maxLength": 120},
                                "id_tail": {"type": "string", "maxLength": 6, "pattern": "^([0-9]{3,5}[0-9Xx])?$",
                                            "description": "the last 4 to 6 characters of the resident's ID "
                                                           "card (身份证号后几位), never the whole number; "
                                                           "`q` finds the case by it"}}},
    "Location": {"type": ["object", "null"], "required": ["lat", "long"], "additionalProperties": False,
                 "description": "a point in WGS-84 degrees (as GPS and the browser give it; Chinese map "
                                "apps use GCJ-02, so convert before showing it on one)",
                 "properties": {"lat": {"type": "number", "minimum": -90, "maximum": 90},
                                "long": {"type": "number", "minimum": -180, "maximum": 180},
                                "accuracy": {"type": ["number", "null"], "minimum": 0, "maximum": 1e7,
                                             "description": "metres"}}},
    "Case": {"type": "object", "required": [
        "id", "title", "description", "category", "kind", "state", "state_label", "unit", "unit_name",
        "group", "department", "deadline", "overdue", "revisit_on", "urgency", "funds", "donations", "resident",
        "target", "visit", "source", "owner", "found_on", "workflow", "workflow_version", "version", "created_at",
        "updated_at"],
        "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "description": {"type": "string"},
            "category": {"type": "string"}, "kind": {"type": "string", "enum": ["individual", "shared"]},
            "urgency": {"type": "string", "enum": list(URGENCIES)},
            "state": {"type": "string"}, "state_label": ref("Label"),
            "unit": {"type": "string", "description": "code of the unit handling it now"},
            "unit_name": {"type": "string"}, "group": {"type": "string", "description": "the filing group"},
            "department": nullable("string"),
            "deadline": nullable("string", format="date"), "overdue": {"type": "boolean"},
            "revisit_on": nullable("string", format="date"),
            "funds": nullable("string", description="public funds, 10k yuan (decimal as text)"),
            "donations": nullable("string", description="social donations, 10k yuan (decimal as text)"),
            "resident": ref("Resident"), "target": nullable("integer"), "visit": nullable("integer"),
            "location": ref("Location"), "address": {"type": "string", "description": "where the problem is"},
            "source": {"type": "string", "enum": ["visit", "petition", "inspection"],
                       "description": "found on a visit, received as a petition (接访), or on an inspection (督查)"},
            "campaign": {"type": "string", "description": "the campaign's code (GET /campaigns)"},
            "owner": nullable("string", description="the username of the leader who owns it (包案领导)"),
            "found_on": {"type": "string", "format": "date", "description": "the day it was found"},
            "workflow": {"type": "string"}, "workflow_version": {"type": "integer"},
            "version": {"type": "integer", "description": "send it back with a transition (optimistic lock)"},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "deadline_basis": {"type": ["string", "null"], "description": "how the deadline was counted"},
            "warn_on": nullable("string", format="date"), "paused": {"type": "boolean"},
            "extension_pending": {"type": "boolean"},
            "parent": {"type": ["object", "null"], "description": "the shared problem it belongs to",
                       "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                                      "state": {"type": "string"}, "state_label": ref("Label")}}}},
    "Event": {"type": "object", "required": ["id", "at", "trigger", "actor", "from_state", "to_state",
                                             "from_unit", "to_unit", "data"],
              "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
                             "trigger": {"type": "string"}, "actor": nullable("string"),
                             "from_state": nullable("string"), "to_state": {"type": "string"},
                             "from_unit": nullable("string"), "to_unit": {"type": "string"},
                             "data": {"type": "object"}}},
    "Attachment": {"type": "object", "required": ["id", "url", "thumbnail_url", "content_type", "size"],
                   "properties": {"id": {"type": "integer"}, "url": {"type": "string"},
                                  "thumbnail_url": nullable("string", description="photos only"),
                                  "content_type": {"type": "string"},
                                  "size": {"type": "integer", "description":
                                           "bytes as stored; a photo's as received until it is processed "
                                           "(re-encoded after the answer, or on its first read)"},
                                  "stage": {"type": "string", "enum": ["before", "after", "document"]},
                                  "caption": {"type": "string"}, "filename": {"type": "string"},
                                  "event": nullable("integer", description="the transition it went with"),
                                  "created_at": {"type": "string", "format": "date-time"}}},
    "CaseDetail": {"allOf": [ref("Case"), {"type": "object", "required": ["events", "allowed", "attachments"], "properties": {
        "attachments": {"type": "array", "items": ref("Attachment")},
        "events": {"type": "array", "items": ref("Event")},
        "allowed": {"type": "array", "items": {"type": "string"},
                    "description": "the triggers this user may fire now"},
        "assisting": {"type": "array", "items": {"type": "string"},
                      "description": "the codes of its assisting departments (协办)"}}}]},
    "CaseAfterTransition": {"allOf": [ref("Case"), {"type": "object", "required": ["allowed"], "properties": {
        "allowed": {"type": "array", "items": {"type": "string"}}}}]},
    "CaseList": {"type": "object", "required": ["cases", "next", "cursor"], "properties": {
        "cases": {"type": "array", "items": ref("Case")},
        "next": nullable("string", description="the URL of the next page"),
        "cursor": nullable("string", description="pass as ?cursor= for the next page")}},
    "NewCase": {"type": "object", "required": ["title", "category", "kind"], "additionalProperties": False,
                "properties": {"title": {"type": "string", "maxLength": 200},
                               "description": {"type": "string", "maxLength": 4000},
                               "category": {"type": "string", "description": "a category code"},
                               "kind": {"type": "string", "enum": ["individual", "shared"]},
                               "urgency": {"type": ["string", "null"], "enum": [*URGENCIES, None],
                                           "description": "normal (default) or urgent: the deadline may be shorter"},
                               "resident": ref("Resident"),
                               "target": nullable(["integer", "string"]),
                               "visit": nullable(["integer", "string"]),
                               "location": ref("Location"),
                               "address": {"type": "string", "maxLength": 200,
                                           "description": "where the problem is (default: the target's)"},
                               "campaign": nullable("string", description="a campaign's code (GET /campaigns); "
                                                    "default visit, the grand visit"),
                               "department": nullable("string", description="the responsible unit (a department's "
                                                      "code), where the campaign's filing names one (rectification: "
                                                      "default the site's responsible unit)"),
                               "photos": {"type": "array", "maxItems": 9, "description":
                                          "photos filed with the case (the rectification's filing needs one of "
                                          "the shortfall, 整改前)", "items": {
                                              "type": "object", "required": ["data"], "additionalProperties": False,
                                              "properties": {"data": {"type": "string", "contentEncoding": "base64"},
                                                             "filename": {"type": "string", "maxLength": 200}}}},
                               "workflow": nullable("string", description="default the campaign's; "
                                                    "\"petition\": a long-standing petition case (信访积案), "
                                                    "registered by the county office"),
                               "found_on": {"type": "string", "format": "date",
                                            "description": "the day it was found; default the visit's day, else today"}}},
    "Target": {"type": "object", "required": ["id", "code", "kind", "kind_label", "name", "address", "village",
                                              "group", "cadre", "active"],
               "properties": {"id": {"type": "integer"}, "code": nullable("string"), "kind": {"type": "string"},
                              "kind_label": ref("Label"), "name": {"type": "string"},
                              "address": nullable("string"), "village": nullable("string"),
                              "group": {"type": "string"}, "cadre": nullable("string"),
                              "active": {"type": "boolean"},
                              "lat": nullable("number"), "long": nullable("number"),
                              "campaign": {"type": "string", "description": "the campaign it is a target of "
                                                                            "(a rectification site: group is its "
                                                                            "responsible unit)"},
                              "visited": {"type": "boolean", "description": "visited by as_of (lists)"}}},
    "NewInspection": {"type": "object", "required": ["campaign", "site", "results"], "additionalProperties": False,
                      "properties": {
        "campaign": {"type": "string"}, "site": {"type": "integer", "description": "a site (target) of the campaign"},
        "date": {"type": "string", "format": "date", "description": "default today"},
        "results": {"type": "object", "additionalProperties": {"type": "string", "enum": ["pass", "fail"]},
                    "description": "every item of the site kind's checklist (GET /campaigns): pass (达标) or fail"},
        "problems": {"type": "object", "description": "per failed item: its photos (required by the filing), "
                                                      "optional title, description, department",
                     "additionalProperties": {"type": "object", "properties": {
                         "title": {"type": "string"}, "description": {"type": "string"},
                         "department": {"type": "string"},
                         "photos": {"type": "array", "items": {"type": "object"}}}}}}},
    "Inspection": {"type": "object", "required": ["id", "campaign", "site", "date", "results", "cases"], "properties": {
        "id": {"type": "integer"}, "campaign": {"type": "string"}, "site": {"type": "integer"},
        "date": {"type": "string", "format": "date"},
        "results": {"type": "object", "additionalProperties": {"type": "boolean"}, "description": "item -> 达标"},
        "cases": {"type": "object", "additionalProperties": {"type": "integer"},
                  "description": "failed item -> the problem filed for it"}}},
    "Pairs": {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "required": ["community", "units"], "properties": {
            "community": {"type": "string"}, "units": {"type": "array", "items": {"type": "string"}}}}}}},
    "CampaignWeek": {"type": "object", "required": ["campaign", "from", "to", "flags", "units", "sites"], "properties": {
        "communities": {"type": "array", "description": "each community's problems of the week and its paired "
                                                        "units (包抓单位)", "items": {"type": "object", "properties": {
            "community": {"type": "string"}, "paired": {"type": "array", "items": {"type": "string"}},
            "paired_names": {"type": "array", "items": {"type": "string"}}, "problems": {"type": "integer"}}}},
        "campaign": {"type": "string"}, "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "flags": {"type": "object", "additionalProperties": ref("Label"),
                  "description": "the workflow's flags counted apart (rework: 退回重改)"},
        "units": {"type": "array", "items": {"type": "object", "properties": {
            "unit": {"type": "string"}, "name": {"type": "string"}, "assigned": {"type": "integer"},
            "rectified": {"type": "integer"}, "solved": {"type": "integer", "description": "struck off (销号)"}, "overdue": {"type": "integer"},
            "flags": {"type": "object", "additionalProperties": {"type": "integer"}},
            "assigned_to_date": {"type": "integer"}, "solved_to_date": {"type": "integer"},
            "rate": nullable("number", description="struck off / assigned, to the week's end"),
            "rank": {"type": "integer"}}}},
        "sites": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "kind": {"type": "string"},
            "problems": {"type": "integer"}}}}}},
    "Campaign": {"type": "object", "required": ["code", "name", "workflow"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string", "description": "in the reader's language"},
        "label": ref("Label"),
        "workflow": {"type": "string", "description": "the workflow its new cases follow"},
        "workflows": {"type": "array", "items": {"type": "string"}, "description": "every workflow of its cases"},
        "categories": {"type": "array", "items": {"type": "string"},
                       "description": "its own category codes; empty: every active category"},
        "target_kinds": {"type": "array", "items": {"type": "string"}},
        "checklists": {"type": "object", "description": "per target kind, the items an inspection ticks",
                       "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
                           "code": {"type": "string"}, "label": ref("Label"), "category": {"type": "string"}}}}},
        "mine": {"type": "boolean", "description": "my unit takes part in it"},
        "default": {"type": "boolean"}}},
    "TargetFields": {"type": "object", "additionalProperties": False, "properties": {
        "kind": {"type": "string"}, "name": {"type": "string"}, "address": {"type": "string"},
        "village": {"type": "string"}, "group": {"type": "string", "description": "a group's code"},
        "cadre": {"type": "string", "description": "the responsible cadre's username"},
        "code": {"type": "string"}, "active": {"type": "boolean"},
        "lat": nullable("number", minimum=-90, maximum=90, description="WGS-84 degrees"),
        "long": nullable("number", minimum=-180, maximum=180, description="WGS-84 degrees")}},
    "Visit": {"type": "object", "required": ["id", "target", "targets", "form", "date", "group", "cadres", "notes",
                                             "suggestions", "created_by"],
              "properties": {"id": {"type": "integer"}, "target": {"type": "integer"},
                             "targets": {"type": "array", "items": {"type": "integer"},
                                         "description": "every target reached, the visit's own first"},
                             "form": nullable("string", enum=["door_to_door", "meeting", "enterprise", "reception",
                                                              "other", None]),
                             "date": {"type": "string", "format": "date"}, "group": {"type": "string"},
                             "cadres": {"type": "array", "items": {"type": "string"}},
                             "notes": nullable("string"), "suggestions": nullable("integer"),
                             "created_by": nullable("string"), "location": ref("Location"),
                             "address": {"type": "string"}}},
    "Tally": {"type": "object", "required": ["assigned", "visited", "rate"], "properties": {
        "assigned": {"type": "integer"}, "visited": {"type": "integer"}, "rate": nullable("number")}},
    "Coverage": {"allOf": [ref("Tally"), {"type": "object", "required": ["as_of", "unit", "by_kind", "milestones"],
                                          "properties": {
        "as_of": {"type": "string", "format": "date"}, "unit": {"type": "string"},
        "by_kind": {"type": "object", "additionalProperties": ref("Tally")},
        "milestones": {"type": "array", "items": {"type": "object"}}}}]},
    "Extension": {"type": "object", "required": ["id", "case", "unit", "state", "days", "reason", "status"],
                  "properties": {"id": {"type": "integer"}, "case": {"type": "integer"}, "unit": {"type": "string"},
                                 "state": {"type": "string"}, "days": {"type": "integer"},
                                 "reason": {"type": "string"}, "status": {"type": "string"},
                                 "old_deadline": nullable("string", format="date"),
                                 "new_deadline": nullable("string", format="date"),
                                 "decision_note": nullable("string")}},
    "SupervisionNote": {"type": "object", "required": ["id", "case", "text", "author", "created_at"],
                        "properties": {"id": {"type": "integer"}, "case": {"type": "integer"},
                                       "text": {"type": "string"}, "author": {"type": "string"},
                                       "created_at": {"type": "string", "format": "date-time"},
                                       "acknowledged_at": nullable("string", format="date-time")}},
    "Bulletin": {"type": "object", "required": ["id", "type", "year", "number", "period_from", "period_to",
                                               "published_at", "signed_by"], "properties": {
        "id": {"type": "integer"},
        "type": {"type": "string", "enum": ["briefing", "special", "express", "circular"]},
        "year": {"type": "integer", "description": "2026年第N期: the year"},
        "number": {"type": "integer", "description": "2026年第N期: N, per unit, type and year"},
        "period_from": {"type": "string", "format": "date"}, "period_to": {"type": "string", "format": "date"},
        "published_at": {"type": "string", "format": "date-time"},
        "signed_by": nullable("string", description="签发: who signed it off")}},
    "BulletinList": {"type": "object", "required": ["items", "next", "cursor"], "properties": {
        "items": {"type": "array", "items": ref("Bulletin")},
        "next": nullable("string", description="the URL of the next page"),
        "cursor": nullable("string", description="pass as ?cursor= for the next page")}},
    "SharedProblem": {"allOf": [ref("Case"), {"type": "object", "required": ["members", "members_total"], "properties": {
        "members": {"type": "array", "items": ref("Case"),
                    "description": "the member cases the caller may see on their own"},
        "members_total": {"type": "integer", "description": "how many cases are linked in all"}}}]},
    "Suggestion": {"type": "object", "required": ["id", "visit", "date", "group", "unit", "category", "text",
                                                  "answer", "answer_text", "answered_at"],
                   "properties": {"id": {"type": "integer"}, "visit": {"type": "integer"},
                                  "date": {"type": "string", "format": "date"},
                                  "group": {"type": "string", "description": "the group that collected it"},
                                  "unit": {"type": "string", "description": "the unit that must answer it"},
                                  "category": nullable("string"), "text": {"type": "string"},
                                  "answer": nullable("string", enum=["adopted", "partly_adopted", "explained", None]),
                                  "answer_text": {"type": "string"},
                                  "answered_at": nullable("string", format="date-time")}},
    "ImportResult": {"type": "object", "properties": {"imported": {"type": "integer"},
                                                      "updated": {"type": "integer"},
                                                      "skipped": {"type": "integer"}}},
}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_BODY = {"description": "An .xlsx file", "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}
UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": ".xlsx or .csv"}}}}}}


def json_request(schema: dict) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


DATE = {"type": "string", "format": "date"}  # an empty one is refused (inputs.refuse_empty_dates)


def query(*names: str, **schemas: dict) -> list[dict[str, Any]]:
    """Query parameters: plain strings by name, or name=schema."""
    return [{"name": n, "in": "query", "schema": {"type": "string"}} for n in names] + \
        [{"name": n, "in": "query", "schema": s} for n, s in schemas.items()]

FIELD_TYPES = {"text": {"type": "string"}, "date": {"type": "string", "format": "date"},
               "decimal": {"type": ["string", "number"]}, "bool": {"type": ["boolean", "string"]},
               "department": {"type": "string", "description": "a department's code"},
               "group": {"type": "string", "description": "a group's code"},
               "unit": {"type": "string", "description": "a work team's or group's code"},
               "choice": {"type": "string"},
               "departments": {"type": ["array", "string"], "items": {"type": "string"},
                               "description": "department codes (a list, or text split at commas)"},
               "user": {"type": ["string", "integer"], "description": "a user's username or id"}}


def transition_schema() -> dict[str, Any]:
    """The body of a transition: trigger, version and the fields of every workflow (the default
    one's first; a field of the same name in another is described by the default's type)."""
    from casetrack.services.casework.cases import default_workflow, registry
    first = default_workflow()
    flows = [first, *(wf for wf in registry().workflows.values() if wf.name != first.name)]
    props: dict[str, Any] = {
        "trigger": {"type": "string", "enum": sorted({t for wf in flows for t in wf.triggers()})},
        "version": {"type": ["integer", "string"], "description": "the case's version as you read it"}}
    for wf in flows:
        for name, field in wf.fields.items():
            if name not in props:
                props[name] = {**FIELD_TYPES[field.type], "description": field.label.get("en", name)}
                if field.options:
                    props[name]["enum"] = list(field.options)
    return {"type": "object", "required": ["trigger", "version"], "properties": props,
            "additionalProperties": False,
            "description": "Fields each trigger needs: " + "; ".join(
                f"{wf.name}: {t.trigger} from {'/'.join(t.sources)}: {', '.join(t.fields) or '-'}"
                for wf in flows for t in wf.transitions)}


def _path_of(rule) -> tuple[str, list[dict]]:
    """/api/v1/cases/<int:case_id> -> /cases/{case_id} and its path parameters."""
    params = []
    for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule.rule):
        schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID} if conv == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), params


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="casetrack API", version="1", openapi_version="3.1.0",
                   servers=[{"url": "/"}],
                   info={"description": "Cases of a county's grand-visit campaign. Authenticate with "
                                        "`Authorization: Bearer <token>` (POST /api/v1/tokens, or the "
                                        "settings page /settings/tokens). Every call acts with exactly "
                                        "the token owner's scope and role."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for name, schema in {**SCHEMAS, "Transition": transition_schema()}.items():
        spec.components.schema(name, schema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(DESCRIBED):
            continue
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, "openapi", None)
        if operation is None:
            raise LookupError(f"{rule.endpoint} has no @doc: document it in the OpenAPI description")
        path, params = _path_of(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {"operationId": rule.endpoint.replace(".", "_") + ("" if method == "GET" else f"_{method.lower()}"),
                  "security": [{"bearer": []}], **operation}
            if "requestBody" in op and "413" not in op.get("responses", {}):
                # any body past MAX_CONTENT_LENGTH is refused, in the operation's error shape
                op["responses"] = {**op["responses"], "413": op["responses"].get("400", ERROR)}
            own = op.get("parameters", [])
            named = {(p["name"], p["in"]) for p in own}  # a view may describe its path parameters itself
            if params:
                op["parameters"] = [p for p in params if (p["name"], p["in"]) not in named] + own
            paths.setdefault(path, {})[method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def openapi_json():
    """The OpenAPI description, built once per process."""
    ext = current_app.extensions
    if "casetrack.openapi" not in ext:
        ext["casetrack.openapi"] = build_spec(current_app)
    return jsonify(ext["casetrack.openapi"])


docs = Blueprint("apidocs", __name__)


@docs.get("/api/docs")
def browse():
    """Swagger UI, served from casetrack/static, started by a static script (CSP: no inline code)."""
    return render_template("api/docs.html")
