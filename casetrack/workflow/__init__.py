"""Workflow definitions: load workflows/*.yaml, validate, build one shared Machine each."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from transitions import Machine

ROLES = ("group_member", "group_leader", "team_leader", "county_officer",
         "department_handler", "admin", "leader", "inspector")
# An inspection unit (督查组) sits under a county, city or province office: its inspectors file
# the problems they find on the street and check the rectification (the civilized-city campaign).
UNIT_KINDS = ("province", "city", "county", "department", "team", "group", "inspection")
FIELD_TYPES = ("text", "date", "decimal", "bool", "department", "group", "choice", "unit",
               "departments", "user")
# Who acts on a case in a state: the unit holding it (default), or the user its user field named
# (the case's owner, e.g. the leader who owns a petition case, 包案领导).
HELD_BY = ("unit", "owner")
# Where a workflow's cases come from (Case.source).
SOURCES = ("visit", "petition", "inspection")
# Where a `unit` field's unit may be: anywhere in the case's county, or the filing group or a unit
# above it (the group or team whose resident it is).
UNIT_WITHIN = ("county", "filing")
URGENCIES = ("normal", "urgent")  # a case's urgency (紧急 / 一般), filed with it
KEEP = "keep"
# Sums a case keeps (万元): a decimal field of one of these names adds to the case's total.
DECIMAL_FIELDS = ("funds", "donations")
# Who a dynamic destination returns the case to: the unit holding it now, or the one that resolved it.
BACK_TO = ("holder", "resolver")
# The notice a transition's new holder gets (`notice:`), and what may follow it (`after:`):
# resolve_members resolves a shared problem's open members by the same trigger and its required
# fields; tell_filing_group tells the group that filed the case the transition's outcome.
NOTICES = ("new_case", "escalation", "referral")
AFTER_ACTIONS = ("resolve_members", "tell_filing_group")
# What a transition counts as in the bulletin (`counts_as:`): solved (核实解决) is the office's word.
# rectified: the responsible unit reports the work done (a campaign's weekly figures count it).
COUNTS_AS = ("solved", "rectified")
# Files of the workflows folder that are not workflows (workflow/assessment.py reads this one).
NOT_WORKFLOWS = ("assessment.yaml", "campaigns.yaml")


class WorkflowError(ValueError):
    """A workflow file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: dict[str, str]
    roles: frozenset[str] = frozenset()   # a user field: the roles the named user may have
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # a choice's values and labels
    kinds: tuple[str, ...] = ()            # a unit field: the kinds of unit it may name
    within: str = "county"                 # a unit field: where the unit may be (UNIT_WITHIN)
    alias_of: tuple[str, dict[Any, str]] | None = None  # (choice field, this field's value -> option)
    waives: tuple[str, ...] = ()           # an alias: fields asked for since, not needed with it


@dataclass(frozen=True)
class AutoEscalate:
    """Fire `trigger` as the system once a case is `after_days` working days overdue."""
    trigger: str
    after_days: int
    reason: dict[str, str]


@dataclass(frozen=True)
class ExtensionRules:
    """Who may ask for more days (延期) in which states, who decides, and how many days at most."""
    request_roles: frozenset[str]
    approve_roles: frozenset[str]
    states: tuple[str, ...]
    max_days: int
    pause_while_pending: bool


@dataclass(frozen=True)
class DetectionRules:
    """When open cases are proposed as one shared problem (共性问题)."""
    min_cases: int = 3
    min_groups: int = 2
    within_days: int = 30
    match: tuple[str, ...] = ("village", "text")
    text_similarity: float = 0.35
    ngram: int = 2


@dataclass(frozen=True)
class SharedRules:
    link_roles: frozenset[str]
    detection: DetectionRules


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: dict[str, str]
    level: str
    deadline_days: int | None
    final: bool
    remember: str | None
    pauses_clock: bool = False
    auto_escalate: AutoEscalate | None = None
    revisit_field: str | None = None       # a date field: the case comes back to its holder that day
    awaits_callback: bool = False          # a state of a delegated call-back (counted as one)
    deadline_rule: DeadlineRule | None = None
    report_every: int | None = None        # working days between progress reports the holder owes
    held_by: str = "unit"                  # who acts on the case here (HELD_BY)

    def days_for(self, urgency: str, category: str | None) -> int | None:
        """The working days to act, for a case of this urgency and category."""
        if self.deadline_rule is None:
            return self.deadline_days
        return self.deadline_rule.days(urgency, category)


@dataclass(frozen=True)
class DeadlineRule:
    """`deadline_days` as a mapping: urgent cases get `urgent` days, others their category's or
    the default."""
    default: int
    urgent: int | None
    by_category: dict[str, int]

    def days(self, urgency: str, category: str | None) -> int:
        if urgency == "urgent" and self.urgent:
            return self.urgent
        return self.by_category.get(category or "", self.default)


