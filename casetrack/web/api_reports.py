"""JSON API for bulletins, on the /api/v1 blueprint."""
from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from flask_babel import gettext as _

from casetrack.services.reports import assessment as asm
from casetrack.models import BULLETIN_TYPES
from casetrack.services.reports import bulletin as bl
from casetrack.services.reports import bulletin_issues as bi
from casetrack.services.casework.cases import MAX_ID, whole_number
from casetrack.services.common.errors import ValidationFailed
from casetrack.web.api import bp
from casetrack.web.openapi import DATE, doc, json_body, query, ref, responses


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


def bulletin_json(item) -> dict:
    return {"id": item.id, "type": item.type, "year": item.year, "number": item.number,
            "period_from": item.date_from.isoformat(), "period_to": item.date_to.isoformat(),
            "published_at": item.published_at.isoformat(), "signed_by": item.signed_by}


@bp.get("/bulletins")
@doc(summary="The published bulletins I may read (my unit's and those below it), newest first, by keyset pages",
     tags=["reports"],
     parameters=[{"name": n, "in": "query", "schema": s, "description": d} for n, s, d in [
         ("type", {"type": "string", "enum": list(BULLETIN_TYPES)},
          "briefing 简报, special 专报, express 快报, circular 督查通报"),
         ("cursor", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "from the previous page"),
         ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_ID}, "page size (at most 200)")]],
     responses=responses(("200", json_body(ref("BulletinList"))), 422))
def bulletins():
    args = request.args
    errors = {name: _("A whole number, please.") for name in ("cursor", "limit")
              if args.get(name) and not (whole_number(args[name]) and 0 < int(args[name]) <= MAX_ID)}
    if errors:
        raise ValidationFailed(errors, _("Please correct the filters."))
    limit = min(int(args.get("limit") or current_app.config["PAGE_SIZE"]), 200)
    items, cursor = bi.page_of(g.api_user, args.get("type") or None, int(args.get("cursor") or 0) or None, limit)
    nxt = url_for(".bulletins", **{**args.to_dict(), "cursor": cursor}) if cursor else None
    return jsonify(items=[bulletin_json(i) for i in items], next=nxt, cursor=str(cursor) if cursor else None)
