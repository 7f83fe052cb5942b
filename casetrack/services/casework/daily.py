"""The daily feedback of a campaign (日反馈): each working day a unit holding open problems says of
each one that it is done, in progress (with the day it expects to finish) or needs coordination
(with why), in one report; the office sees which units have not reported on a day."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from casetrack.extensions import db
from casetrack.models import Case, DailyFeedback, Unit, User
from casetrack.models.cases import PROGRESS
from casetrack.services.casework.cases import may_act, scoped_cases, whole_number
from casetrack.services.casework.notices import log_event
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from casetrack.services.common.text import text_error
from casetrack.services.workdays.calendar import is_workday, now, parse_day, today
from casetrack.workflow.campaigns import Campaign
from casetrack.workflow.current import registry

# What a unit may say of a problem (the status codes are the API's).
STATUSES = {"done": _l("Done"), "in_progress": _l("In progress"), "needs_coordination": _l("Needs coordination")}
MAX_REASON = 500


def reporting_states(campaign: Campaign) -> list[str]:
    """The states of the campaign's workflows whose holder reports each working day
    (`report_every`, as the sweep reads it); a workflow without any: every open state."""
    flows = [wf for (name, _v), wf in registry().workflows.items() if name in campaign.workflows]
    daily = {s.name for wf in flows for s in wf.states.values() if s.report_every}
    return sorted(daily or {s.name for wf in flows for s in wf.states.values() if not s.final})


def open_problems(user: User, campaign: Campaign) -> list[Case]:
    """The campaign's problems the user's unit holds in a state that reports daily and the user
    may act on, oldest first."""
    if not user.active or user.unit_id is None:
        return []
    rows = db.session.scalars(scoped_cases(user).where(
        Case.campaign == campaign.code, Case.unit_id == user.unit_id,
        Case.state.in_(reporting_states(campaign))).order_by(Case.id))
    return [c for c in rows if may_act(c, user)]


def reports_of(case_ids: list[int], day: dt.date) -> dict[int, DailyFeedback]:
    """Case id -> its feedback of the day, for the cases given."""
    if not case_ids:
        return {}
    return {r.case_id: r for r in db.session.scalars(select(DailyFeedback).where(
        DailyFeedback.case_id.in_(case_ids), DailyFeedback.day == day))}


def _item(item: Any, problems: dict[int, Case], errors: dict[str, str]) -> dict[str, Any] | None:
    """One problem's word checked: {case, status, expected_on, reason}, or None with errors."""
    if not isinstance(item, dict):
        errors["items"] = _("Each problem with its status, please.")
        return None
    raw = item.get("case")
    ident = raw if isinstance(raw, int) and not isinstance(raw, bool) else \
        int(raw) if isinstance(raw, str) and whole_number(raw) else None
    if ident not in problems:
        errors[f"items.{raw}"] = _("Not an open problem your unit holds.")
        return None
    key, status = f"items.{ident}", item.get("status")
    unknown = set(item) - {"case", "status", "expected_on", "reason"}
    if unknown:
        errors[f"{key}.{sorted(unknown)[0]}"] = _("This action takes no such field.")
    if status not in STATUSES:
        errors[f"{key}.status"] = _("Done, in progress or needs coordination, please.")
        return None
    out = {"case_id": ident, "status": status, "expected_on": None, "reason": None}
    if status == "in_progress":
        try:
            out["expected_on"] = parse_day(item.get("expected_on"))
        except (TypeError, ValueError):
            errors[f"{key}.expected_on"] = _("The day you expect to finish, like 2026-07-31, please.")
        else:
            if out["expected_on"] < today():
                errors[f"{key}.expected_on"] = _("The day you expect to finish cannot be past.")
    if status == "needs_coordination":
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            errors[f"{key}.reason"] = _("Say what needs coordinating, please.")
        elif len(reason) > MAX_REASON:
            errors[f"{key}.reason"] = _("At most %(n)d characters.", n=MAX_REASON)
        elif problem := text_error(reason, one_line=False):
            errors[f"{key}.reason"] = problem
        else:
            out["reason"] = reason.strip()
    return out


def summary(status: str, expected_on: dt.date | None, reason: str | None) -> str:
    """The line the timeline keeps of one problem's feedback."""
    text = _("Daily feedback: %(status)s", status=STATUSES[status])
    if expected_on is not None:
        text += _(", expected to finish on %(day)s", day=expected_on.isoformat())
    if reason:
        text += _(": %(reason)s", reason=reason)
    return text