@dataclass(frozen=True)
class Attempts:
    """A transition taken only at the `count`th attempt of its trigger with the same values
    (on as many different days when `distinct_days`) since the case entered its state."""
    count: int
    distinct_days: bool


@dataclass(frozen=True)
class PhotoRule:
    """Photos a transition takes (e.g. 整改后 for resolve): of `stage`, at least `min` (0: offered)."""
    stage: str
    min: int


PHOTO_STAGES = ("before", "after")
MAX_PHOTOS = 9


@dataclass(frozen=True)
class TransitionSpec:
    """One YAML transition; `dest` is a state name, or None when `back_to` decides it."""
    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    back_to: str | None
    roles: frozenset[str]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    when: dict[str, Any]
    label: dict[str, str]
    notice: str = "new_case"        # the notice the new holder gets when the case changes hands
    after: tuple[str, ...] = ()     # what follows the transition (AFTER_ACTIONS), in order
    to_unit: str | None = None      # a unit field naming the new holder (dest follows its kind
                                    # unless `dest` is set)
    stay: bool = False              # the case stays in its state (an attempt recorded)
    attempts: Attempts | None = None
    flag: str | None = None         # added to the event's data as {flag: true}: counted apart
    flag_label: dict[str, str] = field(default_factory=dict)
    reach: str = "holder"           # who may fire: the holding unit, or anyone whose scope has it
    counts_as: str | None = None    # a bulletin figure the transition counts in (COUNTS_AS)
    photos: PhotoRule | None = None  # photos it takes, bound to its event
    weight: int = 1                 # how often the demo's random walk takes it, against the others

    def matches(self, values: dict[str, Any]) -> bool:
        """The fields given satisfy `when` (a value, or a list of values one of which)."""
        return all(values.get(k) in v if isinstance(v, list) else values.get(k) == v
                   for k, v in self.when.items())

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class FilingRules:
    """What a filing asks for beyond the problem itself: `fields` of the workflow (a department
    field names the unit that holds the new case), a target (`target`: none, optional or
    required; `target_within`: the filing unit's own targets, or its campaign's in the county),
    and photos of a stage."""
    fields: tuple[str, ...] = ()
    target: str = "optional"
    target_within: str = "own"
    photos: PhotoRule | None = None


FILING_TARGET = ("optional", "required")
TARGET_WITHIN = ("own", "county")


@dataclass
class Workflow:
    name: str
    version: int
    path: str
    label: dict[str, str]
    states: dict[str, StateSpec]
    fields: dict[str, FieldSpec]
    transitions: list[TransitionSpec]
    filing_roles: frozenset[str]
    filing_states: dict[str, str]
    warn_at: float | None = None
    extensions: ExtensionRules | None = None
    shared: SharedRules | None = None
    petition_roles: frozenset[str] = frozenset()   # file a petition received at their own unit
    source: str = "visit"
    filing: FilingRules = field(default_factory=lambda: FilingRules())
    machine: Machine = field(repr=False, default=None)  # type: ignore[assignment]

    def transitions_from(self, state: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if state in t.sources]

    def counting(self, figure: str) -> list[TransitionSpec]:
        """The transitions that count in a bulletin figure (`counts_as:`)."""
        return [t for t in self.transitions if t.counts_as == figure]

    def triggers(self) -> list[str]:
        return list(dict.fromkeys(t.trigger for t in self.transitions))

    def levels(self) -> list[str]:
        """The kinds of unit that hold cases, in the file's order."""
        return list(dict.fromkeys(s.level for s in self.states.values() if s.level != KEEP))

    def trigger_fields(self, state: str, trigger: str, role: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(required, optional) fields of a trigger from a state, over its transitions the role
        may fire: required where every one of them needs the field."""
        specs = [t for t in self.transitions_from(state) if t.trigger == trigger
                 and (role is None or role in t.roles)]
        names = list(dict.fromkeys(f for t in specs for f in t.fields))
        required = tuple(f for f in names if all(f in t.required for t in specs))
        return required, tuple(f for f in names if f not in required)

    def flag_labels(self) -> dict[str, dict[str, str]]:
        """The labels of the flags transitions add to their events' data."""
        return {t.flag: t.flag_label for t in self.transitions if t.flag}

    def revisit_states(self) -> dict[str, str]:
        """state -> its date field, for the states whose cases come back on a date."""
        return {s.name: s.revisit_field for s in self.states.values() if s.revisit_field}

    def explained_states(self) -> set[str]:
        """The states of a case explained to the people: kept on the books, its clock stopped."""
        return {s.name for s in self.states.values() if s.level == KEEP and s.pauses_clock and not s.final}

    def level_state(self, unit_kind: str) -> str | None:
        """The handling state of a kind of unit: the first state of that level in the file."""
        return next((s.name for s in self.states.values() if s.level == unit_kind), None)

    def owner_field(self) -> FieldSpec | None:
        """The field of type user: whoever it names owns the case."""
        return next((f for f in self.fields.values() if f.type == "user"), None)

    def describe(self) -> str:
        lines = [f"{self.name} v{self.version} ({self.path})", "states:"]
        for s in self.states.values():
            days = f", {s.deadline_days} working days" if s.deadline_days else ""
            extra = ", pauses the clock" if s.pauses_clock else ""
            if s.auto_escalate:
                extra += (f", {s.auto_escalate.trigger} by the system after "
                          f"{s.auto_escalate.after_days} working days overdue")
            lines.append(f"  {s.name:<12} {s.label.get('zh', '')} / {s.label.get('en', '')}"
                         f" [level {s.level}{days}{', final' if s.final else ''}{extra}]")
        lines.append("transitions:")
        for t in self.transitions:
            dest = ("(stays)" if t.stay else f"the unit in {t.to_unit}" + (f" in {t.dest}" if t.dest else "")
                    if t.stay or t.to_unit else f"back to {t.back_to}" + (f" in {t.dest}" if t.dest else "")
                    if t.back_to else t.dest)
            cond = "".join(f" when {k}={v}" for k, v in t.when.items())
            lines.append(f"  {t.trigger:<10} {','.join(t.sources)} -> {dest}{cond}"
                         f"  roles={','.join(sorted(t.roles))}"
                         f"  fields={','.join(t.required) or '-'}"
                         f"{'  optional=' + ','.join(t.optional) if t.optional else ''}"
                         f"{f'  photos={t.photos.stage}>={t.photos.min}' if t.photos else ''}")
        if self.warn_at:
            lines.append(f"pre-warning at {self.warn_at:.0%} of the working days")
        if self.extensions:
            e = self.extensions
            lines.append(f"extensions: asked by {','.join(sorted(e.request_roles))} in "
                         f"{','.join(e.states)}, up to {e.max_days} days, decided by "
                         f"{','.join(sorted(e.approve_roles))}")
        return "\n".join(lines)


def _label(where: str, value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"zh": value, "en": value}
    if not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values()):
        raise WorkflowError(f"{where}: label must be a text or a mapping like {{zh: ..., en: ...}}")
    return dict(value)


