"""JSON API of suggestions (意见建议) and their answers, on the /api/v1 blueprint."""
from __future__ import annotations

from typing import Any

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _

from casetrack.extensions import db
from casetrack.models import Suggestion
from casetrack.services.fieldwork import ledger
from casetrack.services.common.errors import ValidationFailed
from casetrack.web.api import body, bp
from casetrack.web.openapi import doc, json_body, json_request, query, ref, responses


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    return {"id": s.id, "visit": s.visit_id, "date": s.visit.visited_on.isoformat(), "group": s.group.code,
            "unit": s.unit.code, "category": s.category.code if s.category else None, "text": s.text,
            "answer": s.answer, "answer_text": s.answer_text,
            "answered_at": s.answered_at.isoformat() if s.answered_at else None}


@bp.get("/suggestions")
@doc(summary="Suggestions in my scope, newest first, by keyset pages", tags=["visits"],
     parameters=query("answered", "before"),
     responses=responses(("200", json_body({"type": "object", "required": ["suggestions", "next"], "properties": {
         "suggestions": {"type": "array", "items": ref("Suggestion")},
         "next": {"type": ["string", "null"]}}})), 422))
def suggestions():
    rows, cursor = ledger.list_suggestions(g.api_user, request.args)
    nxt = url_for(".suggestions", **{**request.args.to_dict(), "before": cursor}) if cursor else None
    return jsonify(suggestions=[suggestion_json(s) for s in rows], next=nxt)


@bp.post("/suggestions/<int:suggestion_id>/answer")
@doc(summary="Record the answer to a suggestion (the group that collected it)", tags=["visits"],
     requestBody=json_request({"type": "object", "required": ["answer", "text"], "additionalProperties": False,
                               "properties": {
                                   "answer": {"type": "string", "enum": ["adopted", "partly_adopted", "explained"]},
                                   "text": {"type": "string", "maxLength": 2000}}}),
     responses=responses(("200", json_body(ref("Suggestion"))), 403, 404, 409, 422))
def answer_suggestion(suggestion_id: int):
    row = ledger.get_suggestion(g.api_user, suggestion_id)
    data = body()
    unknown = {k: _("This action takes no such field.") for k in data if k not in ("answer", "text")}
    if unknown:
        raise ValidationFailed(unknown)
    row = ledger.answer_suggestion(g.api_user, row, data.get("answer"), data.get("text"))
    db.session.commit()
    return jsonify(suggestion_json(row))
