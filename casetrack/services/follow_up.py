"""What follows a filing or a transition: notices to the people concerned, shared problems."""
from __future__ import annotations

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
        kind = {"escalate": "escalation", "refer": "referral"}.get(spec.trigger, "new_case")
        notify(kind, case, values.get("reason") or case.title, unit=case.unit)
    if spec.trigger == "verify":
        outcome = "satisfied" if values.get("satisfied") else "not satisfied"
        notify("callback", case, f"call-back: {outcome}", unit=case.group)
    if spec.trigger == "resolve":
        from casetrack.services.shared import resolve_members
        resolve_members(case, values["resolution"])