def _names(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise WorkflowError(f"{where}: must be a name or a list of names")


def _check_keys(where: str, mapping: Any, allowed: set[str], required: set[str] = frozenset()) -> None:
    if not isinstance(mapping, dict):
        raise WorkflowError(f"{where}: must be a mapping")
    for key in mapping:
        if key not in allowed and not str(key).startswith("x-"):
            raise WorkflowError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in mapping:
            raise WorkflowError(f"{where}.{key}: missing")


def parse_workflow(data: Any, path: str = "<workflow>") -> Workflow:
    """Validate a parsed YAML document and build its Workflow (with its Machine)."""
    _check_keys(path, data, {"name", "version", "label", "roles", "fields", "filing", "states",
                             "transitions", "deadlines", "extensions", "shared_problems"},
                {"name", "version", "states", "transitions", "filing"})
    name, version = data["name"], data["version"]
    if not isinstance(name, str) or not name.isidentifier():
        raise WorkflowError(f"{path}: name: must be a simple identifier, not {name!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WorkflowError(f"{path}: version: must be a positive whole number")
    roles = _names(f"{path}: roles", data.get("roles", list(ROLES)))
    for role in roles:
        if role not in ROLES:
            raise WorkflowError(f"{path}: roles: unknown role {role!r} (known: {', '.join(ROLES)})")

    fields: dict[str, FieldSpec] = {}
    for fname, spec in (data.get("fields") or {}).items():
        where = f"{path}: fields.{fname}"
        _check_keys(where, spec, {"type", "label", "roles", "options", "kinds", "within", "alias_of"},
                    {"type"})
        if spec["type"] not in FIELD_TYPES:
            raise WorkflowError(f"{where}.type: unknown type {spec['type']!r} (known: {', '.join(FIELD_TYPES)})")
        if (spec["type"] == "user") != ("roles" in spec):
            raise WorkflowError(f"{where}.roles: a user field, and only a user field, names the roles "
                                f"the user may have")
        if spec["type"] == "user" and any(f.type == "user" for f in fields.values()):
            raise WorkflowError(f"{where}.type: one user field at most (it names the case's owner)")
        if spec["type"] == "decimal" and fname not in DECIMAL_FIELDS:
            raise WorkflowError(f"{where}: a decimal field adds up on the case; "
                                f"known: {', '.join(DECIMAL_FIELDS)}")
        fields[fname] = _field_extras(where, spec, FieldSpec(
            fname, spec["type"], _label(where, spec.get("label", fname)),
            _role_set(f"{where}.roles", spec["roles"], roles) if "roles" in spec else frozenset()))
    for fname, spec in (data.get("fields") or {}).items():
        if "alias_of" in spec:
            fields[fname] = _alias(f"{path}: fields.{fname}.alias_of", spec["alias_of"], fields[fname], fields)

    states: dict[str, StateSpec] = {}
    if not isinstance(data["states"], dict) or not data["states"]:
        raise WorkflowError(f"{path}: states: must be a non-empty mapping")
    for sname, spec in data["states"].items():
        where = f"{path}: states.{sname}"
        _check_keys(where, spec, {"label", "level", "deadline_days", "final", "remember", "pauses_clock",
                                 "auto_escalate", "revisit", "awaits_callback",
                                 "report_every", "held_by"}, {"level"})
        held_by = spec.get("held_by", "unit")
        if held_by not in HELD_BY:
            raise WorkflowError(f"{where}.held_by: must be one of {', '.join(HELD_BY)}")
        if held_by == "owner" and not any(f.type == "user" for f in fields.values()):
            raise WorkflowError(f"{where}.held_by: an owner needs a field of type user to name it")
        if spec.get("remember") not in (None, "resolver"):
            raise WorkflowError(f"{where}.remember: only 'resolver' can be remembered")
        if spec["level"] not in UNIT_KINDS + (KEEP,):
            raise WorkflowError(f"{where}.level: unknown level {spec['level']!r} "
                                f"(known: {', '.join(UNIT_KINDS + (KEEP,))})")
        days, rule = spec.get("deadline_days"), None
        if isinstance(days, dict):
            rule = _deadline_rule(f"{where}.deadline_days", days)
            days = rule.default
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
            raise WorkflowError(f"{where}.deadline_days: must be a positive whole number")
        pauses = spec.get("pauses_clock", False)
        if not isinstance(pauses, bool):
            raise WorkflowError(f"{where}.pauses_clock: must be true or false")
        if pauses and days:
            raise WorkflowError(f"{where}.pauses_clock: a state that pauses the clock has no deadline_days")
        states[sname] = StateSpec(sname, _label(where, spec.get("label", sname)), spec["level"],
                                  days, bool(spec.get("final", False)), spec.get("remember"), pauses,
                                  revisit_field=_revisit(f"{where}.revisit", spec.get("revisit"), fields),
                                  awaits_callback=_flag_value(f"{where}.awaits_callback",
                                                              spec.get("awaits_callback", False)),
                                  deadline_rule=rule, held_by=held_by)

    filing = data["filing"]
    _check_keys(f"{path}: filing", filing, {"roles", "states", "petition_roles", "source", "fields", "target",
                                            "photos"}, {"roles", "states"})
    filing_roles = frozenset(_names(f"{path}: filing.roles", filing["roles"]))
    for role in filing_roles - set(roles):
        raise WorkflowError(f"{path}: filing.roles: unknown role {role!r}")
    petition_roles = _role_set(f"{path}: filing.petition_roles", filing.get("petition_roles", []), roles)
    source = filing.get("source", "visit")
    if source not in SOURCES:
        raise WorkflowError(f"{path}: filing.source: must be one of {', '.join(SOURCES)}")
    _check_keys(f"{path}: filing.states", filing["states"], {"individual", "shared"},
                {"individual", "shared"})
    for kind, sname in filing["states"].items():
        if sname not in states:
            raise WorkflowError(f"{path}: filing.states.{kind}: unknown state {sname!r}")
    filing_rules = _filing_rules(f"{path}: filing", filing, fields, states)

    transitions: list[TransitionSpec] = []
    if not isinstance(data["transitions"], list) or not data["transitions"]:
        raise WorkflowError(f"{path}: transitions: must be a non-empty list")
    for i, spec in enumerate(data["transitions"]):
        where = f"{path}: transitions[{i}]"
        _check_keys(where, spec, {"trigger", "source", "dest", "roles", "fields", "optional", "when",
                                  "label", "notice", "after", "attempts", "flag", "reach",
                                  "counts_as", "photos", "weight"},
                    {"trigger", "source", "dest", "roles"})
        trigger = spec["trigger"]
        if not isinstance(trigger, str) or not trigger.isidentifier():
            raise WorkflowError(f"{where}.trigger: must be a simple name, not {trigger!r}")
        where = f"{path}: transitions[{i}] ({trigger})"
        sources = _names(f"{where}.source", spec["source"])
        for s in sources:
            if s not in states:
                raise WorkflowError(f"{where}.source: unknown state {s!r}")
        dest, back_to, to_unit, stay = spec["dest"], None, None, False
        if isinstance(dest, dict) and "back_to" in dest:
            _check_keys(f"{where}.dest", dest, {"back_to", "state"}, {"back_to"})
            back_to, dest = dest["back_to"], dest.get("state")
            if back_to not in BACK_TO:
                raise WorkflowError(f"{where}.dest.back_to: must be one of {', '.join(BACK_TO)}")
            if dest is not None and (dest not in states or states[dest].level != KEEP):
                raise WorkflowError(f"{where}.dest.state: must name a state of level keep "
                                    f"(the unit it goes back to holds it there)")
        elif isinstance(dest, dict):
            dest, to_unit, stay = _dynamic_dest(f"{where}.dest", dest, states, fields)
        elif dest not in states:
            raise WorkflowError(f"{where}.dest: unknown state {dest!r}")
        t_roles = frozenset(_names(f"{where}.roles", spec["roles"]))
        for role in t_roles - set(roles):
            raise WorkflowError(f"{where}.roles: unknown role {role!r}")
        required = _names(f"{where}.fields", spec.get("fields", []))
        optional = _names(f"{where}.optional", spec.get("optional", []))
        for f in required + optional:
            if f not in fields:
                raise WorkflowError(f"{where}.fields: unknown field {f!r}")
        when = spec.get("when") or {}
        _check_keys(f"{where}.when", when, set(required))
        _check_when(f"{where}.when", when, fields)
        if to_unit is not None and to_unit not in required:
            raise WorkflowError(f"{where}.dest.to_unit: {to_unit!r} must be one of the fields")
        if dest is not None and states[dest].level == "department" and not any(
                fields[f].type == "department" for f in required):
            raise WorkflowError(f"{where}.fields: a move to a department needs a department field")
        notice = spec.get("notice", "new_case")
        if notice not in NOTICES:
            raise WorkflowError(f"{where}.notice: must be one of {', '.join(NOTICES)}")
        after = _names(f"{where}.after", spec.get("after", []))
        for action in after:
            if action not in AFTER_ACTIONS:
                raise WorkflowError(f"{where}.after: unknown action {action!r} "
                                    f"(allowed: {', '.join(AFTER_ACTIONS)})")
        transitions.append(TransitionSpec(
            trigger, sources, dest, back_to, t_roles, required, optional, dict(when),
            _label(where, spec.get("label", trigger)), notice, after, to_unit, stay,
            _attempts(f"{where}.attempts", spec.get("attempts"), when),
            *_flag(f"{where}.flag", spec.get("flag"), fields),
            _reach(f"{where}.reach", spec.get("reach", "holder")),
            _counts_as(f"{where}.counts_as", spec.get("counts_as")),
            photos=_photos(f"{where}.photos", spec.get("photos")),
            weight=_whole(f"{where}.weight", spec.get("weight", 1), 0)))

    for sname, spec in data["states"].items():
        if spec.get("auto_escalate") is not None:
            states[sname] = replace(states[sname], auto_escalate=_auto_escalate(
                f"{path}: states.{sname}.auto_escalate", spec["auto_escalate"], states[sname],
                transitions))
        if spec.get("report_every") is not None:
            states[sname] = replace(states[sname], report_every=_whole(
                f"{path}: states.{sname}.report_every", spec["report_every"], 1))
    wf = Workflow(name, version, path, _label(f"{path}: label", data.get("label", name)), states,
                  fields, transitions, filing_roles, dict(filing["states"]),
                  _warn_at(f"{path}: deadlines", data.get("deadlines")),
                  _extensions(f"{path}: extensions", data.get("extensions"), roles, states),
                  _shared(f"{path}: shared_problems", data.get("shared_problems"), roles),
                  petition_roles, source, filing_rules)
    _check_reachable(wf)
    wf.machine = _build_machine(wf)
    return wf


def _whole(where: str, value: Any, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise WorkflowError(f"{where}: must be a whole number of at least {least}")
    return value


def _share(where: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < 1:
        raise WorkflowError(f"{where}: must be a share between 0 and 1, like 0.8")
    return float(value)


def _role_set(where: str, value: Any, roles: tuple[str, ...]) -> frozenset[str]:
    names = frozenset(_names(where, value))
    for role in sorted(names - set(roles)):
        raise WorkflowError(f"{where}: unknown role {role!r}")
    return names


def _field_extras(where: str, spec: dict, f: FieldSpec) -> FieldSpec:
    """A choice's `options` (value: label), a unit field's `kinds` and `within`."""
    extra = {k for k in ("options", "kinds", "within") if k in spec}
    allowed = {"choice": {"options"}, "unit": {"kinds", "within"}}.get(f.type, set())
    for key in sorted(extra - allowed):
        raise WorkflowError(f"{where}.{key}: only for a field of type {'choice' if key == 'options' else 'unit'}")
    if f.type == "choice":
        options = spec.get("options")
        if not isinstance(options, dict) or not options or not all(isinstance(k, str) for k in options):
            raise WorkflowError(f"{where}.options: must be a mapping like {{value: {{zh: ..., en: ...}}}}")
        return replace(f, options={k: _label(f"{where}.options.{k}", v) for k, v in options.items()})
    if f.type == "unit":
        kinds = _names(f"{where}.kinds", spec.get("kinds", ["team", "group"]))
        for kind in kinds:
            if kind not in ("team", "group"):
                raise WorkflowError(f"{where}.kinds: {kind!r}: a unit field names teams or groups")
        within = spec.get("within", "county")
        if within not in UNIT_WITHIN:
            raise WorkflowError(f"{where}.within: must be one of {', '.join(UNIT_WITHIN)}")
        return replace(f, kinds=kinds, within=within)
    return f


def _alias(where: str, spec: Any, f: FieldSpec, fields: dict[str, FieldSpec]) -> FieldSpec:
    """`alias_of: {field: CHOICE, values: {true: OPTION, ...}, waives: [F]}`: an older field that
    still works, read as a value of a choice field, without the fields asked for since (F)."""
    _check_keys(where, spec, {"field", "values", "waives"}, {"field", "values"})
    target = fields.get(spec["field"])
    if target is None or target.type != "choice":
        raise WorkflowError(f"{where}.field: must name a choice field")
    values = spec["values"]
    if not isinstance(values, dict) or not values:
        raise WorkflowError(f"{where}.values: must be a mapping of this field's values to options")
    for option in values.values():
        if option not in target.options:
            raise WorkflowError(f"{where}.values: {option!r} is not an option of {target.name!r}")
    waives = _names(f"{where}.waives", spec.get("waives", []))
    for name in waives:
        if name not in fields:
            raise WorkflowError(f"{where}.waives: unknown field {name!r}")
    return replace(f, alias_of=(target.name, dict(values)), waives=waives)


def _deadline_rule(where: str, spec: Any) -> DeadlineRule:
    _check_keys(where, spec, {"default", "urgent", "by_category"}, {"default"})
    by_category = spec.get("by_category") or {}
    if not isinstance(by_category, dict):
        raise WorkflowError(f"{where}.by_category: must be a mapping of category codes to days")
    return DeadlineRule(_whole(f"{where}.default", spec["default"], 1),
                        _whole(f"{where}.urgent", spec["urgent"], 1) if "urgent" in spec else None,
                        {str(k): _whole(f"{where}.by_category.{k}", v, 1) for k, v in by_category.items()})


def _revisit(where: str, spec: Any, fields: dict[str, FieldSpec]) -> str | None:
    """`revisit: {field: F}`: F, a date field, is the day the case comes back to its holder."""
    if spec is None:
        return None
    _check_keys(where, spec, {"field"}, {"field"})
    if spec["field"] not in fields or fields[spec["field"]].type != "date":
        raise WorkflowError(f"{where}.field: must name a date field")
    return spec["field"]


def _flag_value(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise WorkflowError(f"{where}: must be true or false")
    return value


def _dynamic_dest(where: str, spec: dict, states: dict[str, StateSpec],
                  fields: dict[str, FieldSpec]) -> tuple[str | None, str | None, bool]:
    """(dest, to_unit, stay) of `{to_unit: FIELD[, state: S]}` or `{stay: true}`."""
    if "stay" in spec:
        _check_keys(where, spec, {"stay"})
        if spec["stay"] is not True:
            raise WorkflowError(f"{where}.stay: must be true")
        return None, None, True
    _check_keys(where, spec, {"to_unit", "state"}, {"to_unit"})
    name = spec["to_unit"]
    if name not in fields or fields[name].type != "unit":
        raise WorkflowError(f"{where}.to_unit: must name a field of type unit")
    state = spec.get("state")
    if state is not None:
        if state not in states:
            raise WorkflowError(f"{where}.state: unknown state {state!r}")
        if states[state].level != KEEP:
            raise WorkflowError(f"{where}.state: {state!r} must have level keep (the field names its holder)")
        return state, name, False
    for kind in fields[name].kinds:
        if not any(s.level == kind for s in states.values()):
            raise WorkflowError(f"{where}.to_unit: no state of level {kind!r} to send a {kind} the case in")
    return None, name, False


def _check_when(where: str, when: dict, fields: dict[str, FieldSpec]) -> None:
    for name, value in when.items():
        f = fields[name]
        if f.type == "choice":
            for v in (value if isinstance(value, list) else [value]):
                if v not in f.options:
                    raise WorkflowError(f"{where}.{name}: {v!r} is not one of its options")


def _attempts(where: str, spec: Any, when: dict) -> Attempts | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"count", "distinct_days"}, {"count"})
    if not when:
        raise WorkflowError(f"{where}: attempts are counted by the values of `when`; give one")
    return Attempts(_whole(f"{where}.count", spec["count"], 2),
                    _flag_value(f"{where}.distinct_days", spec.get("distinct_days", False)))


def _flag(where: str, value: Any, fields: dict[str, FieldSpec]) -> tuple[str | None, dict[str, str]]:
    """`flag: {NAME: LABEL}`: (name, label)."""
    if value is None:
        return None, {}
    if not isinstance(value, dict) or len(value) != 1:
        raise WorkflowError(f"{where}: must be one name with its label, like {{name: {{zh: ..., en: ...}}}}")
    (name, label), = value.items()
    if not isinstance(name, str) or not name.isidentifier() or name in fields:
        raise WorkflowError(f"{where}: {name!r} must be a simple name that is not a field's")
    return name, _label(f"{where}.{name}", label)


def _reach(where: str, value: Any) -> str:
    if value not in ("holder", "scope"):
        raise WorkflowError(f"{where}: must be holder (only the unit holding the case) or scope "
                            f"(any unit whose scope has the case)")
    return value


def _auto_escalate(where: str, spec: Any, state: StateSpec,
                   transitions: list[TransitionSpec]) -> AutoEscalate:
    _check_keys(where, spec, {"after_overdue_days", "trigger", "reason"}, {"after_overdue_days", "reason"})
    if not state.deadline_days:
        raise WorkflowError(f"{where}: a state without deadline_days is never overdue")
    if "trigger" not in spec:
        raise WorkflowError(f"{where}.trigger: missing (the transition the system fires)")
    trigger = spec["trigger"]
    found = [t for t in transitions if t.trigger == trigger and state.name in t.sources]
    if not found:
        raise WorkflowError(f"{where}.trigger: no transition {trigger!r} leaves this state")
    if any(f != "reason" for f in found[0].required):
        raise WorkflowError(f"{where}.trigger: {trigger!r} needs fields the system cannot give "
                            f"({', '.join(found[0].required)}); only a reason")
    return AutoEscalate(trigger, _whole(f"{where}.after_overdue_days", spec["after_overdue_days"], 0),
                        _label(f"{where}.reason", spec["reason"]))


def _counts_as(where: str, figure: Any) -> str | None:
    if figure is not None and figure not in COUNTS_AS:
        raise WorkflowError(f"{where}: must be one of {', '.join(COUNTS_AS)}")
    return figure


def _photos(where: str, spec: Any) -> PhotoRule | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"stage", "min"}, {"stage"})
    if spec["stage"] not in PHOTO_STAGES:
        raise WorkflowError(f"{where}.stage: must be one of {', '.join(PHOTO_STAGES)}")
    least = _whole(f"{where}.min", spec.get("min", 1), 0)
    if least > MAX_PHOTOS:
        raise WorkflowError(f"{where}.min: at most {MAX_PHOTOS} photos go with a transition")
    return PhotoRule(spec["stage"], least)


def _filing_rules(where: str, filing: dict, fields: dict[str, FieldSpec],
                  states: dict[str, StateSpec]) -> FilingRules:
    """`fields` asked at filing, `target: {need: optional|required, within: own|county}`, `photos`."""
    names = _names(f"{where}.fields", filing.get("fields", []))
    for name in names:
        if name not in fields or fields[name].type not in ("department", "text", "date"):
            raise WorkflowError(f"{where}.fields: {name!r} must be a department, text or date field")
    for kind, sname in filing["states"].items():
        if states[sname].level == "department" and not any(fields[n].type == "department" for n in names):
            raise WorkflowError(f"{where}.states.{kind}: a case filed to a department needs a department "
                                f"field in filing.fields")
    target = filing.get("target") or {}
    _check_keys(f"{where}.target", target, {"need", "within"})
    need, within = target.get("need", "optional"), target.get("within", "own")
    if need not in FILING_TARGET:
        raise WorkflowError(f"{where}.target.need: must be one of {', '.join(FILING_TARGET)}")
    if within not in TARGET_WITHIN:
        raise WorkflowError(f"{where}.target.within: must be one of {', '.join(TARGET_WITHIN)}")
    return FilingRules(names, need, within, _photos(f"{where}.photos", filing.get("photos")))


def _warn_at(where: str, spec: Any) -> float | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"warn_at"}, {"warn_at"})
    return _share(f"{where}.warn_at", spec["warn_at"])


