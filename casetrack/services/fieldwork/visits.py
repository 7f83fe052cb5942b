"""Use cases on visits: record one (with the problems found), a day's round, an import."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.long_work import report
from casetrack.models import VISIT_FORMS, Case, Suggestion, Target, Unit, User, Visit
from casetrack.services.workdays.calendar import now, parse_day, today
from casetrack.services.casework.cases import MAX_ID, MAX_TEXT, day_error, file_case, whole_number
from casetrack.services.common.errors import Forbidden, ValidationFailed
from casetrack.services.figures import summaries
from casetrack.services.common.location import Place, parse_address, parse_place, place_json
from casetrack.services.integration.sheets import ImportFailed, cell_text, read_table, workbook
from casetrack.services.fieldwork.targets import group_ids_under
from casetrack.services.common.text import text_error

VISITORS = ("group_member", "group_leader")
PROBLEM_FIELDS = ("title", "description", "category", "kind", "resident", "location", "address")
MAX_SUGGESTIONS = 10_000
MAX_SUGGESTION_ITEMS = 200
MAX_SUGGESTION_TEXT = 2000
MAX_ROUND = 200
MAX_REACHED = 500   # a meeting of a big village
OLDEST_DAYS = 366
# What a sheet or a form may say for a visit's form (走访形式).
FORM_WORDS = {**{f: f for f in VISIT_FORMS}, "入户": "door_to_door", "入户走访": "door_to_door",
              "座谈会": "meeting", "座谈": "meeting", "入企": "enterprise", "入企走访": "enterprise",
              "接访": "reception", "其他": "other"}
CODE_SEPARATORS = r"[、,，;；\s]+"


def may_record(user: User) -> bool:
    """The cadres of a work group record its visits (the pages and the round)."""
    return user.active and user.role in VISITORS and user.unit is not None \
        and user.unit.kind == "group"


def may_record_visits(user: User) -> bool:
    """A group's cadres record their group's visits; a leader records the leader's own visits to
    any target in the leader's unit (API and import)."""
    return may_record(user) or (user.active and user.role == "leader" and user.unit is not None)


def _reachable(actor: User):
    """The ids of the work groups whose targets the actor's visits may reach."""
    return group_ids_under(actor.unit)


def _day(value: Any, errors: dict[str, str]) -> date | None:
    try:
        day = parse_day(value or "")
    except ValueError:
        errors["date"] = _("A date like 2026-07-31, please.")
        return None
    if problem := day_error(day, _("A visit cannot be in the future.")):
        errors["date"] = problem
    elif day < today() - timedelta(days=OLDEST_DAYS):
        errors["date"] = _("A visit more than a year ago cannot be entered.")
    return day


def _cadres(actor: User, group: Unit | None, usernames: Any, errors: dict[str, str]) -> list[User]:
    """The cadres who went: users of the visit's group or of a unit above it (a team leader, a
    county leader visiting with them). None given: the actor."""
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
    within = group or actor.unit
    found = {u.username: u for u in users if u.unit is not None and u.unit.contains(within)}
    missing = [n for n in names if n not in found]
    if missing:
        errors["cadres"] = _("Not a cadre of this group or above it: %(names)s.",
                             names=", ".join(missing))
    return [found[n] for n in names if n in found] or ([] if missing else [actor])


def _when_who_what(actor: User, group: Unit | None, day: Any, cadres: Any, notes: Any,
                   errors: dict[str, str]) -> tuple[date | None, list[User], str]:
    """The day, the cadres and the notes of a visit or a round, checked."""
    notes = "" if notes is None else notes
    if not isinstance(notes, str) or len(notes) > MAX_TEXT:
        errors["notes"] = _("At most %(n)d characters.", n=MAX_TEXT)
        notes = ""
    elif problem := text_error(notes, one_line=False):
        errors["notes"] = problem
    return _day(day, errors), _cadres(actor, group, cadres, errors), notes


