"""Petitions (信访): receptions (接访), filed as cases in one step; cases taken down to the grass
roots (带案下访); the petition cases a leader owns (包案)."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, Text, case, cast, false, func, or_, select

from casetrack.extensions import db
from casetrack.models import PETITION_FORMS, Case, Petition, TakeDown, Unit, User
from casetrack.services.organisation import reference
from casetrack.services.workdays.calendar import now, parse_day, today
from casetrack.services.casework.cases import MAX_ID, MAX_TEXT, file_case, scoped_cases, whole_number
from casetrack.services.common.errors import Forbidden, NotFound, ValidationFailed
from casetrack.services.casework.notices import log_event
from casetrack.services.common.text import text_error

# Who receives petitioners: the cadres of a group, a team's leaders, the county office.
RECEIVERS = {"group_member": "group", "group_leader": "group", "team_leader": "team",
             "county_officer": "county"}
MAX_PERSONS = 10_000
MAX_RESIDENTS = 50
MAX_CADRES = 50
OLDEST_DAYS = 366


def may_receive(user: User) -> bool:
    return user.active and user.unit is not None and RECEIVERS.get(user.role) == user.unit.kind


def scoped_petitions(user: User) -> Select[tuple[Petition]]:
    """Every petition query starts here: a group its own receptions, a team its own and its
    groups', the county office all of its county's; no one else any."""
    stmt = select(Petition)
    if not user.active or user.unit is None or user.role == "admin" or user.unit.kind == "department":
        return stmt.where(false())
    return stmt.where(Petition.unit_id.in_(select(Unit.id).where(Unit.path.startswith(user.unit.path))))


def get_petition(user: User, petition_id: int) -> Petition:
    row = db.session.scalars(scoped_petitions(user).where(Petition.id == petition_id)).first() \
        if 0 < petition_id < MAX_ID else None
    if row is None:
        raise NotFound(_("No such petition."))
    return row


def petition_figures(user: User) -> tuple[int, int, int]:
    """The receptions in scope counted by the database: batches, persons, collective batches."""
    batches, persons, collective = db.session.execute(scoped_petitions(user).with_only_columns(
        func.count(Petition.id), func.sum(Petition.persons),
        func.sum(case((Petition.collective.is_(True), 1), else_=0)))).one()
    return batches or 0, persons or 0, collective or 0


def petition_matches(q: str):
    """The subject, place or details, or a petitioner's name or phone (the names list is JSON
    text, where Chinese is written as \\u escapes: it is searched as JSON writes the words)."""
    people = cast(Petition.residents, Text)
    return or_(Petition.subject.contains(q, autoescape=True), Petition.place.contains(q, autoescape=True),
               Petition.details.contains(q, autoescape=True),
               people.contains(json.dumps(q)[1:-1], autoescape=True))


def list_petitions(user: User, cursor: Any = None, limit: Any = None,
                   q: str | None = None) -> tuple[list[Petition], int | None]:
    """One page of the receptions in scope (matching q), newest first (keyset on id), and the next cursor."""
    size = _page_size(limit)
    stmt = scoped_petitions(user)
    if q:
        stmt = stmt.where(petition_matches(q))
    if cursor not in (None, ""):
        stmt = stmt.where(Petition.id < _whole(cursor, "cursor"))
    rows = list(db.session.scalars(stmt.order_by(Petition.id.desc()).limit(size + 1)))
    return (rows[:size], rows[size - 1].id) if len(rows) > size else (rows, None)


def owned_cases(user: User, cursor: Any = None, limit: Any = None) -> tuple[list[Case], int | None]:
    """One page of the cases the user owns (包案), newest first, and the next cursor."""
    size = _page_size(limit)
    stmt = scoped_cases(user).where(Case.owner_id == user.id)
    if cursor not in (None, ""):
        stmt = stmt.where(Case.id < _whole(cursor, "cursor"))
    rows = list(db.session.scalars(stmt.order_by(Case.id.desc()).limit(size + 1)))
    return (rows[:size], rows[size - 1].id) if len(rows) > size else (rows, None)


def _page_size(limit: Any) -> int:
    if limit in (None, ""):
        return current_app.config["PAGE_SIZE"]
    return max(1, min(_whole(limit, "limit"), 200))


def _whole(value: Any, name: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not whole_number(text) or not 0 < int(text) < MAX_ID:
        raise ValidationFailed({name: _("A whole number, please.")})
    return int(text)


def _line(value: Any, name: str, limit: int, errors: dict[str, str], required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value.strip()) > limit:
        errors[name] = _("At most %(n)d characters.", n=limit)
        return ""
    if required and not value.strip():
        errors[name] = _("Please fill this in.")
    elif problem := text_error(value.strip(), one_line=limit <= 200):
        errors[name] = problem
    return value.strip()


def _day(value: Any, name: str, errors: dict[str, str]) -> date | None:
    try:
        day = parse_day(value or "")
    except ValueError:
        errors[name] = _("A date like 2026-07-31, please.")
        return None
    if day > today():
        errors[name] = _("This date cannot be in the future.")
    elif day < today() - timedelta(days=OLDEST_DAYS):
        errors[name] = _("A date more than a year ago cannot be entered.")
    return day


def _residents(value: Any, errors: dict[str, str]) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        errors["residents"] = _("A list of petitioners, each with a name and a phone.")
        return []
    if len(value) > MAX_RESIDENTS:
        errors["residents"] = _("At most %(n)d petitioners named.", n=MAX_RESIDENTS)
        return []
    out = []
    for i, person in enumerate(value):
        for key in person:
            if key not in ("name", "phone"):
                errors[f"residents.{i}.{key}"] = _("This action takes no such field.")
        out.append({"name": _line(person.get("name"), f"residents.{i}.name", 60, errors, required=True),
                    "phone": _line(person.get("phone"), f"residents.{i}.phone", 30, errors)})
    return out


def record_petition(actor: User, *, date: Any = None, form: Any = None, persons: Any = None,
                    subject: Any = None, category: Any = None,
                    place: Any = "", collective: Any = False, details: Any = "", residents: Any = None,
                    file_case: Any = False) -> Petition:
    """Record one batch of petitioners received by the actor's unit; with `file_case` the
    petition is filed as a case of the campaign at once (its source: petition)."""
    if not may_receive(actor):
        raise Forbidden(_("Only work groups, work teams and the county office receive petitioners."))
    errors: dict[str, str] = {}
    day = _day(date, "date", errors)
    if form not in PETITION_FORMS:
        errors["form"] = _("Visit, letter, online or phone, please.")
    count = str(persons).strip() if persons is not None else ""
    if isinstance(persons, bool) or not whole_number(count) or not 1 <= int(count) <= MAX_PERSONS:
        errors["persons"] = _("A whole number from 1 to %(n)d, please.", n=MAX_PERSONS)
    for name, flag in (("collective", collective), ("file_case", file_case)):
        if not isinstance(flag, bool):
            errors[name] = _("Yes or no, please.")
    subject = _line(subject, "subject", 200, errors, required=True)
    place = _line(place, "place", 200, errors)
    details = _line(details, "details", MAX_TEXT, errors)
    people = _residents(residents, errors)
    cat = reference.active_category(reference.current(), category.strip()) if isinstance(category, str) else None
    if cat is None:
        errors["category"] = _("Choose one of the categories.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    petition = Petition(unit_id=actor.unit_id, received_on=day, place=place, form=form,
                        persons=int(count), collective=collective, subject=subject, details=details,
                        category_id=cat.id, residents=people, created_by_id=actor.id, created_at=now())
    if file_case:
        first = people[0] if people else {}
        petition.case = _file(actor, subject, details, cat.code, first, day)
    db.session.add(petition)
    db.session.flush()
    return petition


def _file(actor: User, subject: str, details: str, category: str, person: dict[str, str], day: date) -> Case:
    """The petition as a case, found on the day it was received."""
    try:
        return file_case(actor, title=subject, description=details, category=category, kind="individual",
                         resident={"name": person.get("name", ""), "phone": person.get("phone", "")},
                         source="petition", found_on=day)
    except ValidationFailed as exc:   # the reception's day is the case's: a day before the campaign
        if "found_on" in exc.errors:
            exc.errors["date"] = exc.errors.pop("found_on")
        raise


# -- taken down to the grass roots (带案下访) -------------------------------------------------

def may_take_down(user: User) -> bool:
    return user.active and user.role in RECEIVERS


def take_down(actor: User, case: Case, *, date: Any, cadres: Any) -> list[TakeDown]:
    """Record that cadres took a case in the actor's scope down to the grass roots on a day: one
    row per cadre and one event on the case's timeline (the case does not move)."""
    if not may_take_down(actor):
        raise Forbidden(_("Only cadres of groups, teams and the county office record this."))
    errors: dict[str, str] = {}
    day = _day(date, "date", errors)
    people = _cadres_of(case, cadres, errors)
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    moment = now()
    rows = [TakeDown(case_id=case.id, cadre_id=u.id, group_id=case.group_id, taken_on=day, recorded_by_id=actor.id,
                     created_at=moment)
            for u in people]
    db.session.add_all(rows)
    log_event(case, actor, "take_down", {"date": day.isoformat(), "cadres": [u.username for u in people]})
    db.session.flush()
    return rows


