"""JSON API of deadlines: extensions (延期), supervision notes (督办), notices, days off."""
from __future__ import annotations

from datetime import date

from flask import abort, g, jsonify

from casetrack.extensions import db
from casetrack.services import days_off, extensions, notices
from casetrack.services.cases import get_case
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
def request_extension(case_id: int):
    data = body()
    ext = extensions.request_extension(g.api_user, get_case(g.api_user, case_id),
                                       data.get("days"), data.get("reason"))
    db.session.commit()
    return jsonify(extension_json(ext)), 201


@bp.post("/extensions/<int:extension_id>/decision")
def decide_extension(extension_id: int):
    data = body()
    ext = extensions.decide_extension(g.api_user, extensions.get_extension(g.api_user, extension_id),
                                      data.get("approve"), data.get("note", ""))
    db.session.commit()
    return jsonify(extension_json(ext))


@bp.get("/extensions/ledger")
def extension_ledger():
    return jsonify(units=extensions.extension_ledger(g.api_user))


@bp.post("/cases/<int:case_id>/supervision")
def supervise(case_id: int):
    note = notices.add_supervision_note(g.api_user, get_case(g.api_user, case_id), body().get("text"))
    db.session.commit()
    return jsonify(note_json(note)), 201


@bp.post("/supervision/<int:note_id>/acknowledge")
def acknowledge(note_id: int):
    note = notices.acknowledge(g.api_user, note_id)
    db.session.commit()
    return jsonify(note_json(note))


@bp.get("/notifications")
def notifications():
    user = g.api_user
    return jsonify(unread=notices.unread_count(user),
                   notifications=[{"id": n.id, "kind": n.kind, "case": n.case_id,
                                   "message": n.message, "read": n.read,
                                   "created_at": n.created_at.isoformat()}
                                  for n in notices.inbox(user)],
                   supervision=[note_json(n) for n in notices.pending_notes(user)])


@bp.post("/notifications/<int:notice_id>/read")
def read_notification(notice_id: int):
    notices.mark_read(g.api_user, notice_id)
    db.session.commit()
    return jsonify(unread=notices.unread_count(g.api_user))


@bp.get("/days-off")
def list_days_off():
    return jsonify(days_off=[{"day": d.day.isoformat(), "reason": d.reason}
                             for d in days_off.list_days_off()])


@bp.post("/days-off")
def declare_day_off():
    data = body()
    row = days_off.declare_day_off(g.api_user, data.get("day"), data.get("reason"))
    db.session.commit()
    return jsonify(day=row.day.isoformat(), reason=row.reason), 201


@bp.delete("/days-off/<day>")
def remove_day_off(day: str):
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    days_off.remove_day_off(g.api_user, parsed)
    db.session.commit()
    return "", 204