def _extensions(where: str, spec: Any, roles: tuple[str, ...],
                states: dict[str, StateSpec]) -> ExtensionRules | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"request_roles", "approve_roles", "states", "max_days",
                              "pause_while_pending"},
                {"request_roles", "approve_roles", "states", "max_days"})
    in_states = _names(f"{where}.states", spec["states"])
    for sname in in_states:
        if sname not in states:
            raise WorkflowError(f"{where}.states: unknown state {sname!r}")
        if not states[sname].deadline_days:
            raise WorkflowError(f"{where}.states: {sname!r} has no deadline to extend")
    pause = spec.get("pause_while_pending", True)
    if not isinstance(pause, bool):
        raise WorkflowError(f"{where}.pause_while_pending: must be true or false")
    return ExtensionRules(_role_set(f"{where}.request_roles", spec["request_roles"], roles),
                          _role_set(f"{where}.approve_roles", spec["approve_roles"], roles),
                          in_states, _whole(f"{where}.max_days", spec["max_days"], 1), pause)


MATCHES = ("village", "text")


def _shared(where: str, spec: Any, roles: tuple[str, ...]) -> SharedRules | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"link_roles", "detection"}, {"link_roles"})
    det = spec.get("detection") or {}
    dwhere = f"{where}.detection"
    _check_keys(dwhere, det, {"min_cases", "min_groups", "within_days", "match", "text_similarity",
                              "ngram"})
    defaults = DetectionRules()
    match = _names(f"{dwhere}.match", det.get("match", list(defaults.match)))
    for m in match:
        if m not in MATCHES:
            raise WorkflowError(f"{dwhere}.match: unknown match {m!r} (known: {', '.join(MATCHES)})")
    rules = DetectionRules(
        _whole(f"{dwhere}.min_cases", det.get("min_cases", defaults.min_cases), 2),
        _whole(f"{dwhere}.min_groups", det.get("min_groups", defaults.min_groups), 1),
        _whole(f"{dwhere}.within_days", det.get("within_days", defaults.within_days), 1),
        match,
        _share(f"{dwhere}.text_similarity", det.get("text_similarity", defaults.text_similarity)),
        _whole(f"{dwhere}.ngram", det.get("ngram", defaults.ngram), 1))
    return SharedRules(_role_set(f"{where}.link_roles", spec["link_roles"], roles), rules)


