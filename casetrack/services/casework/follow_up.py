"""What follows a filing or a transition, as the workflow file lists it: the notice to the new
holder (`notice:`) and the transition's `after:` actions, dispatched here by name."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from casetrack.models import Case, Unit
from casetrack.services.casework.notices import notify, notify_unit_of_case
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
    """The group that filed the case hears what came of it, to tell the household: the
    transition's and the new state's Chinese labels (the office's language), then the answer
    given, the transition's text fields (the resolution, the explanation, the reason)."""
    from casetrack.services.casework.cases import workflow_of
    wf = workflow_of(case)
    state = wf.states[case.state]
    message = f"{spec.label.get('zh', spec.trigger)}：{state.label.get('zh', case.state)}"
    answer = "；".join(values[f] for f in spec.fields if wf.fields[f].type == "text" and values.get(f))
    notify("answer", case, f"{message}。{answer}" if answer else message, unit=case.group)


def resolve_members(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    from casetrack.services.casework.shared import resolve_members as resolve
    resolve(case, spec, values)


AFTER_ACTIONS: dict[str, Callable[[Case, TransitionSpec, dict[str, Any]], None]] = {
    "resolve_members": resolve_members, "tell_filing_group": tell_filing_group}
