"""What follows a filing or a transition, as the workflow file lists it: the notice to the new
holder (`notice:`) and the transition's `after:` actions, dispatched here by name."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from casetrack.models import Case, Unit
from casetrack.services.notices import notify, notify_unit_of_case
from casetrack.workflow import TransitionSpec


def after_filing(case: Case, unit: Unit) -> None:
    """`unit`: the one holding the new case (written by Core: the notice is too)."""
    notify_unit_of_case("new_case", case, unit)


def after_transition(case: Case, spec: TransitionSpec, from_unit: Unit,
                     values: dict[str, Any]) -> None:
    if case.unit_id != from_unit.id:
        notify(spec.notice, case, values.get("reason") or case.title, unit=case.unit)
    for action in spec.after:
        AFTER_ACTIONS[action](case, spec, values)


def tell_filing_group(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    """The group that filed the case hears what came of it (in the office's language: the
    transition's and the new state's Chinese labels), to tell the household."""
    from casetrack.services.cases import workflow_of
    state = workflow_of(case).states[case.state]
    notify("callback", case, f"{spec.label.get('zh', spec.trigger)}：{state.label.get('zh', case.state)}",
           unit=case.group)


def resolve_members(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    from casetrack.services.shared import resolve_members as resolve
    resolve(case, spec, values)


AFTER_ACTIONS: dict[str, Callable[[Case, TransitionSpec, dict[str, Any]], None]] = {
    "resolve_members": resolve_members, "tell_filing_group": tell_filing_group}