def _check_reachable(wf: Workflow) -> None:
    reached = set(wf.filing_states.values())
    handling = {wf.level_state(level) for level in wf.levels()}
    frontier = list(reached)
    while frontier:
        state = frontier.pop()
        for t in wf.transitions_from(state):
            for dest in _dests(wf, t, state, handling):
                if dest not in reached:
                    reached.add(dest)
                    frontier.append(dest)
    for sname in wf.states:
        if sname not in reached:
            raise WorkflowError(f"{wf.path}: states.{sname}: unreachable from the filing states")


def _dests(wf: Workflow, t: TransitionSpec, state: str, handling: set[str]) -> list[str]:
    if t.stay:
        return [state]
    if t.dest:
        return [t.dest]
    if t.to_unit:
        return [wf.level_state(kind) for kind in wf.fields[t.to_unit].kinds]
    return sorted(handling)


def _chosen(index: int):
    """The service picks the transition (roles, `when`, attempts); the machine takes only it."""
    def check(event) -> bool:
        return event.kwargs["spec"] == index
    return check


def _dest_kind_is(level: str):
    def check(event) -> bool:
        return event.kwargs["dest_kind"] == level
    return check


def _build_machine(wf: Workflow) -> Machine:
    """One Machine for the workflow; a destination that depends on a unit (`back_to`, `to_unit`)
    expands into one guarded transition per level; `stay` is an internal transition."""
    machine_transitions = []
    for i, t in enumerate(wf.transitions):
        conditions = [_chosen(i)]
        if t.dest or t.stay:
            machine_transitions.append({"trigger": t.trigger, "source": list(t.sources),
                                        "dest": t.dest, "conditions": conditions})
            continue
        kinds = wf.fields[t.to_unit].kinds if t.to_unit else wf.levels()
        for level in kinds:
            machine_transitions.append({
                "trigger": t.trigger, "source": list(t.sources), "dest": wf.level_state(level),
                "conditions": conditions + [_dest_kind_is(level)]})
    return Machine(model=None, states=list(wf.states), transitions=machine_transitions,
                   initial=wf.filing_states["individual"], auto_transitions=False,
                   send_event=True, model_attribute="state")


