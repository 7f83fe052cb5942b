"""What follows a filing or a transition, as the workflow file lists it: the notice to the new
holder (`notice:`) and the transition's `after:` actions, dispatched here by name.

An action that needs a use case above this one (resolve_members fires transitions on a shared
problem's members) is registered by its own module with `after_action`, so this module, which
cases.fire calls, imports nothing that imports cases."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from casetrack.models import Case, Unit
from casetrack.services.casework.notices import notify, notify_unit_of_case
from casetrack.workflow import TransitionSpec
from casetrack.workflow.current import workflow_of

AfterAction = Callable[[Case, TransitionSpec, dict[str, Any]], None]
AFTER_ACTIONS: dict[str, AfterAction] = {}


def after_action(name: str) -> Callable[[AfterAction], AfterAction]:
    """Register a function as the `after:` action `name` of the workflow files."""
    def register(action: AfterAction) -> AfterAction:
        AFTER_ACTIONS[name] = action
        return action
    return register


def after_filing(case: Case, unit: Unit) -> None:
    """`unit`: the one holding the new case (written by Core: the notice is too)."""
    notify_unit_of_case("new_case", case, unit)


def after_transition(case: Case, spec: TransitionSpec, from_unit: Unit,
                     values: dict[str, Any]) -> None:
    if case.unit_id != from_unit.id:
        notify(spec.notice, case, values.get("reason") or case.title, unit=case.unit)
    for action in spec.after:
        AFTER_ACTIONS[action](case, spec, values)


@after_action("tell_filing_group")
def tell_filing_group(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    """The group that filed the case hears what came of it, to tell the household: the
    transition's and the new state's Chinese labels (the office's language), then the answer
    given, the transition's text fields (the resolution, the explanation, the reason)."""
    wf = workflow_of(case)
    state = wf.states[case.state]
    message = f"{spec.label.get('zh', spec.trigger)}：{state.label.get('zh', case.state)}"
    answer = "；".join(values[f] for f in spec.fields if wf.fields[f].type == "text" and values.get(f))
    notify("answer", case, f"{message}。{answer}" if answer else message, unit=case.group)
