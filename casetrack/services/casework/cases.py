"""Use cases on cases: file one, fire a transition, and what a user may see and do."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any, NoReturn

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, and_, bindparam, delete, false, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from casetrack.db.intent import outside_write_lock
from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import Attachment, CASE_KINDS, CampaignPair, Case, CaseAssist, CaseEvent, Target, Unit, User, Visit
from casetrack.models.cases import StaleCase, insert_filed, update_fired
from casetrack.services.organisation import reference
from casetrack.services.casework.follow_up import Fired, after_filing, after_transition, attach_filing_photos
from casetrack.services.casework.notices import notify
from casetrack.services.figures import summaries
from casetrack.services.workdays.calendar import SHANGHAI, add_working_days, now, parse_day, remember_days_off, today
from casetrack.services.workdays.clock import start_clock
from casetrack.services.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casetrack.services.common.location import Place, parse_address, parse_media_url, parse_place
from casetrack.services.common.text import text_error
from casetrack.workflow import FieldSpec, KEEP, TransitionSpec, URGENCIES, Workflow
from casetrack.workflow.current import default_workflow, registry, workflow_of
from casetrack.workflow.campaigns import Campaign

MAX_TEXT = 4000
MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32-bit on PostgreSQL
# The end of an ID card number, as the office writes it to find a person: 4 to 6 characters,
# digits but the check character, which may be X.
ID_TAIL = re.compile(r"\d{3,5}[\dXx]")


def whole_number(text: str) -> bool:
    """Only the digits 0-9, at most 18 of them: `str.isdigit` also takes '²' and other digits
    that `int` refuses, and `int` refuses more than 4,300 digits; every caller's bound has fewer."""
    return text.isascii() and text.isdigit() and len(text) <= 18


# -- scope ---------------------------------------------------------------------------------

def unit_filter(unit: Unit, keyset: bool = True):
    """The cases of a unit: referred to it or assisted by it (a department), else filed within
    its subtree, and for a group or team also those sent to it (or, a team, to one of its groups)
    from elsewhere. `keyset`: for pages in id order (the "+ 0" below); else, for a count, the
    group and id indexes may serve it."""
    nudge = (lambda column: column + 0) if keyset else (lambda column: column)
    if unit.kind == "department":
        # One list of ids (the lead's by its index, the assisted ones by theirs) that the page
        # walks in id order ("+ 0": walk the id or (state, id) index and look each id up in the
        # list, not the other way round): an OR of the two made SQLite sort the department's cases.
        referred = select(Case.id).where(Case.department_id == unit.id)
        assisted = select(CaseAssist.case_id).where(CaseAssist.unit_id == unit.id)
        return nudge(Case.id).in_(referred.union_all(assisted, paired_cases(unit)))
    if unit.kind == "group":
        return or_(Case.group_id == unit.id, Case.unit_id == unit.id)
    subtree = select(Unit.id).where(Unit.path.startswith(unit.path))
    if unit.kind == "team":  # and a case the office sent down to one of its groups, or to it
        return or_(nudge(Case.group_id).in_(subtree), Case.unit_id.in_(subtree))
    # "+ 0" keeps the planner off the group_id index here: with it SQLite (without fresh
    # statistics) fetched every case of the subtree and sorted them for each keyset page,
    # instead of walking the id (or state, id) index and stopping after a page.
    return nudge(Case.group_id).in_(subtree)


def paired_cases(unit) -> Select:
    """The ids of the cases at the sites of the communities a unit is paired with (包抓单位) in
    their campaign, in the unit's own county (another county may have a community of that name);
    the unit reads them and moves only those it holds."""
    site_unit, area = aliased(Unit), aliased(Unit)
    path = unit.path if isinstance(unit.path, ClauseElement) else literal(unit.path)
    return (select(Case.id).join(Target, Target.id == Case.target_id)
            .join(CampaignPair, and_(CampaignPair.community == Target.village, CampaignPair.campaign == Case.campaign,
                                     CampaignPair.unit_id == unit.id))
            .join(site_unit, site_unit.id == Target.group_id)
            .join(area, and_(area.kind == "county", site_unit.path.startswith(area.path)))
            .where(path.startswith(area.path)))


def owner_roles() -> frozenset[str]:
    """The roles a workflow's user field may name: such a user sees the cases it owns."""
    return frozenset().union(*(wf.owner_field().roles for wf in registry().workflows.values()
                               if wf.owner_field()))


def scoped_cases(user: User, keyset: bool = True) -> Select[tuple[Case]]:
    """Every case query starts here: the cases in the user's scope, and no others (`keyset`:
    `unit_filter`'s)."""
    return _scoped(_scope_shape(user), user.unit, user.id, keyset)


def _scope_shape(user: User) -> tuple[str | None, bool]:
    """What a user's scope depends on besides their unit and id: the kind of their unit (None:
    no scope), and whether they also see the cases they own."""
    if user.unit is None or user.role == "admin" or not user.active:
        return None, False
    # An owner sees its cases wherever they were filed (a county officer owns only cases of
    # its county, which it sees anyway: its lists keep their plain subtree query).
    return user.unit.kind, user.role in owner_roles() and user.unit.kind not in ("county", "city", "province")


