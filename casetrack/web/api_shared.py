"""JSON API of shared problems (共性问题), on the /api/v1 blueprint."""
from __future__ import annotations

from flask import g, jsonify, url_for

from casetrack.extensions import db
from casetrack.services.casework.cases import get_case
from casetrack.services.casework.shared import link_cases, proposals, unlink_case, visible_members
from casetrack.web.openapi import doc, json_body, json_request, ref, responses
from casetrack.web.api import bp, body, case_json


def shared_json(parent) -> dict:
    """The parent and the members the caller may see on their own (`members_total` counts all)."""
    shown, total = visible_members(g.api_user, parent)
    return {**case_json(parent), "members": [case_json(m) for m in shown], "members_total": total}


@bp.post("/shared-problems")
@doc(summary="Link cases into one shared problem (共性问题)", tags=["shared"],
     requestBody=json_request({"type": "object", "required": ["title", "cases"], "properties": {
         "title": {"type": "string"}, "cases": {"type": "array", "items": {"type": "integer"}}}}),
     responses={**responses(("201", json_body(ref("SharedProblem"))), 400, 403, 404, 409, 422),
                "201": {**json_body(ref("SharedProblem")), "headers": {"Location": {"schema": {"type": "string"}}}}})
def create_shared_problem():
    data = body()
    parent = link_cases(g.api_user, data.get("title"), data.get("cases"))
    db.session.commit()
    return jsonify(shared_json(parent)), 201, {
        "Location": url_for(".shared_problem", parent_id=parent.id)}


@bp.get("/shared-problems/proposals")
@doc(summary="Groups of similar cases that may be one shared problem", tags=["shared"],
     responses=responses(("200", json_body({"type": "object", "required": ["proposals"], "properties": {
         "proposals": {"type": "array", "items": {"type": "object"}}}})), 403))
def shared_problem_proposals():
    return jsonify(proposals=proposals(g.api_user))


@bp.get("/shared-problems/<int:parent_id>")
@doc(summary="A shared problem and its member cases", tags=["shared"],
     responses=responses(("200", json_body(ref("SharedProblem"))), 404))
def shared_problem(parent_id: int):
    return jsonify(shared_json(get_case(g.api_user, parent_id)))


@bp.post("/shared-problems/<int:parent_id>/unlink")
@doc(summary="Take a case out of a shared problem", tags=["shared"],
     requestBody=json_request({"type": "object", "required": ["case"], "properties": {
         "case": {"type": "integer"}}}),
     responses=responses(("200", json_body(ref("SharedProblem"))), 400, 403, 404, 409, 422))
def unlink_shared_problem_case(parent_id: int):
    parent = get_case(g.api_user, parent_id)
    unlink_case(g.api_user, parent, body().get("case"))
    db.session.commit()
    return jsonify(shared_json(parent))
