"""What pages show in the reader's language instead of a code: states, transitions, timeline
events, categories; and phones masked in lists."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casetrack.i18n import localized
from casetrack.services.casework.attachments import PHOTO_REMOVED
from casetrack.services.casework.notices import REPORT_LATE
from casetrack.services.deadlines.sweep import REVISIT_EVENT
from casetrack.workflow.current import default_workflow, workflow_of

# Events every workflow has, that move no case (services/casework/progress.py).
# Events that do not move a case, named in the reader's language (their triggers are codes).
EVENT_LABELS = {"progress": _l("Progress report"), "feedback": _l("Told the resident"),
                REPORT_LATE: _l("Progress report due"), "supervise": _l("Supervision note"),
                "acknowledge": _l("Supervision note acknowledged"),
                "extension_request": _l("Extension asked"), "extension_approved": _l("Extension approved"),
                "extension_refused": _l("Extension refused"), "link": _l("Linked into a shared problem"),
                "unlink": _l("Taken out of the shared problem"),
                PHOTO_REMOVED: _l("Photo unreadable, removed")}


def trigger_label(wf, event) -> str:
    """What a timeline event was, in the current language (by the transition it fired)."""
    if event.trigger == "file":
        return _("Filing")
    system = {"overdue": _("Overdue"), "pre_warning": _("Deadline approaching"),
              REVISIT_EVENT: _("Revisit day reached"), **EVENT_LABELS}
    if event.trigger in system:
        return str(system[event.trigger])
    if event.trigger == "take_down":
        return _("Taken down to the grass roots (带案下访)")
    spec = next((t for t in wf.transitions
                 if t.trigger == event.trigger and event.from_state in t.sources), None)
    return localized(spec.label) if spec else event.trigger


def masked_phone(phone: str | None) -> str:
    """A phone as a list shows it: the first three and last four digits (138****0001)."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def category_label(category) -> str:
    return localized({"zh": category.name_zh, "en": category.name_en})


def state_label(case, state: str | None = None) -> str:
    """A state's label in the current language, by the case's workflow (None: the default one)."""
    states = (workflow_of(case) if case is not None else default_workflow()).states
    state = state or case.state
    return localized(states[state].label) if state in states else state