def _cadres_of(case: Case, cadres: Any, errors: dict[str, str]) -> list[User]:
    """Active users of the case's county, by username or id."""
    if isinstance(cadres, str):
        cadres = [c for c in re.split(r"[,，、;；\s]+", cadres) if c]
    if not isinstance(cadres, list) or not cadres or len(cadres) > MAX_CADRES \
            or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in cadres):
        errors["cadres"] = _("The cadres who went: a list of usernames or ids (at most %(n)d).", n=MAX_CADRES)
        return []
    names = {str(c).strip() for c in cadres if isinstance(c, str) and not whole_number(c.strip())}
    ids = {int(str(c).strip()) for c in cadres if whole_number(str(c).strip()) and 0 < int(str(c).strip()) < MAX_ID}
    found = list(db.session.scalars(select(User).where(
        User.active.is_(True), (User.username.in_(names)) | (User.id.in_(ids))))) if names or ids else []
    county = case.group.ancestor("county")
    found = [u for u in found if u.unit is not None and county is not None and county.contains(u.unit)]
    if len(found) != len({str(c).strip() for c in cadres}) or not found:
        errors["cadres"] = _("Not a cadre of this case's county: give active users' usernames or ids.")
    return sorted({u.id: u for u in found}.values(), key=lambda u: u.username)


def take_downs_of(case: Case) -> list[TakeDown]:
    return list(db.session.scalars(select(TakeDown).where(TakeDown.case_id == case.id)
                                   .order_by(TakeDown.taken_on, TakeDown.id)))