def report_feedback(actor: User, campaign: Campaign, items: Any) -> dict[str, Any]:
    """The unit's feedback of today on every open problem it holds, in one report, all or nothing.

    A second report the same day replaces the first (a unit corrects itself when a problem is
    done in the afternoon; the timeline keeps both): the office counts the newest."""
    problems = {c.id: c for c in open_problems(actor, campaign)}
    if not problems:
        raise Forbidden(_("Your unit holds no open problem of this campaign to report on."))
    if not isinstance(items, list) or len(items) > len(problems):
        raise ValidationFailed({"items": _("Each problem with its status, please.")})
    errors: dict[str, str] = {}
    checked = [row for row in (_item(i, problems, errors) for i in items) if row is not None]
    given = {row["case_id"] for row in checked}
    for case_id in problems:
        if case_id not in given and f"items.{case_id}" not in errors and not any(
                k.startswith(f"items.{case_id}.") for k in errors):
            errors[f"items.{case_id}.status"] = _("Choose one for this problem, please.")
    if len(given) < len(checked):
        errors["items"] = _("Each problem once, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    day, moment = today(), now()
    replaced = bool(reports_of(list(given), day))
    try:
        db.session.execute(delete(DailyFeedback).where(DailyFeedback.case_id.in_(given), DailyFeedback.day == day))
        db.session.execute(insert(DailyFeedback), [
            {**row, "campaign": campaign.code, "day": day, "unit_id": actor.unit_id,
             "reported_by_id": actor.id, "reported_at": moment} for row in checked])
        for row in checked:   # the progress report the sweep's `report_every` counts, on the timeline
            log_event(problems[row["case_id"]], actor, PROGRESS, {
                "date": day.isoformat(), "text": summary(row["status"], row["expected_on"], row["reason"])})
        db.session.flush()
    except IntegrityError:   # the same unit's report sent twice at once
        db.session.rollback()
        raise Conflict(_("Your unit's feedback was sent at the same moment from elsewhere; reload.")) from None
    return {"day": day.isoformat(), "reported": len(checked), "replaced": replaced,
            "needs_coordination": [row["case_id"] for row in checked if row["status"] == "needs_coordination"]}


@dataclass
class UnitFeedback:
    """A unit holding open problems of the campaign, and how many of them it reported on a day."""
    unit: Unit
    open: int
    reported: int

    @property
    def missing(self) -> int:
        return self.open - self.reported


@dataclass
class FeedbackDay:
    day: dt.date
    working_day: bool
    reported: list[UnitFeedback]   # units that reported on every open problem
    missing: list[UnitFeedback]    # units owing a report (none on a day off), most missing first

    def as_json(self) -> dict[str, Any]:
        def row(u: UnitFeedback) -> dict[str, Any]:
            return {"unit": u.unit.code, "name": u.unit.name, "open": u.open, "reported": u.reported,
                    "missing": u.missing}
        return {"day": self.day.isoformat(), "working_day": self.working_day,
                "reported": [row(u) for u in self.reported], "missing": [row(u) for u in self.missing]}


def feedback_day(viewer: User, campaign: Campaign, day: dt.date | None = None) -> FeedbackDay:
    """For a day (today by default): the units holding problems of the campaign in a state that
    reports daily, in the viewer's scope, counted by the database, split into those that reported on all of them and
    those that did not; on a day off no one owes a report. The problems counted are those open
    now (a problem struck off since is no longer owed)."""
    day = day or today()
    stmt = scoped_cases(viewer).where(Case.campaign == campaign.code, Case.state.in_(reporting_states(campaign)))
    counts = db.session.execute(stmt.outerjoin(DailyFeedback, and_(
        DailyFeedback.case_id == Case.id, DailyFeedback.day == day)).with_only_columns(
        Case.unit_id, func.count(Case.id), func.count(DailyFeedback.id)).group_by(Case.unit_id)).all()
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_([r[0] for r in counts])))}
    rows = [UnitFeedback(units[unit_id], n, done) for unit_id, n, done in counts]
    working = is_workday(day)
    reported = sorted((r for r in rows if r.missing == 0), key=lambda r: r.unit.code)
    missing = sorted((r for r in rows if r.missing > 0), key=lambda r: (-r.missing, r.unit.code))
    if not working:
        reported, missing = sorted((r for r in rows if r.reported), key=lambda r: r.unit.code), []
    return FeedbackDay(day, working, reported, missing)
