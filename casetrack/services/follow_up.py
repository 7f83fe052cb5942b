"""What follows a filing or a transition, in one place: for a transition, the daily figures
(the difference its event makes), the webhook outbox, the notice to the new holder (`notice:`)
and the transition's `after:` actions of the workflow file, dispatched here by name. The hash
chain, which every writer of an event needs, is a session hook (models/cases.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Unit
from casetrack.services import summaries, webhooks
from casetrack.services.figures import Figures
from casetrack.services.notices import notify, notify_unit_of_case
from casetrack.workflow import TransitionSpec


def after_filing(case: Case, unit: Unit) -> None:
    """`unit`: the one holding the new case (written by Core: the notice is too)."""
    # The cadre who filed it knows: the unit's other users hear (a member's filing tells the leader).
    notify_unit_of_case("new_case", case, unit, except_user_id=case.created_by_id)


@dataclass(frozen=True)
class Fired:
    """A transition done and flushed: what follows it needs no more than this."""
    case: Case
    spec: TransitionSpec
    event: CaseEvent
    from_unit: Unit
    values: dict[str, Any]
    figures: Figures | None      # its difference to the daily figures; None: the session hooks count it
    webhooks: tuple[int, ...]    # the active webhooks


def after_transition(fired: Fired) -> None:
    """Everything a transition sets off, in this order: its daily figures, one delivery per
    active webhook, the notice to the unit that holds the case now (if it changed), then the
    workflow file's `after:` actions."""
    case, spec, values = fired.case, fired.spec, fired.values
    if fired.figures:
        summaries.add_figures(fired.figures)
    webhooks.queue_deliveries(db.session(), [fired.event], fired.webhooks)
    if case.unit_id != fired.from_unit.id:
        notify_unit_of_case(spec.notice, case, case.unit, values.get("reason") or case.title)
    for action in spec.after:
        AFTER_ACTIONS[action](case, spec, values)


def tell_filing_group(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    """The group that filed the case hears what came of it, to tell the household: the
    transition's and the new state's Chinese labels (the office's language), then the answer
    given, the transition's text fields (the resolution, the explanation, the reason)."""
    from casetrack.services.cases import workflow_of
    wf = workflow_of(case)
    state = wf.states[case.state]
    message = f"{spec.label.get('zh', spec.trigger)}：{state.label.get('zh', case.state)}"
    answer = "；".join(values[f] for f in spec.fields if wf.fields[f].type == "text" and values.get(f))
    notify("answer", case, f"{message}。{answer}" if answer else message, unit=case.group)


def resolve_members(case: Case, spec: TransitionSpec, values: dict[str, Any]) -> None:
    from casetrack.services.shared import resolve_members as resolve
    resolve(case, spec, values)


AFTER_ACTIONS: dict[str, Callable[[Case, TransitionSpec, dict[str, Any]], None]] = {
    "resolve_members": resolve_members, "tell_filing_group": tell_filing_group}
