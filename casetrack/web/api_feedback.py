"""The daily feedback's API (日反馈): a unit reports on its open problems; who has (not) reported."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from casetrack.extensions import db
from casetrack.services.casework import daily
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.organisation.campaigns import campaign_taken_part_in
from casetrack.web.api import body, bp, report_day
from casetrack.web.openapi import DATE, doc, json_body, json_request, responses

ITEM = {"type": "object", "required": ["case", "status"], "additionalProperties": False, "properties": {
    "case": {"type": "integer", "description": "an open problem my unit holds"},
    "status": {"type": "string", "enum": list(daily.STATUSES),
               "description": "done (已完成), in_progress (整改中) or needs_coordination (需协调)"},
    "expected_on": {**DATE, "description": "in_progress: the day it expects to finish (today or later)"},
    "reason": {"type": "string", "description": "needs_coordination: what needs coordinating"}}}
UNIT_ROW = {"type": "object", "required": ["unit", "name", "open", "reported", "missing"], "properties": {
    "unit": {"type": "string"}, "name": {"type": "string"}, "open": {"type": "integer"},
    "reported": {"type": "integer"}, "missing": {"type": "integer"}}}


@bp.get("/campaigns/<code>/feedback")
@doc(summary="A day's daily feedback (日反馈): the units holding open problems in my scope that reported "
             "on all of them, and those that have not (none on a day off), with counts", tags=["reports"],
     parameters=[{"name": "day", "in": "query", "schema": DATE, "description": "default today"}],
     responses=responses(("200", json_body({"type": "object", "required": ["day", "working_day", "reported",
                                                                             "missing"], "properties": {
         "day": DATE, "working_day": {"type": "boolean"},
         "reported": {"type": "array", "items": UNIT_ROW},
         "missing": {"type": "array", "items": UNIT_ROW}}})), 403, 404, 422))
def campaign_feedback(code: str):
    chosen = campaign_taken_part_in(g.api_user.unit, code)
    return jsonify(daily.feedback_day(g.api_user, chosen, report_day(request.args.get("day"), field="day"))
                   .as_json())


@bp.post("/campaigns/<code>/feedback")
@doc(summary="My unit's daily feedback (日反馈) of today: one status for every open problem it holds, "
             "all or nothing; a second report the same day replaces the first", tags=["reports"],
     requestBody=json_request({"type": "object", "required": ["items"], "additionalProperties": False,
                               "properties": {"items": {"type": "array", "items": ITEM}}}),
     responses=responses(("200", json_body({"type": "object", "properties": {
         "day": DATE, "reported": {"type": "integer"}, "replaced": {"type": "boolean"},
         "needs_coordination": {"type": "array", "items": {"type": "integer"},
                                "description": "the problems to ask the office about (申请协调)"},
         }})), 403, 404, 409, 413, 422))
def report_campaign_feedback(code: str):
    chosen = campaign_taken_part_in(g.api_user.unit, code)
    data = body()
    if set(data) - {"items"}:
        raise ValidationFailed({k: _("This action takes no such field.") for k in set(data) - {"items"}})
    result = daily.report_feedback(g.api_user, chosen, data.get("items"))
    db.session.commit()
    return jsonify(result)
