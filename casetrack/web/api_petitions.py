"""JSON API for petitions received (接访), cases taken down (带案下访) and owned cases (包案),
on the /api/v1 blueprint."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for

from casetrack.extensions import db
from casetrack.models import Petition
from casetrack.services.casework import petitions as pt
from casetrack.services.casework.cases import get_case
from casetrack.web.api import body, bp, case_json
from casetrack.web.api_visits import _only
from casetrack.web.openapi import DATE, doc, json_body, json_request, nullable, query, ref, responses

PETITION_FIELDS = {"date", "place", "form", "persons", "collective", "subject", "details", "category",
                   "residents", "file_case"}
PAGE = {"cursor": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": 200}}


def petition_json(p: Petition) -> dict[str, Any]:
    return {"id": p.id, "unit": p.unit.code, "unit_name": p.unit.name, "date": p.received_on.isoformat(),
            "place": p.place, "form": p.form, "persons": p.persons, "collective": p.collective,
            "subject": p.subject, "details": p.details, "category": p.category.code,
            "residents": p.residents, "case": p.case_id,
            "created_by": p.created_by.username if p.created_by else None,
            "created_at": p.created_at.isoformat()}


PETITION = {"type": "object", "required": ["id", "unit", "unit_name", "date", "place", "form", "persons",
                                           "collective", "subject", "details", "category", "residents",
                                           "case", "created_by", "created_at"],
            "properties": {"id": {"type": "integer"}, "unit": {"type": "string"}, "unit_name": {"type": "string"},
                           "date": {"type": "string", "format": "date"}, "place": {"type": "string"},
                           "form": {"type": "string", "enum": ["visit", "letter", "online", "phone"]},
                           "persons": {"type": "integer"}, "collective": {"type": "boolean"},
                           "subject": {"type": "string"}, "details": {"type": "string"},
                           "category": {"type": "string"},
                           "residents": {"type": "array", "description": "personal data",
                                         "items": {"type": "object", "properties": {
                                             "name": {"type": "string"}, "phone": {"type": "string"}}}},
                           "case": nullable("integer", description="the case it was filed as"),
                           "created_by": nullable("string"),
                           "created_at": {"type": "string", "format": "date-time"}}}
NEW_PETITION = {
    "type": "object", "required": ["date", "form", "persons", "subject", "category"], "additionalProperties": False,
    "properties": {"date": DATE, "place": {"type": "string", "maxLength": 200},
                   "form": {"type": "string", "enum": ["visit", "letter", "online", "phone"],
                            "description": "来访, 来信, 网上, 电话"},
                   "persons": {"type": "integer", "minimum": 1, "maximum": pt.MAX_PERSONS,
                               "description": "how many came in this batch"},
                   "collective": {"type": "boolean", "description": "a collective visit (集体访)"},
                   "subject": {"type": "string", "maxLength": 200},
                   "details": {"type": "string", "maxLength": 4000},
                   "category": {"type": "string", "description": "a category code"},
                   "residents": {"type": "array", "maxItems": pt.MAX_RESIDENTS, "items": {
                       "type": "object", "required": ["name"], "additionalProperties": False,
                       "properties": {"name": {"type": "string", "maxLength": 60},
                                      "phone": {"type": "string", "maxLength": 30}}}},
                   "file_case": {"type": "boolean", "description": "file it as a case of the campaign now"}}}
PETITION_WITH_CASE = {"allOf": [PETITION, {"type": "object", "properties": {
    "filed": {"oneOf": [ref("Case"), {"type": "null"}]}}}]}


@bp.post("/petitions")
@doc(summary="Record a batch of petitioners received (接访), filed as a case at once if asked",
     tags=["petitions"], requestBody=json_request(NEW_PETITION),
     responses={**responses(("201", json_body(PETITION_WITH_CASE)), 400, 403, 409, 422),
                "201": {**json_body(PETITION_WITH_CASE), "headers": {"Location": {"schema": {"type": "string"}}}}})
def create_petition():
    petition = pt.record_petition(g.api_user, **_only(body(), PETITION_FIELDS))
    db.session.commit()
    return (jsonify({**petition_json(petition), "filed": case_json(petition.case, pending=None)
                     if petition.case else None}),
            201, {"Location": url_for(".petition", petition_id=petition.id)})


@bp.get("/petitions")
@doc(summary="Petitions received in my scope, newest first, by keyset pages", tags=["petitions"],
     parameters=query(**PAGE),
     responses=responses(("200", json_body({"type": "object", "required": ["petitions", "next", "cursor"],
                                            "properties": {"petitions": {"type": "array", "items": PETITION},
                                                           "next": nullable("string"),
                                                           "cursor": nullable("string")}})), 422))
def petitions():
    page, cursor = pt.list_petitions(g.api_user, request.args.get("cursor"), request.args.get("limit"))
    nxt = url_for(".petitions", **{**request.args.to_dict(), "cursor": cursor}) if cursor else None
    return jsonify(petitions=[petition_json(p) for p in page], next=nxt, cursor=str(cursor) if cursor else None)


@bp.get("/petitions/<int:petition_id>")
@doc(summary="A petition received, in my scope", tags=["petitions"],
     responses=responses(("200", json_body(PETITION)), 404))
def petition(petition_id: int):
    return jsonify(petition_json(pt.get_petition(g.api_user, petition_id)))


@bp.post("/cases/<int:case_id>/take-down")
@doc(summary="Record cadres who took a case down to the grass roots (带案下访) on a day", tags=["petitions"],
     requestBody=json_request({"type": "object", "required": ["date", "cadres"], "additionalProperties": False,
                               "properties": {"date": DATE, "cadres": {
                                   "type": "array", "minItems": 1, "maxItems": pt.MAX_CADRES,
                                   "items": {"type": ["string", "integer"]},
                                   "description": "usernames or ids of the cadres who went"}}}),
     responses=responses(("201", json_body({"type": "object", "required": ["case", "date", "cadres"], "properties": {
         "case": {"type": "integer"}, "date": {"type": "string", "format": "date"},
         "cadres": {"type": "array", "items": {"type": "string"}}}})), 403, 404, 422))
def take_down(case_id: int):
    case = get_case(g.api_user, case_id)
    data = _only(body(), {"date", "cadres"})
    rows = pt.take_down(g.api_user, case, date=data.get("date"), cadres=data.get("cadres"))
    db.session.commit()
    return jsonify(case=case.id, date=rows[0].taken_on.isoformat(),
                   cadres=[r.cadre.username for r in rows]), 201


@bp.get("/cases/owned")
@doc(summary="The cases I own (包案), newest first, by keyset pages", tags=["petitions"],
     parameters=query(**PAGE), responses=responses(("200", json_body(ref("CaseList"))), 422))
def owned_cases():
    page, cursor = pt.owned_cases(g.api_user, request.args.get("cursor"), request.args.get("limit"))
    nxt = url_for(".owned_cases", **{**request.args.to_dict(), "cursor": cursor}) if cursor else None
    return jsonify(cases=[case_json(c) for c in page], next=nxt, cursor=str(cursor) if cursor else None)