def _scoped(shape: tuple[str | None, bool], unit, user_id, keyset: bool = True) -> Select[tuple[Case]]:
    kind, owner = shape
    stmt = select(Case)
    if kind is None:
        return stmt.where(false())
    if owner:
        return stmt.where(or_(unit_filter(unit, keyset), Case.owner_id == user_id))
    return stmt.where(unit_filter(unit, keyset))


class _AnyUnit:
    """A unit of a kind whose id and path are bind parameters: one statement serves them all."""

    def __init__(self, kind: str):
        self.kind, self.id, self.path = kind, bindparam("scope_unit_id"), bindparam("scope_path")


@functools.cache   # built once per kind of scope: every request on a case reads it
def _case_in_scope(shape: tuple[str | None, bool], lock: bool) -> Select[tuple[Case]]:
    stmt = _scoped(shape, _AnyUnit(shape[0]) if shape[0] else None,
                   bindparam("scope_user_id")).where(Case.id == bindparam("case_id"))
    # Locked (PostgreSQL; SQLite's writer holds the whole database): read as the row is now.
    return stmt.with_for_update(of=Case).execution_options(populate_existing=True) if lock else stmt


def get_case(user: User, case_id: int, *, lock: bool = False) -> Case:
    """The case if it is in the user's scope; an unknown and a foreign case look the same.
    `lock`: for a request that fires a transition on it, its row locked at once (`_hold`)."""
    case = db.session.scalars(_case_in_scope(_scope_shape(user), lock), {
        "case_id": case_id, "scope_unit_id": user.unit_id, "scope_path": user.unit.path if user.unit else None,
        "scope_user_id": user.id}).first() if 0 < case_id < MAX_ID else None
    if case is None:
        raise NotFound(_("No such case."))
    if lock:
        held = db.session.info.setdefault(_HELD, {})
        held[case.id] = db.session().get_transaction()
    return case


_HELD = "casetrack.held_cases"   # case id -> the transaction that locked its row


def case_to_fire(user: User, case_id: int) -> Case:
    """The case a request is about to fire a transition on (`get_case(lock=True)`): on
    PostgreSQL its row locked at once; on SQLite read before the write lock, which the
    transition's writes take, so that the lock is held for them only. The case's UPDATE checks
    the version read here: a change in between is refused as stale (409), as it is on PostgreSQL
    when the client's version is old."""
    with outside_write_lock():
        return get_case(user, case_id, lock=True)


def may_see(user: User, case: Case) -> bool:
    """Whether the case is in the user's scope (for a case reached through another one)."""
    return bool(db.session.scalar(select(scoped_cases(user).where(Case.id == case.id).exists())))


