"""JSON API for bulletins, on the /api/v1 blueprint."""
from __future__ import annotations

from flask import g, jsonify, request

from casetrack.services import bulletin as bl
from casetrack.web.api import bp


@bp.get("/reports/bulletin")
def report_bulletin():
    """The bulletin's figures for ?from=D&to=D&unit=CODE (defaults: this week, the user's unit)."""
    unit, start, end = bl.parse_period(request.args, g.api_user)
    return jsonify(bl.bulletin(unit, start, end))
