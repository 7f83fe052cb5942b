"""JSON API for bulletins, on the /api/v1 blueprint."""
from __future__ import annotations

from flask import g, jsonify, request

from casetrack.services import assessment as asm
from casetrack.services import bulletin as bl
from casetrack.web.api import bp
from casetrack.web.openapi import DATE, doc, json_body, query, responses


@bp.get("/reports/bulletin")
@doc(summary="The bulletin's figures of a period for a unit (default: this week, my unit)", tags=["reports"],
     parameters=query("unit", **{"from": DATE, "to": DATE}),
     responses=responses(("200", json_body({"type": "object"})), 403, 404, 422))
def report_bulletin():
    """The bulletin's figures for ?from=D&to=D&unit=CODE (defaults: this week, the user's unit)."""
    unit, start, end = bl.parse_period(request.args, g.api_user)
    return jsonify(bl.bulletin(unit, start, end))


ASSESSMENT = {"type": "object", "required": ["units"], "properties": {
    "unit": {"type": "string"}, "month": {"type": "string"}, "from": DATE, "to": DATE,
    "pace": {"type": ["number", "null"], "description": "序时进度: the coverage the timetable asks for on `to`"},
    "units": {"type": "array", "items": {"type": "object", "required": [
        "code", "name", "kind", "score", "rank", "status", "indicators"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["team", "group", "department"]},
        "parent": {"type": ["string", "null"]},
        "score": {"type": ["number", "null"], "description": "0-100; null when no indicator has a figure"},
        "rank": {"type": "integer", "description": "within its kind, over the whole county"},
        "status": {"type": "string", "enum": ["red", "yellow", "green"]},
        "indicators": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        "figures": {"type": "object", "description": "each indicator's [numerator, denominator]",
                    "additionalProperties": {"type": "array", "items": {"type": "number"}}}}}}}}


@bp.get("/reports/assessment")
@doc(summary="A month's assessment (考核): score, rank and red/yellow/green of every team, group and "
             "department of a unit's subtree", tags=["reports"],
     parameters=query("unit", month={"type": "string", "pattern": r"^\d{4}-\d{2}$",
                                     "description": "YYYY-MM (default: this month)"}),
     responses=responses(("200", json_body(ASSESSMENT)), 404, 422))
def report_assessment():
    """?unit=CODE&month=YYYY-MM (defaults: the user's unit, this month)."""
    unit = asm.unit_of(g.api_user, request.args.get("unit"))
    return jsonify(asm.assess(unit, *asm.parse_month(request.args.get("month"))).json())