def _suggestions(value: Any, errors: dict[str, str]) -> int:
    if value in (None, ""):
        return 0
    if isinstance(value, bool) or not whole_number(str(value).strip()) \
            or int(str(value).strip()) > MAX_SUGGESTIONS:
        errors["suggestions"] = _("A whole number of zero or more, please.")
        return 0
    return int(str(value).strip())


def _form(value: Any, errors: dict[str, str]) -> str | None:
    if value in (None, ""):
        return None
    form = FORM_WORDS.get(value.strip()) if isinstance(value, str) else None
    if form is None:
        errors["form"] = _("One of: %(forms)s.", forms=", ".join(VISIT_FORMS))
    return form


def _targets(actor: User, target: Any, targets: Any, errors: dict[str, str]) -> list[Target]:
    """The registered targets a visit reached, `target` first, then `targets` in their order:
    each of the actor's group (a leader: of the groups in the leader's unit)."""
    given: list[Any] = [] if target in (None, "") else [target]
    if targets not in (None, []):
        if not isinstance(targets, list) or isinstance(target, list):
            errors["targets"] = _("A list of target ids, please.")
            return []
        given += targets
    if len(given) > MAX_REACHED:
        errors["targets"] = _("At most %(n)d targets at once.", n=MAX_REACHED)
        return []
    ids: list[int] = []
    for value in given:
        text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
        if not whole_number(text) or not 0 < int(text) < MAX_ID:
            ids = []
            break
        if int(text) not in ids:
            ids.append(int(text))
    rows = {t.id: t for t in db.session.scalars(select(Target).where(
        Target.id.in_(ids), Target.group_id.in_(_reachable(actor))))} if ids else {}
    if given and (not ids or len(rows) != len(ids)):
        errors["target" if target not in (None, "") and len(given) == 1 else "targets"] = \
            _("No such visit target in your group.") if may_record(actor) else _("No such visit target in your scope.")
        return []
    return [rows[i] for i in ids]


def _place(actor: User, place: Any, group: Any, reached: list[Target], errors: dict[str, str]) -> Target | None:
    """A place a leader visited that has no registered target: a target of kind `place`, made now
    in the given group's area (default: the first target's group). Reached, never assigned: it is
    inactive, so coverage does not count it."""
    if place in (None, ""):
        return None
    if actor.role != "leader":
        errors["place"] = _("Only a leader's visit may reach a place that is not a registered target.")
        return None
    if not isinstance(place, str) or not place.strip() or len(place.strip()) > 120:
        errors["place"] = _("The place's name, at most %(n)d characters.", n=120)
        return None
    if problem := text_error(place.strip()):
        errors["place"] = problem
        return None
    unit = None
    if group not in (None, ""):
        unit = db.session.scalars(select(Unit).where(
            Unit.code == str(group).strip(), Unit.id.in_(_reachable(actor)))).first() if isinstance(group, str) else None
        if unit is None:
            errors["group"] = _("No such group.")
            return None
    elif reached:
        unit = reached[0].group
    else:
        errors["group"] = _("Which work group's area is the place in? Give its code.")
        return None
    return Target(kind="place", name=place.strip(), group_id=unit.id, group=unit, active=False,
                  created_at=now(), updated_at=now())


def _suggestion_items(value: Any, group: Unit | None, errors: dict[str, str]) -> list[dict[str, Any]]:
    """Suggestions given as texts (or {text, category, unit}): each checked, with its category
    and the unit that must answer it (default: the visit's group)."""
    if not isinstance(value, list):
        return []
    if len(value) > MAX_SUGGESTION_ITEMS:
        errors["suggestions"] = _("At most %(n)d suggestions at once.", n=MAX_SUGGESTION_ITEMS)
        return []
    from casetrack.services.organisation import reference
    ref = reference.current()
    county = group.ancestor("county") if group is not None else None
    items = []
    for i, item in enumerate(value):
        body = {"text": item} if isinstance(item, str) else item
        key = f"suggestions.{i}"
        if not isinstance(body, dict) or set(body) - {"text", "category", "unit"}:
            errors[key] = _("A text, or an object with text, category and unit.")
            continue
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SUGGESTION_TEXT:
            errors[f"{key}.text"] = _("The suggestion's text, at most %(n)d characters.", n=MAX_SUGGESTION_TEXT)
            continue
        if problem := text_error(text, one_line=False):
            errors[f"{key}.text"] = problem
            continue
        category = None
        if body.get("category") not in (None, ""):
            category = reference.active_category(ref, body["category"].strip()) \
                if isinstance(body["category"], str) else None
            if category is None:
                errors[f"{key}.category"] = _("Choose one of the categories.")
        unit = group
        if body.get("unit") not in (None, ""):
            unit = db.session.scalars(select(Unit).where(Unit.code == str(body["unit"]).strip(),
                                                         Unit.active.is_(True))).first()
            if unit is None or county is None or not county.contains(unit):
                errors[f"{key}.unit"] = _("No unit with this code in the county.")
        items.append({"text": text.strip(), "category_id": category.id if category else None,
                      "unit": unit})
    return items


