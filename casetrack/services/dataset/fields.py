"""Values a demo or generated user gives a transition's fields, by the workflow's field types
(the grand visit's and the rectification's demos both walk their cases with them)."""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Unit, User
from casetrack.services.workdays import calendar
from casetrack.workflow import FieldSpec
from casetrack.workflow.current import workflow_of

if TYPE_CHECKING:
    from faker import Faker


def trigger_fields(case: Case, trigger: str, actor: User, rng: random.Random, fake: Faker,
            depts: list[Unit]) -> dict:
    """Values for a trigger, by the workflow's field types: the `when` values one of its
    transitions asks for (the first options likelier, an unanswered call-back tried again),
    then that transition's fields."""
    wf = workflow_of(case)
    specs = [t for t in wf.transitions_from(case.state) if t.trigger == trigger and actor.role in t.roles]
    values = _when_values(case, trigger, specs, rng)
    spec = next(t for t in specs if t.matches(values))
    fields = dict(values)
    for name in spec.fields:
        if name in fields or (name not in spec.required and rng.random() < 0.7):
            continue
        value = _value(wf.fields[name], case, rng, fake, depts)
        if value is not None:
            fields[name] = value
    return fields


def _when_values(case: Case, trigger: str, specs: list, rng: random.Random) -> dict:
    last = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc()).limit(1)).first()
    if last is not None and last.trigger == trigger and last.from_state == last.to_state \
            and rng.random() < 0.8:   # an attempt that changed nothing is made again
        return {k: last.data[k] for t in specs for k in t.when if k in last.data}
    names = list(dict.fromkeys(k for t in specs for k in t.when))
    values = {}
    for name in names:
        choices = list(dict.fromkeys(v for t in specs if name in t.when
                                     for v in (t.when[name] if isinstance(t.when[name], list) else [t.when[name]])))
        values[name] = rng.choices(choices, [1 / (i + 1) ** 2 for i in range(len(choices))])[0]
    return values


def _value(f: FieldSpec, case: Case, rng: random.Random, fake: Faker, depts: list[Unit]):
    if f.type == "text":
        return fake.sentence()
    if f.type == "decimal":
        return f"{rng.randint(1, 500) / 10:.1f}"
    if f.type == "date":
        return calendar.add_working_days(calendar.today(), rng.choice([5, 10, 40])).isoformat()
    if f.type == "department":
        return rng.choice(depts).code
    if f.type == "departments":
        return [d.code for d in rng.sample(depts, min(len(depts), rng.randint(0, 2)))]
    if f.type == "choice":
        return next(iter(f.options))
    if f.type == "unit":   # the group whose resident it is, or its team
        return rng.choice([u for u in (case.group, case.group.parent) if u.kind in f.kinds]).code
    if f.type == "bool":
        return rng.random() < 0.85
    return None   # a group: left to its default
