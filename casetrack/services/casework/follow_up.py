"""What follows a filing or a transition, in one place: the daily figures (a new case's rows, a
transition's difference from its event), the webhook outbox, the notice to the new holder
(`notice:`) and the transition's `after:` actions of the workflow file, dispatched here by name.
The other use cases call their follow-ups themselves (`summaries.recount`, `webhooks.queue_events`,
`notices.log_event`); no session hook does it for them. Only the hash chain, which every writer
of an event needs, is a session hook (models/cases.py).

An action that needs a use case above this one (resolve_members fires transitions on a shared
problem's members) is registered by its own module with `after_action`, so this module, which
cases.fire calls, imports nothing that imports cases."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from casetrack.models import Case, CaseEvent, Unit, User
from casetrack.services.casework.notices import notify, notify_unit_of_case
from casetrack.extensions import db
from casetrack.services.figures import summaries
from casetrack.services.figures.summaries import Recount
from casetrack.services.integration import webhooks
from casetrack.services.figures.definitions import Figures
from casetrack.workflow import TransitionSpec
from casetrack.workflow.current import default_workflow, workflow_of

AfterAction = Callable[[Case, TransitionSpec, dict[str, Any]], None]
AFTER_ACTIONS: dict[str, AfterAction] = {}


def after_action(name: str) -> Callable[[AfterAction], AfterAction]:
    """Register a function as the `after:` action `name` of the workflow files."""
    def register(action: AfterAction) -> AfterAction:
        AFTER_ACTIONS[name] = action
        return action
    return register


FilingPhoto = Callable[[Case, User, IO[bytes], str, str], Any]
_attach_photo: list[FilingPhoto] = []


def attaches_photos(attach: FilingPhoto) -> FilingPhoto:
    """Register the use case that adds a photo to a case (services/casework/attachments.py,
    which imports cases): a filing's photos are attached through it."""
    _attach_photo[:] = [attach]
    return attach


def attach_filing_photos(case: Case, actor: User, photos: list[tuple[IO[bytes], str]], stage: str) -> None:
    """The photos a workflow's filing asks for (`filing.photos`), in the filing's transaction."""
    for stream, filename in photos:
        _attach_photo[0](case, actor, stream, filename, stage)


def after_filing(case: Case, unit: Unit, filed: CaseEvent, hooks: tuple[int, ...] | None = None) -> None:
    """Everything a filing sets off: the new case's daily figures (the default workflow's
    cases are the bulletin's), one delivery per active webhook (`hooks`, when known) for its
    event `filed`, the notice to `unit`, the one holding it (written by Core: the notice is too)."""
    if case.workflow == default_workflow().name:
        summaries.count_filed(case, filed)
    webhooks.queue_deliveries(db.session(), [filed], hooks)
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
    figures: Figures | Recount | None   # its difference to the daily figures; None: the caller's recount
    webhooks: tuple[int, ...]    # the active webhooks


def after_transition(fired: Fired) -> None:
    """Everything a transition sets off, in this order: its daily figures, one delivery per
    active webhook, the notice to the unit that holds the case now (if it changed), then the
    workflow file's `after:` actions."""
    case, spec, values = fired.case, fired.spec, fired.values
    summaries.count_transition(fired.figures)
    webhooks.queue_deliveries(db.session(), [fired.event], fired.webhooks)
    if case.unit_id != fired.from_unit.id:
        notify_unit_of_case(spec.notice, case, case.unit, values.get("reason") or case.title)
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
