"""JSON API of deadlines: extensions (延期), supervision notes (督办), notices, days off."""
from __future__ import annotations

from flask import abort, g, jsonify

from casetrack.extensions import db
from casetrack.services.workdays import days_off
from casetrack.services.deadlines import extension_requests
from casetrack.services.casework import notices
from casetrack.services.workdays.calendar import parse_day
from casetrack.services.casework.cases import get_case
from casetrack.web.openapi import doc, json_body, json_request, ref, responses
from casetrack.web.api import bp, body


def extension_json(ext) -> dict:
    return {"id": ext.id, "case": ext.case_id, "unit": ext.unit.code, "state": ext.state,
            "days": ext.days, "reason": ext.reason, "status": ext.status,
            "old_deadline": ext.old_deadline.isoformat() if ext.old_deadline else None,
            "new_deadline": ext.new_deadline.isoformat() if ext.new_deadline else None,
            "decision_note": ext.decision_note}


def note_json(note) -> dict:
    return {"id": note.id, "case": note.case_id, "text": note.text, "author": note.author.username,
            "created_at": note.created_at.isoformat(),
            "acknowledged_at": note.acknowledged_at.isoformat() if note.acknowledged_at else None}


@bp.post("/cases/<int:case_id>/extensions")
@doc(summary="Ask for more working days on a case (延期)", tags=["deadlines"],
     requestBody=json_request({"type": "object", "required": ["days", "reason"], "properties": {
         "days": {"type": "integer"}, "reason": {"type": "string"}}}),
     responses=responses(("201", json_body(ref("Extension"))), 400, 403, 404, 409, 422))
def request_extension(case_id: int):
    data = body()
    ext = extension_requests.request_extension(g.api_user, get_case(g.api_user, case_id),
                                               data.get("days"), data.get("reason"))
    db.session.commit()
    return jsonify(extension_json(ext)), 201


@bp.post("/extensions/<int:extension_id>/decision")
@doc(summary="Approve or refuse an extension", tags=["deadlines"],
     requestBody=json_request({"type": "object", "required": ["approve"], "properties": {
         "approve": {"type": "boolean"}, "note": {"type": "string"}}}),
     responses=responses(("200", json_body(ref("Extension"))), 400, 403, 404, 409, 422))
def decide_extension(extension_id: int):
    data = body()
    ext = extension_requests.get_extension(g.api_user, extension_id)
    ext = extension_requests.decide_extension(g.api_user, ext, data.get("approve"), data.get("note", ""))
    db.session.commit()
    return jsonify(extension_json(ext))


@bp.get("/extensions/ledger")
@doc(summary="Extensions per unit (延期台账)", tags=["deadlines"],
     responses=responses(("200", json_body({"type": "object", "required": ["units"], "properties": {
         "units": {"type": "array", "items": {"type": "object"}}}})), 403))
def extension_ledger():
    return jsonify(units=extension_requests.extension_ledger(g.api_user))


@bp.post("/cases/<int:case_id>/supervision")
@doc(summary="Add a supervision note (督办) to a case", tags=["deadlines"],
     requestBody=json_request({"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}),
     responses=responses(("201", json_body(ref("SupervisionNote"))), 400, 403, 404, 422))
def supervise(case_id: int):
    note = notices.add_supervision_note(g.api_user, get_case(g.api_user, case_id), body().get("text"))
    db.session.commit()
    return jsonify(note_json(note)), 201


@bp.post("/supervision/<int:note_id>/acknowledge")
@doc(summary="Acknowledge a supervision note", tags=["deadlines"],
     responses=responses(("200", json_body(ref("SupervisionNote"))), 403, 404, 409))
def acknowledge(note_id: int):
    note = notices.acknowledge(g.api_user, note_id)
    db.session.commit()
    return jsonify(note_json(note))


@bp.get("/notifications")
@doc(summary="My notifications and the supervision notes waiting for me", tags=["deadlines"],
     responses=responses(("200", json_body({"type": "object", "required": ["unread", "notifications", "supervision"],
                                            "properties": {"unread": {"type": "integer"},
                                                           "notifications": {"type": "array", "items": {"type": "object"}},
                                                           "supervision": {"type": "array",
                                                                           "items": ref("SupervisionNote")}}}))))
def notifications():
    user = g.api_user
    return jsonify(unread=notices.unread_count(user),
                   notifications=[{"id": n.id, "kind": n.kind, "case": n.case_id,
                                   "message": notices.describe(n), "read": n.read,
                                   "created_at": n.created_at.isoformat(),
                                   # a sweep's digest: how many cases, and the list of them
                                   "count": n.count, "cases": notices.link(n)}
                                  for n in notices.inbox(user)],
                   supervision=[note_json(n) for n in notices.pending_notes(user)])


@bp.post("/notifications/<int:notice_id>/read")
@doc(summary="Mark a notification read", tags=["deadlines"],
     responses=responses(("200", json_body({"type": "object", "required": ["unread"],
                                            "properties": {"unread": {"type": "integer"}}})), 404))
def read_notification(notice_id: int):
    notices.mark_read(g.api_user, notice_id)
    db.session.commit()
    return jsonify(unread=notices.unread_count(g.api_user))


@bp.get("/days-off")
@doc(summary="Days off the county declared (beyond the official calendar)", tags=["deadlines"],
     responses=responses(("200", json_body({"type": "object", "required": ["days_off"], "properties": {
         "days_off": {"type": "array", "items": {"type": "object", "properties": {
             "day": {"type": "string", "format": "date"}, "reason": {"type": "string"}}}}}}))))
def list_days_off():
    return jsonify(days_off=[{"day": d.day.isoformat(), "reason": d.reason}
                             for d in days_off.list_days_off()])


@bp.post("/days-off")
@doc(summary="Declare a day off", tags=["deadlines"],
     requestBody=json_request({"type": "object", "required": ["day"], "properties": {
         "day": {"type": "string", "format": "date"}, "reason": {"type": "string"}}}),
     responses=responses(("201", json_body({"type": "object", "required": ["day", "reason"], "properties": {
         "day": {"type": "string", "format": "date"}, "reason": {"type": ["string", "null"]}}})),
         400, 403, 409, 422))
def declare_day_off():
    data = body()
    row = days_off.declare_day_off(g.api_user, data.get("day"), data.get("reason"))
    db.session.commit()
    return jsonify(day=row.day.isoformat(), reason=row.reason), 201


@bp.delete("/days-off/<day>")
@doc(summary="Remove a declared day off", tags=["deadlines"],
     responses=responses(("204", {"description": "Removed"}), 403, 404))
def remove_day_off(day: str):
    try:
        parsed = parse_day(day)
    except ValueError:
        abort(404)
    days_off.remove_day_off(g.api_user, parsed)
    db.session.commit()
    return "", 204