def case_events(case: Case) -> list[CaseEvent]:
    return list(db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def may_act(case: Case, user: User, spec: TransitionSpec | None = None) -> bool:
    """The unit holding the case acts on it, or its owner in a state the owner holds; a transition
    with `reach: scope` may also be fired by a unit whose scope has the case (the office taking
    over a team's referral). A leader (县领导) reads and supervises the cases of its unit's
    subtree and moves none but those it owns (包案)."""
    if not user.active:
        return False
    if workflow_of(case).states[case.state].held_by == "owner":
        return user.id == case.owner_id
    if user.unit_id is None or user.role == "leader":
        return False
    return user.unit_id == case.unit_id or (spec is not None and spec.reach == "scope"
                                            and may_see(user, case))


def allowed_triggers(case: Case, user: User) -> list[TransitionSpec]:
    """The transitions this user may fire on this case now, one per trigger."""
    seen: dict[str, TransitionSpec] = {}
    for t in workflow_of(case).transitions_from(case.state):
        if user.role in t.roles and t.trigger not in seen and may_act(case, user, t):
            seen[t.trigger] = t
    return list(seen.values())


# -- fields --------------------------------------------------------------------------------

def _parse_value(f: FieldSpec, value: Any, case: Case | None) -> tuple[Any, Any]:
    """(value for the case, value for the event log); raises ValueError with a message."""
    ftype = f.type
    if ftype == "user":
        return _owner(value, case, f.roles)
    if ftype == "choice":
        if not isinstance(value, str) or value.strip() not in f.options:
            raise ValueError(_("Choose one of: %(options)s.",
                               options=", ".join(localized(label) for label in f.options.values())))
        return value.strip(), value.strip()
    if ftype == "unit":
        return _parse_unit(f, value, case)
    if ftype == "text":
        if not isinstance(value, str) or not value.strip():
            raise ValueError(_("Please fill this in."))
        if len(value) > MAX_TEXT:
            raise ValueError(_("At most %(n)d characters.", n=MAX_TEXT))
        if problem := text_error(value, one_line=False):
            raise ValueError(problem)
        return value.strip(), value.strip()
    if ftype == "date":
        try:
            day = parse_day(value)
        except ValueError:
            raise ValueError(_("A date like 2026-07-31, please.")) from None
        return day, day.isoformat()
    if ftype == "decimal":
        if isinstance(value, bool):
            raise ValueError(_("A number, please."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(_("A number, please.")) from None
        if not number.is_finite() or number < 0 or number >= Decimal("1e10"):
            raise ValueError(_("A number of zero or more, please."))
        return number.quantize(Decimal("0.01")), str(number.quantize(Decimal("0.01")))
    if ftype == "bool":
        if isinstance(value, bool):
            return value, value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "y", "on", "是", "满意"):
            return True, True
        if text in ("false", "0", "no", "n", "off", "否", "不满意"):
            return False, False
        raise ValueError(_("Yes or no, please."))
    if ftype == "departments":
        return _departments(value, case)
    if ftype in ("department", "group"):
        return _unit_of_kind(ftype, value, case)
    raise AssertionError(ftype)


def _unit_of_kind(kind: str, value: Any, case: Case | None) -> tuple[Unit, str]:
    """An active department of the case's county, or group of its team, by code."""
    unit = db.session.scalars(select(Unit).where(Unit.code == str(value).strip(),
                                                 Unit.active.is_(True))).first()
    if unit is None or unit.kind != kind or case is None:
        raise ValueError(_("No such department.") if kind == "department" else _("No such group."))
    within = case.group.ancestor("county") if kind == "department" else case.group.ancestor("team")
    if within is None or not within.contains(unit):
        raise ValueError(_("That unit is outside this case's county or team."))
    return unit, unit.code


def _parse_unit(f: FieldSpec, value: Any, case: Case | None) -> tuple[Unit, str]:
    """A team or group of the kinds the field names, in the case's county (or, `within:
    filing`, the filing group or a unit above it)."""
    unit = db.session.scalars(select(Unit).where(Unit.code == str(value).strip(),
                                                 Unit.active.is_(True))).first()
    if unit is None or unit.kind not in f.kinds or case is None:
        raise ValueError(_("No such work team or group."))
    if f.within == "filing":
        ok = unit.contains(case.group)
    else:
        county = case.group.ancestor("county")
        ok = county is not None and county.contains(unit)
    if not ok:
        raise ValueError(_("That unit is outside this case's county or team."))
    return unit, unit.code


def _departments(value: Any, case: Case | None) -> tuple[list[Unit], list[str]]:
    """Any number of department codes (a list, or text split at commas and spaces), each an
    active department of the case's county."""
    codes = value if isinstance(value, list) else str(value).replace("，", ",").replace(",", " ").split()
    if not all(isinstance(c, str) and c.strip() for c in codes) or len(codes) > 50:
        raise ValueError(_("Department codes, please."))
    units = []
    for code in dict.fromkeys(c.strip() for c in codes):
        unit, _logged = _unit_of_kind("department", code, case)
        units.append(unit)
    return units, [u.code for u in units]


def _owner(value: Any, case: Case | None, roles: frozenset[str]) -> tuple[User, str]:
    """A user field: an active user of one of `roles` (by username or id) within the case's county."""
    user = None
    if isinstance(value, str) and value.strip() and not whole_number(value.strip()):
        user = db.session.scalars(select(User).where(User.username == value.strip())).first()
    elif not isinstance(value, bool) and whole_number(str(value).strip()) and 0 < int(str(value).strip()) < MAX_ID:
        user = db.session.get(User, int(str(value).strip()))
    county = case.group.ancestor("county") if case is not None else None
    if user is None or not user.active or user.role not in roles or user.unit is None \
            or county is None or not county.contains(user.unit):
        raise ValueError(_("No such user of this county who may own the case."))
    return user, user.username


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _unalias(wf: Workflow, names: set[str], data: dict[str, Any],
             errors: dict[str, str], logged: dict[str, Any], waived: set[str]) -> dict[str, Any]:
    """An older field (`alias_of`) given instead of the choice it stands for: read as that
    choice's option (e.g. `satisfied: true` as the call-back's outcome), and logged as given; the
    fields the alias `waives` (asked for since) are then not needed."""
    data = dict(data)
    for name, raw in list(data.items()):
        f = wf.fields.get(name)
        if f is None or f.alias_of is None or f.alias_of[0] not in names or _blank(raw):
            continue
        target, options = f.alias_of[:2]
        try:
            value, _logged = _parse_value(f, raw, None)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        del data[name]
        logged[name] = value
        if not _blank(data.get(target)):
            errors[name] = _("Give this or %(other)s, not both.", other=localized(wf.fields[target].label))
        elif value in options:
            data[target] = options[value]
            waived.update(f.waives)
    return data


def parse_fields(wf: Workflow, specs: list[TransitionSpec], data: dict[str, Any],
                 case: Case, waived: set[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the fields of a trigger's transitions `specs` (those the actor may fire here);
    returns (values, event data). `waived` collects the fields an older field given waives."""
    waived = set() if waived is None else waived
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    logged: dict[str, Any] = {}
    names = {f for t in specs for f in t.fields}
    required = {f for f in names if all(f in t.required for t in specs)}
    data = _unalias(wf, names, data, errors, logged, waived)
    for name in data:
        if name not in names:
            errors[name] = _("This action takes no such field.")
    for name in sorted(names, key=list(wf.fields).index):
        raw = data.get(name)
        if _blank(raw):
            if name in required and name not in waived:
                errors[name] = _("Please fill this in.")
            continue
        try:
            values[name], logged[name] = _parse_value(wf.fields[name], raw, case)
        except ValueError as exc:
            errors[name] = str(exc)
    if "due_date" in values and values["due_date"] < today():
        errors["due_date"] = _("The due date cannot be in the past.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    return values, logged


def _choose(case: Case, specs: list[TransitionSpec], values: dict[str, Any],
            waived: set[str]) -> TransitionSpec:
    """The first transition whose `when` the values meet (and whose attempts are reached);
    its own required fields must then be there, and no field it does not take."""
    spec = next((t for t in specs if t.matches(values) and _attempts_reached(case, t)), None)
    if spec is None:
        raise ValidationFailed({k: _("Not a possible value here.") for t in specs for k in t.when})
    errors = {name: _("Please fill this in.") for name in spec.required
              if name not in values and name not in waived}
    errors.update({name: _("Not needed with this choice.") for name in values if name not in spec.fields})
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))
    return spec


def _attempts_reached(case: Case, spec: TransitionSpec) -> bool:
    """This firing is the `attempts.count`th of its trigger with the same `when` values since
    the case entered its state (each on a day of its own when `distinct_days`)."""
    rule = spec.attempts
    if rule is None:
        return True
    earlier = []
    for e in case_events(case):
        if e.to_state == case.state and e.from_state != case.state:
            earlier = []  # the case entered its state again: its attempts start over
        elif e.trigger == spec.trigger and e.from_state == e.to_state == case.state \
                and all(e.data.get(k) in v if isinstance(v, list) else e.data.get(k) == v
                        for k, v in spec.when.items()):
            earlier.append(e.at)
    if rule.distinct_days:
        return len({at.astimezone(SHANGHAI).date() for at in earlier} | {today()}) >= rule.count
    return len(earlier) + 1 >= rule.count


# -- filing --------------------------------------------------------------------------------

def _deadline(wf: Workflow, state: str, urgency: str, category: str | None) -> date | None:
    days = wf.states[state].days_for(urgency, category)
    return add_working_days(today(), days) if days else None


def _unit_for_level(group: Unit, level: str, values: dict[str, Any]) -> Unit:
    """The unit of `level` that holds a case filed by `group`."""
    if level == "department":
        return next(v for v in values.values() if isinstance(v, Unit) and v.kind == "department")
    if level == "group" and isinstance(values.get("group"), Unit):
        return values["group"]
    unit = group.ancestor(level)
    if unit is None:
        raise Conflict(_("No unit of kind %(kind)s stands above this case's group.", kind=level),
                       "no_unit")
    return unit


def filing_workflow(name: Any, campaign: Any = None) -> tuple[Workflow, Campaign]:
    """The workflow a new case follows and its campaign: the campaign's own workflow (the default
    campaign's when none is named), or another of its workflows named (e.g. a petition case's)."""
    from casetrack.services.organisation.campaigns import campaign_named, campaigns, default_campaign
    chosen = campaign_named(campaign) if campaign not in (None, "") else None
    if name in (None, ""):
        if chosen is None or chosen.code == campaigns().default:
            return default_workflow(), chosen or default_campaign()
        return registry().latest(chosen.workflow), chosen
    if name == default_workflow().name:
        wf = default_workflow()
    elif isinstance(name, str) and any(n == name for n, _v in registry().workflows):
        wf = registry().latest(name)
    else:
        raise ValidationFailed({"workflow": _("No such workflow.")})
    owner = campaigns().of_workflow(wf.name)
    if chosen is not None and chosen.code != owner.code:
        raise ValidationFailed({"workflow": _("This workflow is not one of the campaign's.")})
    return wf, owner


def _filing_state(wf: Workflow, actor: User, kind: Any, petition: bool) -> str | None:
    """The state a case filed by the actor starts in, or None when the actor may not file. A work
    group's cadres file into the state of the case's kind; a unit above the groups files the
    petitions it received (`petition_roles`), or cases of a workflow it files (`filing.roles`),
    into its own level's state when the kind's state lies below it."""
    unit = actor.unit
    if not actor.active or unit is None or unit.kind == "department":
        return None
    if actor.role not in wf.filing_roles | (wf.petition_roles if petition else frozenset()):
        return None
    state = wf.filing_states.get(kind) if kind in CASE_KINDS else wf.filing_states["individual"]
    if _assigned_at_filing(wf, state):
        return state    # the filing names the department that holds it
    if unit.ancestor(wf.states[state].level) is None:
        state = wf.level_state(unit.kind)
    return state


def _assigned_at_filing(wf: Workflow, state: str) -> bool:
    return wf.states[state].level == "department" and any(
        wf.fields[f].type == "department" for f in wf.filing.fields)


class _Filing:
    """What the fields of a filing are checked against before the case exists: the filing unit."""
    def __init__(self, unit: Unit):
        self.group = unit


def _filing_fields(wf: Workflow, actor: User, given: dict[str, Any], target_row: Target | None,
                   errors: dict[str, str]) -> dict[str, Any]:
    """The values of the workflow's filing fields; a department field defaults to the target's
    responsible unit when that is a department."""
    values: dict[str, Any] = {}
    for name in given:
        if name not in wf.filing.fields:
            errors[name] = _("This action takes no such field.")
    for name in wf.filing.fields:
        f, raw = wf.fields[name], given.get(name)
        if _blank(raw) and f.type == "department" and target_row is not None \
                and target_row.group.kind == "department":
            raw = target_row.group.code
        if _blank(raw):
            errors[name] = _("Please fill this in.")
            continue
        try:
            values[name], _logged = _parse_value(f, raw, _Filing(actor.unit))
        except ValueError as exc:
            errors[name] = str(exc)
    return values


def _filing_target(wf: Workflow, campaign: Campaign, actor: User, ident: Any) -> Target | None:
    """The target a case is filed at: the filing group's own, or (`target.within: county`) an
    active target of the campaign whose responsible unit is in the actor's county."""
    if wf.filing.target_within == "own":
        return _own(Target, ident, actor)
    county = actor.unit.ancestor("county") if actor.unit else None
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        return None
    if county is None or not 0 < ident < MAX_ID:
        return None
    row = db.session.scalars(select(Target).where(Target.id == ident, Target.campaign == campaign.code,
                                                  Target.active.is_(True))).first()
    return row if row is not None and county.contains(row.group) else None


def campaign_start() -> date | None:
    """The campaign's first day (config CAMPAIGN_START), or None."""
    return current_app.config.get("CAMPAIGN_START")


def day_error(day: date, future: str) -> str | None:
    """Why a day of the campaign's ledger cannot be: in the future (`future`, the message), or
    before the campaign began."""
    start = campaign_start()
    if day > today():
        return future
    if start is not None and day < start:
        return _("The campaign began on %(day)s; a day before it cannot be entered.", day=start.isoformat())
    return None


def _found_on(value: Any, visit_row: Visit | None, errors: dict[str, str]) -> date | None:
    """The day the problem was found: given, else the visit's day, else today."""
    if value in (None, ""):
        return visit_row.visited_on if visit_row is not None else today()
    try:
        day = parse_day(value)
    except (TypeError, ValueError):
        errors["found_on"] = _("A date like 2026-07-31, please.")
        return None
    if problem := day_error(day, _("A problem cannot be found in the future.")):
        errors["found_on"] = problem
    return day


def file_case(actor: User, *, title: Any, description: Any = "", category: Any, kind: Any,
              resident: Any = None, target: Any = None, visit: Any = None, location: Any = None,
              address: Any = None, media_url: Any = None, workflow: Any = None,
              source: str | None = None, urgency: Any = None, found_on: Any = None,
              campaign: Any = None, fields: dict[str, Any] | None = None,
              photos: list[tuple[IO[bytes], str]] | None = None) -> Case:
    """File a problem found on a visit (or received as a petition: `source`; or on an inspection)
    in a `campaign` (default the grand visit); it starts in the state the workflow gives its kind
    (`workflow`: default the campaign's), with a deadline by its `urgency` and category. Its place
    (`location` in WGS-84, `address`) defaults to the target's. `fields`: the workflow's filing
    fields (the responsible unit); `photos`: (stream, file name) of the stage its filing asks for."""
    from casetrack.services.organisation.campaigns import campaigns, takes_part
    wf, camp = filing_workflow(workflow, campaign)
    source = source or wf.source
    if _filing_state(wf, actor, "individual", source == "petition") is None:
        raise Forbidden(_("Only a work group's cadres file problems.") if wf is default_workflow()
                        else _("You may not register cases of this workflow."))
    # Every unit of a county takes part in the grand visit: only another campaign is looked up.
    if camp.code != campaigns().default and not takes_part(actor.unit, camp):
        raise Forbidden(_("Your unit does not take part in this campaign."))
    errors: dict[str, str] = {}
    if problem := title_error(title):
        errors["title"] = problem
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > MAX_TEXT:
        errors["description"] = _("At most %(n)d characters.", n=MAX_TEXT)
    elif problem := text_error(description, one_line=False):
        errors["description"] = problem
    # The rows a filing reads may be a moment old; on SQLite they are read before the write
    # lock is taken, which is then held only for the writes.
    with outside_write_lock():
        ref = reference.current()
        remember_days_off(ref.days_off)
        cat = reference.active_category(ref, category.strip()) if isinstance(category, str) else None
        if cat is not None and camp.categories and cat.code not in camp.categories:
            cat = None    # not one of the campaign's own
        target_row = _filing_target(wf, camp, actor, target) if target not in (None, "") else None
        visit_row = _own(Visit, visit, actor) if visit not in (None, "") else None
        state = _filing_state(wf, actor, kind, source == "petition") if kind in CASE_KINDS else None
        urgency = URGENCIES[0] if urgency in (None, "") else urgency
        deadline = _deadline(wf, state, urgency, cat.code if cat else None) \
            if state and urgency in URGENCIES else None
    if cat is None:
        errors["category"] = _("Choose one of the categories.")
    if kind not in CASE_KINDS:
        errors["kind"] = _("Individual or shared, please.")
    if urgency not in URGENCIES:
        errors["urgency"] = _("Urgent or normal, please.")
    resident = resident if resident is not None else {}
    if not isinstance(resident, dict):
        errors["resident"] = _("The resident's name, phone and address, please.")
        resident = {}
    limits = {"name": 60, "phone": 30, "address": 200, "email": 120, "id_tail": 6}
    for key in resident:
        if key not in limits:
            errors[f"resident.{key}"] = _("This action takes no such field.")
    for key, limit in limits.items():
        value = resident.get(key) or ""
        if not isinstance(value, str) or len(value) > limit:
            errors[f"resident.{key}"] = _("At most %(n)d characters.", n=limit)
        elif problem := text_error(value.strip()):
            errors[f"resident.{key}"] = problem
    tail = resident.get("id_tail") or ""
    if isinstance(tail, str) and tail.strip() and not ID_TAIL.fullmatch(tail.strip()):
        errors["resident.id_tail"] = _("The last 4 to 6 characters of the ID card: digits, the last may be X.")
    if target not in (None, "") and target_row is None:
        errors["target"] = _("No such visit target in your group.") if wf.filing.target_within == "own" \
            else _("No such site of this campaign in your county.")
    elif target_row is None and wf.filing.target == "required":
        errors["target"] = _("Choose the site.")
    if fields is not None and not isinstance(fields, dict):
        fields = {"fields": fields}
    filing_values = _filing_fields(wf, actor, fields or {}, target_row, errors)
    if state is not None and not _assigned_at_filing(wf, state):
        filing_values.pop("department", None)
    rule = wf.filing.photos
    if rule is not None and len(photos or []) < rule.min:
        errors["photos"] = _("Add at least %(n)d photo(s) first.", n=rule.min)
    place = parse_place(location, errors)
    where = parse_address(address, errors)
    media = parse_media_url(media_url, errors)
    if target_row is not None:
        if not place.known and target_row.lat is not None and target_row.long is not None:
            place = Place(target_row.lat, target_row.long)
        where = where or target_row.address
    if visit not in (None, "") and visit_row is None:
        errors["visit"] = _("No such visit in your group.")
    found_day = _found_on(found_on, visit_row, errors)
    if errors:
        raise ValidationFailed(errors, _("Please correct the marked fields."))

    # Foreign keys by id, not by object: the flush then touches only the new rows (the related
    # objects, cascaded into it, cost as much as the inserts); the related rows we hold are
    # attached afterwards as already-loaded values, without a query.
    unit = _unit_for_level(actor.unit, wf.states[state].level, filing_values)
    department = next((v for v in filing_values.values() if isinstance(v, Unit) and v.kind == "department"), None)
    case = Case(title=title.strip(), description=description.strip(), category_id=cat.id, kind=kind,
                source=source, urgency=urgency,
                resident_name=(resident.get("name") or "").strip(),
                resident_phone=(resident.get("phone") or "").strip(),
                resident_address=(resident.get("address") or "").strip(),
                resident_email=(resident.get("email") or "").strip(),
                resident_id_tail=(resident.get("id_tail") or "").strip().upper(),
                lat=place.lat, long=place.long, location_accuracy=place.accuracy, address=where,
                media_url=media,
                target_id=target_row.id if target_row else None,
                visit_id=visit_row.id if visit_row else None, group_id=actor.unit_id,
                unit_id=unit.id, state=state, deadline=deadline, found_on=found_day,
                department_id=department.id if department else None, campaign=camp.code,
                workflow=wf.name, workflow_version=wf.version, created_by_id=actor.id,
                created_at=now(), updated_at=now())
    start_clock(case, wf)
    # The case and its "file" event by two Core INSERTs, not the unit of work (whose flush of
    # these rows was a third of a filing's CPU); `insert_filed` keeps the hash chain and attaches
    # both as loaded objects. What follows is `after_filing`: the daily figures from the
    # objects held, the webhook outbox, the notice by one INSERT and its mail.
    filed = CaseEvent(at=case.created_at, actor_id=actor.id, trigger="file", from_state=None, to_state=state,
                      from_unit_id=None, to_unit_id=unit.id,
                      data={"kind": kind, "category": cat.code,
                            **{k: v.code if isinstance(v, Unit) else str(v) for k, v in filing_values.items()}})
    insert_filed(db.session(), case, filed)
    for name, value in (("category", cat), ("group", actor.unit), ("unit", unit),
                        ("created_by", actor), ("target", target_row), ("visit", visit_row),
                        ("department", department)):
        set_committed_value(case, name, value)
    if rule is not None:
        attach_filing_photos(case, actor, photos or [], rule.stage)
    after_filing(case, unit, filed, ref.webhooks)
    return case


def title_error(title: Any) -> str | None:
    """Why a case's title is refused (it is required, one line of at most 200 characters), or None."""
    if not isinstance(title, str) or not title.strip():
        return _("Please fill this in.")
    if len(title.strip()) > 200:
        return _("At most %(n)d characters.", n=200)
    return text_error(title.strip())


def _own(model, ident: Any, actor: User):
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        return None
    if not 0 < ident < MAX_ID:  # beyond any row id; the database driver would overflow
        return None
    return db.session.scalars(select(model).where(model.id == ident,
                                                  model.group_id == actor.unit_id)).first()


# -- transitions ---------------------------------------------------------------------------

def fire(case: Case, trigger: Any, actor: User | None, /, version: Any = None,
         **data: Any) -> Case:
    """Fire a trigger on a case as `actor` (None: the system), with the fields it needs."""
    _hold(case)
    ref = _reference()
    event, photos, done = _transition(case, trigger, actor, version, data)
    try:
        written = update_fired(db.session(), case, event)
    except StaleCase:
        _stale()
    if written:
        for photo in photos:
            photo.event = event
    else:   # a change the two statements do not write: the unit of work's flush does it all
        _flush_transitions([(event, photos)])
    done(ref.webhooks)
    return case


def fire_many(firings: list[tuple[Case, str, dict[str, Any]]], actor: User | None, /) -> None:
    """Fire a trigger on each of many cases, (case, trigger, fields) each, as `fire` does, with
    one flush for all (the sweep's escalations: a flush per case was most of their time). The
    first one refused raises its error; the caller's savepoint then undoes the others. The caller
    holds the cases' rows locked (the sweep's FOR UPDATE)."""
    ref = _reference()
    fired = [_transition(case, trigger, actor, None, data) for case, trigger, data in firings]
    _flush_transitions([(event, photos) for event, photos, _done in fired])
    for _event, _photos, finish in fired:
        finish(ref.webhooks)


def _reference() -> reference.Reference:
    """What a transition reads and rarely changes (the days off its deadline skips, the active
    webhooks), from this process's copy when the request has read its version already."""
    ref = reference.current()
    remember_days_off(ref.days_off)
    return ref


def _hold(case: Case) -> None:
    """On PostgreSQL, lock the case's row before its chain head is read: a transition racing the
    sweep's flag of the same case waits for it, then goes on from the case as the flag left it
    (reloaded) instead of chaining to the head it read before. SQLite's writer holds the whole
    database already (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    if db.session.info.get(_HELD, {}).get(case.id) is db.session().get_transaction():
        return   # read locked by this transaction (get_case(lock=True)): as its row is
    locked = db.session.scalar(select(Case.version).where(Case.id == case.id).with_for_update())
    if locked != case.version:
        db.session.refresh(case)


def _transition(case: Case, trigger: Any, actor: User | None, version: Any, data: dict[str, Any]
                ) -> tuple[CaseEvent, list[Attachment], Callable[[tuple[int, ...]], None]]:
    """Check and apply a transition to the case; returns its event and the photos that go with
    it, both for the caller to write, and what follows once written (the units attached, the
    notices)."""
    wf = workflow_of(case)
    if not isinstance(trigger, str) or trigger not in wf.triggers():
        raise ValidationFailed({"trigger": _("Unknown action.")}, _("Unknown action."))
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, (int, str)) \
                or not whole_number(str(version)):
            raise ValidationFailed({"version": _("A whole number, please.")})
        if int(version) != case.version:
            raise Conflict(_("This case changed since you opened it; reload it and try again."),
                           "stale")
    candidates = [t for t in wf.transitions_from(case.state) if t.trigger == trigger]
    if not candidates:
        raise Conflict(_("This action is not possible while the case is '%(state)s'.",
                         state=localized(wf.states[case.state].label)), "invalid_transition")
    if actor is not None:
        candidates = [t for t in candidates if actor.role in t.roles and may_act(case, actor, t)]
        if not candidates:
            raise Forbidden(_("You may not do this on this case."))
    waived: set[str] = set()
    values, logged = parse_fields(wf, candidates, data, case, waived)
    spec = _choose(case, candidates, values, waived)
    if spec.flag:
        logged[spec.flag] = True
    photos = _photos(case, spec) if actor is not None else []  # the system takes no photos

    before = summaries.before_transition(case)
    from_state, from_unit = case.state, case.unit
    if spec.to_unit:
        dest_kind = values[spec.to_unit].kind
    elif spec.back_to == "resolver":
        dest_kind = case.resolved_unit.kind if case.resolved_unit else None
    else:
        dest_kind = case.unit.kind
    if not wf.machine.events[trigger].trigger(case, spec=wf.transitions.index(spec), dest_kind=dest_kind):
        raise Conflict(_("This action is not possible now."), "invalid_transition")

    # Units are set by id (so the flush writes only the case and its event) and attached
    # as loaded values after the flush.
    units: dict[str, Unit] = {}
    level = wf.states[case.state].level
    if spec.to_unit:
        units["unit"] = values[spec.to_unit]
    elif spec.back_to == "resolver":
        units["unit"] = case.resolved_unit
    elif spec.back_to is None and not spec.stay and level != KEEP:
        units["unit"] = _unit_for_level(case.group, level, values)
    if wf.states[case.state].remember == "resolver" and not spec.stay:
        units["resolved_unit"] = from_unit
    revisit_fields = set(wf.revisit_states().values())
    for name, value in values.items():
        ftype = wf.fields[name].type
        if ftype == "department":
            units["department"] = value
        elif ftype == "decimal":
            setattr(case, name, (getattr(case, name) or Decimal(0)) + value)
        elif ftype == "user":
            case.owner_id = value.id
        elif name in revisit_fields:
            case.revisit_on = value
    for name, unit in units.items():
        setattr(case, f"{name}_id", unit.id)
    to_unit = units.get("unit", from_unit)
    # A note in place keeps the deadline; an attempt recorded (`stay`) leaves the clock as it was.
    if not spec.stay and ("due_date" in values or case.state != from_state):
        case.deadline = values.get("due_date") or _deadline(wf, case.state, case.urgency,
                                                            case.category.code)
        start_clock(case, wf)
    case.updated_at = now()
    event = CaseEvent(case_id=case.id, at=case.updated_at, actor_id=actor.id if actor else None,
                      trigger=trigger, from_state=from_state, to_state=case.state,
                      from_unit_id=from_unit.id, to_unit_id=to_unit.id, data=logged)
    # Counted from the event, before the flush: the database still holds the case as it was.
    figures = summaries.transition_figures(case, before, event)

    assisting = _assists(wf, spec, values, case)

    def done(webhooks: tuple[int, ...]) -> None:
        for name, unit in units.items():
            set_committed_value(case, name, unit)
        if assisting is not None:
            assign_assists(case, assisting)
        for name, value in values.items():
            if wf.fields[name].type == "user":
                set_committed_value(case, "owner", value)
        after_transition(Fired(case, spec, event, from_unit, values, figures, webhooks))
    return event, photos, done


def _assists(wf: Workflow, spec: TransitionSpec, values: dict[str, Any], case: Case) -> list[Unit] | None:
    """The assisting departments a transition names (None: it names none, they stay); the lead
    department is not its own assistant."""
    names = [f for f in spec.fields if wf.fields[f].type == "departments"]
    if not names:
        return None
    return [u for f in names for u in values.get(f) or [] if u.id != case.department_id]


def assign_assists(case: Case, departments: list[Unit]) -> None:
    """Make these departments the case's assisting ones (协办), in place of any before; each
    new one is told, as the lead is."""
    before = set(db.session.scalars(select(CaseAssist.unit_id).where(CaseAssist.case_id == case.id)))
    db.session.execute(delete(CaseAssist).where(CaseAssist.case_id == case.id,
                                                CaseAssist.unit_id.not_in([u.id for u in departments])))
    for unit in departments:
        if unit.id not in before:
            db.session.add(CaseAssist(case_id=case.id, unit_id=unit.id))
            notify("referral", case, case.title, unit=unit)


def assists_of(case: Case) -> list[Unit]:
    return list(db.session.scalars(select(Unit).join(CaseAssist, CaseAssist.unit_id == Unit.id)
                                   .where(CaseAssist.case_id == case.id).order_by(Unit.code)))


def _photos(case: Case, spec: TransitionSpec) -> list[Attachment]:
    """The case's photos of the stage the transition's workflow rule asks for (stage and min),
    not yet bound to a transition, to go with its event; too few is refused with a message."""
    rule = spec.photos
    if rule is None:
        return []
    photos = list(db.session.scalars(select(Attachment).where(
        Attachment.case_id == case.id, Attachment.stage == rule.stage, Attachment.event_id.is_(None),
        Attachment.is_image).order_by(Attachment.id)))
    if len(photos) < rule.min:
        raise ValidationFailed({"photos": _("Add at least %(n)d photo(s) first.", n=rule.min)},
                               _("This action needs photos: add at least %(n)d first.", n=rule.min))
    return photos


def _flush_transitions(fired: list[tuple[CaseEvent, list[Attachment]]]) -> None:
    """Add the events (and bind their photos to them), and flush them with their cases."""
    for event, photos in fired:
        db.session.add(event)
        for photo in photos:
            photo.event = event
    try:
        db.session.flush()
    except StaleDataError:
        _stale()


def _stale() -> NoReturn:
    db.session.rollback()
    raise Conflict(_("This case changed since you opened it; reload it and try again."), "stale") from None