def read_yaml(path: Path) -> Any:
    """A file of the workflows folder, parsed; an unreadable or broken one names the file."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise WorkflowError(f"{path}: not valid YAML: {exc}") from None


def load_workflow(path: str | Path) -> Workflow:
    path = Path(path)
    return parse_workflow(read_yaml(path), str(path))


class Registry:
    """Every workflow version found in a folder, by (name, version)."""

    def __init__(self, folder: str | Path):
        self.workflows: dict[tuple[str, int], Workflow] = {}
        for path in sorted(Path(folder).glob("*.yaml")):
            if path.name in NOT_WORKFLOWS:
                continue
            wf = load_workflow(path)
            if (wf.name, wf.version) in self.workflows:
                raise WorkflowError(f"{path}: name/version {wf.name} v{wf.version} already defined "
                                    f"in {self.workflows[(wf.name, wf.version)].path}")
            self.workflows[(wf.name, wf.version)] = wf

    def get(self, name: str, version: int) -> Workflow:
        return self.workflows[(name, version)]

    def latest(self, name: str) -> Workflow:
        versions = [wf for (n, _), wf in self.workflows.items() if n == name]
        if not versions:
            raise WorkflowError(f"no workflow named {name!r} in the workflows folder")
        return max(versions, key=lambda wf: wf.version)
