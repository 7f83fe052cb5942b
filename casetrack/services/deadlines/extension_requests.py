"""Extension requests (延期): the handling unit asks for more working days, the county office decides."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case as when
from sqlalchemy import distinct, func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Extension, Unit, User
from casetrack.services.workdays.calendar import add_working_days, now, today
from casetrack.services.casework.cases import may_act, whole_number, workflow_of
from casetrack.services.workdays.clock import forget_none_pending, pending_extension, warn_day
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.casework.notices import log_event, notify
from casetrack.services.figures import summaries
from casetrack.services.common.text import text_error
from casetrack.workflow import ExtensionRules


def _rules(case: Case) -> ExtensionRules:
    rules = workflow_of(case).extensions
    if rules is None:
        raise Conflict(_("This workflow allows no extensions."), "no_extensions")
    return rules


def request_extension(actor: User, case: Case, days: Any, reason: Any) -> Extension:
    """The handling unit asks for `days` more working days, with a reason."""
    rules = _rules(case)
    if not may_act(case, actor) or actor.role not in rules.request_roles:
        raise Forbidden(_("Only the handling unit's leader asks for an extension."))
    if case.state not in rules.states or case.deadline is None:
        raise Conflict(_("No extension is possible in this state."), "invalid_state")
    if pending_extension(case) is not None:
        raise Conflict(_("An extension is already waiting for a decision."), "pending")
    errors: dict[str, str] = {}
    if isinstance(days, bool) or not whole_number(str(days).strip()) \
            or not 1 <= int(str(days).strip()) <= rules.max_days:
        errors["days"] = _("A whole number from 1 to %(n)d, please.", n=rules.max_days)
    if not isinstance(reason, str) or not reason.strip():
        errors["reason"] = _("Please fill this in.")
    elif len(reason) > 2000:
        errors["reason"] = _("At most %(n)d characters.", n=2000)
    elif problem := text_error(reason, one_line=False):
        errors["reason"] = problem
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    with summaries.recount(cases=[case.id]):   # a pending extension stops the clock the figures read
        ext = Extension(case_id=case.id, unit_id=case.unit_id, state=case.state,
                        days=int(str(days).strip()), reason=reason.strip(), old_deadline=case.deadline,
                        requested_by_id=actor.id, requested_at=now())
        db.session.add(ext)
        forget_none_pending()
        log_event(case, actor, "extension_request", {"days": ext.days, "reason": ext.reason})
        county = case.group.ancestor("county")
        if county is not None:
            notify("extension", case, _l("Extension of %(n)d working days asked: %(reason)s",
                                          n=ext.days, reason=ext.reason), unit=county)
    return ext


def get_extension(actor: User, extension_id: int) -> Extension:
    from casetrack.services.casework.cases import get_case
    ext = db.session.get(Extension, extension_id)
    if ext is None:
        raise NotFound(_("No such extension."))
    get_case(actor, ext.case_id)  # out of scope looks like unknown
    return ext


def decide_extension(actor: User, ext: Extension, approve: Any, note: Any = "") -> Extension:
    """Approve (the deadline moves by the days asked) or refuse a pending extension."""
    case = ext.case
    rules = _rules(case)
    if actor.role not in rules.approve_roles or not actor.active:
        raise Forbidden(_("Only the county office decides on extensions."))
    if not isinstance(approve, bool):
        raise ValidationFailed({"approve": _("Yes or no, please.")})
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise ValidationFailed({"note": _("At most %(n)d characters.", n=2000)})
    if problem := text_error(note, one_line=False):
        raise ValidationFailed({"note": problem})
    if ext.status != "pending":
        raise Conflict(_("This extension was already decided."), "decided")
    if case.state != ext.state:
        raise Conflict(_("The case has moved on since the extension was asked."), "moved_on")
    with summaries.recount(cases=[case.id]):   # its deadline, and whether its extensions met it
        ext.status = "approved" if approve else "refused"
        ext.decided_by_id, ext.decided_at, ext.decision_note = actor.id, now(), (note or "").strip()
        if approve:
            old = case.deadline
            ext.new_deadline = case.deadline = add_working_days(max(old, today()), ext.days)
            case.warn_on = warn_day(max(old, today()), case.deadline, workflow_of(case).warn_at)
        log_event(case, actor, "extension_" + ext.status,
             {"days": ext.days, "deadline": case.deadline.isoformat() if case.deadline else None,
              **({"note": ext.decision_note} if ext.decision_note else {})})
        notify("extension", case, _l("Extension approved") if approve else _l("Extension refused"), unit=ext.unit)
    return ext


def extension_ledger(actor: User) -> list[dict[str, Any]]:
    """Per unit: extensions asked, approved, refused, pending, days granted, and the share of
    the cases it handled that got an approved extension — for the county office."""
    if actor.role not in ("county_officer", "admin", "leader") or actor.unit is None:   # a leader reads it
        raise Forbidden(_("Only the county office sees the extension ledger."))
    within = select(Unit.id).where(Unit.path.startswith(actor.unit.path))
    counts = db.session.execute(
        select(Extension.unit_id, func.count(Extension.id),
               func.sum(when((Extension.status == "approved", 1), else_=0)),
               func.sum(when((Extension.status == "refused", 1), else_=0)),
               func.sum(when((Extension.status == "pending", 1), else_=0)),
               func.sum(when((Extension.status == "approved", Extension.days), else_=0)),
               func.count(distinct(when((Extension.status == "approved", Extension.case_id)))))
        .where(Extension.unit_id.in_(within)).group_by(Extension.unit_id)).all()
    handled = dict(db.session.execute(
        select(CaseEvent.to_unit_id, func.count(distinct(CaseEvent.case_id)))
        .where(CaseEvent.to_unit_id.in_([row[0] for row in counts]))
        .group_by(CaseEvent.to_unit_id)).all())
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(handled)))}
    ledger = []
    for unit_id, asked, approved, refused, pending, days, extended in counts:
        total = handled.get(unit_id, 0)
        ledger.append({"unit": units[unit_id].code, "unit_name": units[unit_id].name,
                       "asked": asked, "approved": int(approved), "refused": int(refused),
                       "pending": int(pending), "days_granted": int(days),
                       "extended_cases": extended, "handled_cases": total,
                       "extended_share": round(extended / total, 4) if total else 0.0})
    return sorted(ledger, key=lambda row: (-row["extended_share"], row["unit"]))
