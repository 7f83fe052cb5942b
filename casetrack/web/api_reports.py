"""JSON API for bulletins, on the /api/v1 blueprint."""
from __future__ import annotations

from flask import g, jsonify, request

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
