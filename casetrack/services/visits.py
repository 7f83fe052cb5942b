"""Use cases on visits: record one (with the problems found), a day's round, an import."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Case, Target, Unit, User, Visit
from casetrack.services.calendar import now, parse_day, today
from casetrack.services.cases import MAX_ID, MAX_TEXT, file_case, whole_number
from casetrack.services.errors import Forbidden, ValidationFailed
from casetrack.services.location import Place, parse_address, parse_place, place_json
from casetrack.services.sheets import ImportFailed, cell_text, read_table, workbook
from casetrack.services.text import text_error

VISITORS = ("group_member", "group_leader")
PROBLEM_FIELDS = ("title", "description", "category", "kind", "resident", "location", "address")
MAX_SUGGESTIONS = 10_000
MAX_ROUND = 200
OLDEST_DAYS = 366


def may_record(user: User) -> bool:
    """The cadres of a work group record its visits."""
    return user.active and user.role in VISITORS and user.unit is not None \
        and user.unit.kind == "group"


def _day(value: Any, errors: dict[str, str]) -> date | None:
    try:
        day = parse_day(value or "")
    except ValueError:
        errors["date"] = _("A date like 2026-07-31, please.")
        return None
    if day > today():
        errors["date"] = _("A visit cannot be in the future.")
    elif day < today() - timedelta(days=OLDEST_DAYS):
        errors["date"] = _("A visit more than a year ago cannot be entered.")
    return day


def _cadres(actor: User, usernames: Any, errors: dict[str, str]) -> list[User]:
    """The cadres who went: users of the actor's group or of a unit above it (a team leader
    visiting with them). None given: the actor."""
    if usernames in (None, "", []):
        return [actor]
    if isinstance(usernames, str):
        usernames = re.split(r"[,，、;；\s]+", usernames)
    if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames):
        errors["cadres"] = _("A list of usernames, please.")
        return []
    names = sorted({u.strip() for u in usernames if u.strip()})
    users = list(db.session.scalars(select(User).where(User.username.in_(names),
                                                       User.active.is_(True)))) if names else []
    found = {u.username: u for u in users if u.unit is not None and u.unit.contains(actor.unit)}
    missing = [n for n in names if n not in found]
    if missing:
        errors["cadres"] = _("Not a cadre of this group or above it: %(names)s.",
                             names=", ".join(missing))
    return [found[n] for n in names if n in found] or ([] if missing else [actor])


def _when_who_what(actor: User, day: Any, cadres: Any, notes: Any,
                   errors: dict[str, str]) -> tuple[date | None, list[User], str]:
    """The day, the cadres and the notes of a visit or a round, checked."""
    notes = "" if notes is None else notes
    if not isinstance(notes, str) or len(notes) > MAX_TEXT:
        errors["notes"] = _("At most %(n)d characters.", n=MAX_TEXT)
        notes = ""
    elif problem := text_error(notes, one_line=False):
        errors["notes"] = problem
    return _day(day, errors), _cadres(actor, cadres, errors), notes


def _suggestions(value: Any, errors: dict[str, str]) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not whole_number(str(value).strip()) \
            or int(str(value).strip()) > MAX_SUGGESTIONS:
        errors["suggestions"] = _("A whole number of zero or more, please.")
        return 0
    return int(str(value).strip())


def _own_target(actor: User, ident: Any) -> Target | None:
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        return None
    if not 0 < ident < MAX_ID:
        return None
    return db.session.scalars(select(Target).where(Target.id == ident,
                                                   Target.group_id == actor.unit_id)).first()


def record_visit(actor: User, *, target: Any, date: Any, cadres: Any = None, notes: Any = "",
                 suggestions: Any = 0, problems: Any = None, location: Any = None,
                 address: Any = None) -> tuple[Visit, list[Case]]:
    """Record a visit to one of the group's targets; each problem found is filed as a case.
    The visit's place (`location` in WGS-84, `address`) defaults to the target's, a problem's
    to the visit's."""
    if not may_record(actor):
        raise Forbidden(_("Only a work group's cadres record visits."))
    errors: dict[str, str] = {}
    target_row = _own_target(actor, target)
    if target_row is None:
        errors["target"] = _("No such visit target in your group.")
    day, people, notes = _when_who_what(actor, date, cadres, notes, errors)
    count = _suggestions(suggestions, errors)
    place, where = parse_place(location, errors), parse_address(address, errors)
    if target_row is not None:
        if not place.known and target_row.lat is not None and target_row.long is not None:
            place = Place(target_row.lat, target_row.long)
        where = where or target_row.address
    problems = [] if problems is None else problems
    if not isinstance(problems, list) or not all(isinstance(p, dict) for p in problems):
        errors["problems"] = _("A list of problems, each as when filing a case.")
        problems = []
    for i, body in enumerate(problems):
        for key in body:
            if key not in PROBLEM_FIELDS:
                errors[f"problems.{i}.{key}"] = _("This action takes no such field.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))

    visit = Visit(target=target_row, group_id=actor.unit_id, visited_on=day, notes=notes.strip(),
                  suggestions=count, cadres=people, created_by=actor, created_at=now(),
                  lat=place.lat, long=place.long, location_accuracy=place.accuracy, address=where)
    db.session.add(visit)
    db.session.flush()
    cases = []
    for i, body in enumerate(problems):
        try:
            cases.append(file_case(actor, title=body.get("title"),
                                   description=body.get("description", ""),
                                   category=body.get("category"), kind=body.get("kind"),
                                   resident=body.get("resident"), target=target_row.id,
                                   visit=visit.id,
                                   location=body.get("location") or place_json(
                                       place.lat, place.long, place.accuracy),
                                   address=body.get("address") or where))
        except ValidationFailed as exc:
            errors.update({f"problems.{i}.{k}": v for k, v in exc.errors.items()})
    if errors:  # the request rolls back: no visit and no case is left behind
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    return visit, cases


def record_round(actor: User, *, targets: Any, date: Any, cadres: Any = None,
                 notes: Any = "") -> list[Visit]:
    """A day's round: one visit to each of several of the group's targets, by the same cadres."""
    if not may_record(actor):
        raise Forbidden(_("Only a work group's cadres record visits."))
    errors: dict[str, str] = {}
    if not isinstance(targets, list) or not targets:
        errors["targets"] = _("Choose the targets visited.")
        targets = []
    elif len(targets) > MAX_ROUND:
        errors["targets"] = _("At most %(n)d targets at once.", n=MAX_ROUND)
    ids = sorted({int(t) for t in targets if whole_number(str(t).strip()) and 0 < int(t) < MAX_ID})
    rows = list(db.session.scalars(select(Target).where(
        Target.id.in_(ids), Target.group_id == actor.unit_id))) if ids else []
    if targets and len(rows) != len({str(t).strip() for t in targets}):
        errors["targets"] = _("No such visit target in your group.")
    day, people, notes = _when_who_what(actor, date, cadres, notes, errors)
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    moment = now()
    visits = [Visit(target=t, group_id=actor.unit_id, visited_on=day, notes=notes.strip(),
                    suggestions=0, cadres=list(people), created_by=actor, created_at=moment)
              for t in rows]
    db.session.add_all(visits)
    db.session.flush()
    return visits


def target_visits(target: Target) -> list[Visit]:
    """A target's visits, newest first."""
    return list(db.session.scalars(select(Visit).where(Visit.target_id == target.id)
                                   .order_by(Visit.visited_on.desc(), Visit.id.desc())))


def group_cadres(unit: Unit) -> list[User]:
    """The active users of a work group, for choosing who went."""
    return list(db.session.scalars(select(User).where(User.unit_id == unit.id, User.active.is_(True))
                                   .order_by(User.username)))


# -- import --------------------------------------------------------------------------------

VISIT_COLUMNS = {
    "date": ("日期", "date"),
    "target": ("对象编号", "target"),
    "cadres": ("走访干部(username)", "cadres"),
    "notes": ("走访情况", "notes"),
    "suggestions": ("意见建议数", "suggestions"),
}
MAX_VISIT_ROWS = 20_000
MAX_VISIT_UNPACKED = 64 * 1024 * 1024


def import_visits(actor: User, filename: str, data: bytes) -> dict[str, int]:
    """Import the group's visits from a sheet (one visit a row, the target by its 编号).

    Every row is checked first; any bad row and nothing is imported. A row for a target and
    day that already has a visit is skipped, so importing the same file twice adds nothing.
    """
    if not may_record(actor):
        raise Forbidden(_("Only a work group's cadres record visits."))
    table = read_table(filename, data, VISIT_COLUMNS, ("date", "target"), MAX_VISIT_ROWS,
                       max_unpacked=MAX_VISIT_UNPACKED)
    codes = {cell_text(row.get("target")) for _n, row in table}
    targets = {t.code: t for t in db.session.scalars(select(Target).where(
        Target.code.in_(codes), Target.group_id == actor.unit_id))} if codes else {}
    errors: list[dict[str, Any]] = []
    checked = []
    for number, row in table:
        row_errors: dict[str, str] = {}
        target = targets.get(cell_text(row.get("target")))
        if target is None:
            row_errors["target"] = _("No target with this code in your group.")
        day = row.get("date")
        day, people, notes = _when_who_what(actor, day.date() if isinstance(day, datetime) else
                                            cell_text(day), cell_text(row.get("cadres")),
                                            cell_text(row.get("notes")), row_errors)
        count = _suggestions(cell_text(row.get("suggestions")), row_errors)
        errors += [{"row": number, "column": VISIT_COLUMNS[k][0], "message": m}
                   for k, m in row_errors.items()]
        checked.append((target, day, people, notes, count))
    if errors:
        raise ImportFailed(errors)
    ids = [t.id for t, *_rest in checked]
    done = {(t, d) for t, d in db.session.execute(select(Visit.target_id, Visit.visited_on).where(
        Visit.target_id.in_(ids)))} if ids else set()
    moment, added = now(), 0
    for target, day, people, notes, count in checked:
        if (target.id, day) in done:
            continue
        done.add((target.id, day))
        db.session.add(Visit(target=target, group_id=actor.unit_id, visited_on=day, notes=notes,
                             suggestions=count, cadres=people, created_by=actor, created_at=moment))
        added += 1
    db.session.flush()
    return {"imported": added, "skipped": len(checked) - added}


def visit_template() -> bytes:
    """An empty .xlsx with the Chinese headers of a visit import."""
    return workbook("走访记录", [h for h, _en in VISIT_COLUMNS.values()], [], [
        [str(_l("One visit a row. 对象编号 is the target's 编号; 走访干部 are usernames separated "
                "by 、 or commas (empty: you). A target visited twice on one day counts once."))]])