def record_visit(actor: User, *, target: Any = None, targets: Any = None, date: Any, cadres: Any = None,
                 notes: Any = "", suggestions: Any = 0, problems: Any = None, form: Any = None,
                 place: Any = None, group: Any = None, location: Any = None,
                 address: Any = None) -> tuple[Visit, list[Case]]:
    """Record a visit that reached one or more targets (a leader's: or a place); each problem
    found is filed as a case, each suggestion given as a text kept to be answered. The visit's
    whereabouts (`location` in WGS-84, `address`) default to its first target's, a problem's to
    the visit's."""
    if not may_record_visits(actor):
        raise Forbidden(_("Only a work group's cadres and leaders record visits."))
    errors: dict[str, str] = {}
    reached = _targets(actor, target, targets, errors)
    spot = _place(actor, place, group, reached, errors) if not errors else None
    if spot is not None:
        reached.append(spot)
    if not reached and not errors:
        errors["target"] = _("Choose the targets visited.")
    visit_group = reached[0].group if reached else None
    day, people, notes = _when_who_what(actor, visit_group, date, cadres, notes, errors)
    kind = _form(form, errors)
    items = _suggestion_items(suggestions, visit_group, errors)
    count = len(suggestions) if isinstance(suggestions, list) else _suggestions(suggestions, errors)
    point, where = parse_place(location, errors), parse_address(address, errors)
    if reached:
        first = reached[0]
        if not point.known and first.lat is not None and first.long is not None:
            point = Place(first.lat, first.long)
        where = where or first.address
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

    # the targets' first visits, and the visit's own rows (cadres, suggestions...)
    with summaries.recount(targets=[t.id for t in reached if t is not spot]) as counted:
        visit = Visit(target=reached[0], group_id=visit_group.id, visited_on=day, notes=notes.strip(),
                      suggestions=count, form=kind, cadres=people, more_targets=reached[1:],
                      created_by=actor, created_at=now(), lat=point.lat, long=point.long,
                      location_accuracy=point.accuracy, address=where)
        db.session.add(visit)
        db.session.flush()
        counted.visits([visit])
        if spot is not None:
            counted.new_targets([spot.id])
    db.session.add_all(Suggestion(visit_id=visit.id, group_id=visit.group_id, unit_id=item["unit"].id,
                                  category_id=item["category_id"], text=item["text"], answer_text="",
                                  created_at=visit.created_at) for item in items)
    cases = []
    for i, body in enumerate(problems):
        try:
            cases.append(file_case(actor, title=body.get("title"),
                                   description=body.get("description", ""),
                                   category=body.get("category"), kind=body.get("kind"),
                                   resident=body.get("resident"), target=reached[0].id,
                                   visit=visit.id,
                                   location=body.get("location") or place_json(
                                       point.lat, point.long, point.accuracy),
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
    day, people, notes = _when_who_what(actor, actor.unit, date, cadres, notes, errors)
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    moment = now()
    with summaries.recount(targets=[t.id for t in rows]) as counted:
        visits = [Visit(target=t, group_id=actor.unit_id, visited_on=day, notes=notes.strip(),
                        suggestions=0, cadres=list(people), created_by=actor, created_at=moment)
                  for t in rows]
        db.session.add_all(visits)
        counted.visits(visits)
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
    "form": ("走访形式", "form"),
}
MAX_VISIT_ROWS = 20_000
MAX_VISIT_UNPACKED = 64 * 1024 * 1024


def import_visits(actor: User, filename: str, data: bytes) -> dict[str, int]:
    """Import visits from a sheet, one visit a row; its targets by their 编号 (several in one
    cell: a meeting that reached many, separated by 、 , ; or spaces, the first the visit's own).

    Every row is checked first; any bad row and nothing is imported. A row whose first target
    already has a visit on that day is skipped, so importing the same file twice adds nothing.
    """
    if not may_record_visits(actor):
        raise Forbidden(_("Only a work group's cadres and leaders record visits."))
    table = read_table(filename, data, VISIT_COLUMNS, ("date", "target"), MAX_VISIT_ROWS,
                       max_unpacked=MAX_VISIT_UNPACKED)
    cells = {number: [c for c in re.split(CODE_SEPARATORS, cell_text(row.get("target"))) if c]
             for number, row in table}
    codes = {c for listed in cells.values() for c in listed}
    targets = {t.code: t for t in db.session.scalars(select(Target).where(
        Target.code.in_(codes), Target.group_id.in_(_reachable(actor))))} if codes else {}
    errors: list[dict[str, Any]] = []
    checked = []
    for number, row in table:
        report("checking", len(checked) + 1, len(table))
        row_errors: dict[str, str] = {}
        listed = list(dict.fromkeys(cells[number]))
        missing = [c for c in listed if c not in targets]
        if missing or not listed:
            row_errors["target"] = _("No target with this code in your group: %(codes)s.",
                                     codes="、".join(missing)) if missing else _("Choose the targets visited.")
        elif len(listed) > MAX_REACHED:
            row_errors["target"] = _("At most %(n)d targets at once.", n=MAX_REACHED)
        reached = [targets[c] for c in listed if c in targets]
        day = row.get("date")
        day, people, notes = _when_who_what(actor, reached[0].group if reached else None,
                                            day.date() if isinstance(day, datetime) else cell_text(day),
                                            cell_text(row.get("cadres")), cell_text(row.get("notes")), row_errors)
        count = _suggestions(cell_text(row.get("suggestions")), row_errors)
        kind = _form(cell_text(row.get("form")), row_errors)
        errors += [{"row": number, "column": VISIT_COLUMNS[k][0], "message": m}
                   for k, m in row_errors.items()]
        checked.append((reached, day, people, notes, count, kind))
    if errors:
        raise ImportFailed(errors)
    ids = [reached[0].id for reached, *_rest in checked]
    done = {(t, d) for t, d in db.session.execute(select(Visit.target_id, Visit.visited_on).where(
        Visit.target_id.in_(ids)))} if ids else set()
    moment, added = now(), []
    # the figures of every row at once: the targets' first visits before and after, the new visits'
    with summaries.recount(targets={t.id for reached, *_rest in checked for t in reached}) as counted:
        for written, (reached, day, people, notes, count, kind) in enumerate(checked, 1):
            report("writing", written, len(checked))
            if (reached[0].id, day) in done:
                continue
            done.add((reached[0].id, day))
            added.append(Visit(target=reached[0], group_id=reached[0].group_id, visited_on=day, notes=notes,
                               suggestions=count, form=kind, cadres=people, more_targets=reached[1:],
                               created_by=actor, created_at=moment))
        db.session.add_all(added)
        counted.visits(added)
    return {"imported": len(added), "skipped": len(checked) - len(added)}


def visit_template() -> bytes:
    """An empty .xlsx with the Chinese headers of a visit import."""
    return workbook("走访记录", [h for h, _en in VISIT_COLUMNS.values()], [], [
        [str(_l("One visit a row. 对象编号 is the target's 编号 (a meeting that reached several: their "
                "编号 separated by 、); 走访干部 are usernames separated by 、 or commas (empty: you); "
                "走访形式: 入户, 座谈会, 入企, 接访 or 其他. A target visited twice on one day counts once."))]])
