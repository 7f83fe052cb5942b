"""Reports that do not move a case: progress notes (进展反馈) by its holder and assisting
departments, and the filing group's record that it told the resident the answer (反馈群众)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseAssist, CaseEvent, User
from casetrack.models.cases import FEEDBACK, PROGRESS
from casetrack.services.workdays.calendar import parse_day, today
from casetrack.services.casework.cases import MAX_TEXT, may_act
from casetrack.services.common.errors import Forbidden, ValidationFailed
from casetrack.services.casework.notices import log_event
from casetrack.services.figures import summaries
from casetrack.services.common.text import text_error
from casetrack.services.figures.definitions import local_day

# How the group told the resident (反馈方式).
HOW = {"phone": _l("By phone"), "visit": _l("In person"), "wechat": _l("By WeChat"), "other": _l("Otherwise")}


def assists(case: Case, user: User) -> bool:
    """Whether the user's unit is an assisting department (协办) of the case."""
    return user.unit_id is not None and db.session.scalar(select(select(CaseAssist.case_id).where(
        CaseAssist.case_id == case.id, CaseAssist.unit_id == user.unit_id).exists())) is True


def may_report(case: Case, user: User) -> bool:
    """The unit holding the case and its assisting departments report progress on it."""
    return user.active and (may_act(case, user) or assists(case, user))


def may_feed_back(case: Case, user: User) -> bool:
    """The group that filed the case tells the resident (an inspection's problem has none)."""
    return user.active and user.unit_id is not None and user.unit_id == case.group_id \
        and case.source != "inspection"


def _unknown(fields: dict[str, Any]) -> dict[str, str]:
    return {name: _("This action takes no such field.") for name in fields}


def _text(value: Any, errors: dict[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["text"] = _("Please fill this in.")
    elif len(value) > MAX_TEXT:
        errors["text"] = _("At most %(n)d characters.", n=MAX_TEXT)
    elif problem := text_error(value, one_line=False):
        errors["text"] = problem
    else:
        return value.strip()
    return ""


def _day(value: Any, case: Case, errors: dict[str, str]) -> dt.date:
    """The day reported on: today when not given; not before the case was filed nor in the future."""
    if value in (None, ""):
        return today()
    try:
        day = parse_day(value)
    except (TypeError, ValueError):
        errors["date"] = _("A date like 2026-07-31, please.")
        return today()
    if day > today() or day < local_day(case.created_at):
        errors["date"] = _("A day from the case's filing to today, please.")
    return day


def add_progress(actor: User, case: Case, text: Any, date: Any = None, **unknown: Any) -> CaseEvent:
    """A dated progress note on a case, which stays where it is (`date`: the day reported on)."""
    if not may_report(case, actor):
        raise Forbidden(_("Only the unit holding this case and its assisting departments report progress."))
    errors = _unknown(unknown)
    on = date
    note, day = _text(text, errors), _day(on, case, errors)
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    return _log(case, actor, PROGRESS, {"date": day.isoformat(), "text": note})


def record_feedback(actor: User, case: Case, text: Any, how: Any, date: Any = None,
                    **unknown: Any) -> CaseEvent:
    """The filing group records that it told the resident the answer: when, how and what."""
    if not may_feed_back(case, actor):
        raise Forbidden(_("Only the group that filed this case records what the resident was told."))
    errors = _unknown(unknown)
    on = date
    note, day = _text(text, errors), _day(on, case, errors)
    if how not in HOW:
        errors["how"] = _("By phone, in person, by WeChat or otherwise, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    with summaries.recount(cases=[case.id]):   # the resident told: the figure `told`
        feedback = _log(case, actor, FEEDBACK, {"date": day.isoformat(), "how": how, "text": note})
    return feedback


def _log(case: Case, actor: User, trigger: str, data: dict[str, Any]) -> CaseEvent:
    return log_event(case, actor, trigger, data)


def last_reports(case_ids: list[int]) -> dict[int, dt.date]:
    """Case id -> the day of its newest progress report, for a page of cases (one query)."""
    if not case_ids:
        return {}
    rows = db.session.execute(select(CaseEvent.case_id, func.max(CaseEvent.at))
                              .where(CaseEvent.case_id.in_(case_ids), CaseEvent.trigger == PROGRESS)
                              .group_by(CaseEvent.case_id))
    return {case_id: local_day(at) for case_id, at in rows}
