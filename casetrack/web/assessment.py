"""The assessment page (考核: scores, ranks, 红黄绿灯), its 督查通报 draft, and the leader's dashboard."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.services.reports import assessment as asm
from casetrack.services.reports import bulletin as bl
from casetrack.services.reports import dashboard as dash
from casetrack.services.casework.cases import whole_number
from casetrack.services.common.errors import ValidationFailed
from casetrack.web.forms import list_page_size

bp = Blueprint("assessment", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


def page_args() -> tuple[str, int]:
    """The kind shown and the rank the page starts after (keyset over the ranking)."""
    kind = request.args.get("kind") or "team"
    after = request.args.get("after") or "0"
    errors = {}
    if kind not in asm.KINDS:
        errors["kind"] = _("Team, group or department, please.")
    if not whole_number(after):
        errors["after"] = _("A whole number, please.")
    if errors:
        raise ValidationFailed(errors, _("Please correct the filters."))
    return kind, int(after)


@bp.context_processor
def _labels():
    return {"labels": asm.LABELS, "status_labels": asm.STATUS_LABELS, "kind_labels": asm.KIND_LABELS}


@bp.get("/assessment")
def index():
    """A month's scores and ranks of one kind of unit, a page at a time, with the figures behind them."""
    unit = asm.unit_of(current_user, request.args.get("unit"))
    kind, after = page_args()
    result = asm.assess(unit, *asm.parse_month(request.args.get("month")))
    rows = [r for r in result.of_kind(kind) if r.rank > after]
    size = list_page_size()
    counts = {k: len(result.of_kind(k)) for k in asm.KINDS}
    return render_template("assessment/index.html", result=result, rows=rows[:size], kind=kind,
                           counts=counts, more=rows[size - 1].rank if len(rows) > size else None,
                           rules=asm.rules())


@bp.get("/assessment/circular")
def circular():
    """The 督查通报 draft of the month naming the red units, for the office to edit."""
    unit = asm.unit_of(current_user, request.args.get("unit"))
    result = asm.assess(unit, *asm.parse_month(request.args.get("month")))
    text, laggards = asm.circular(result, current_user.unit)
    return render_template("assessment/circular.html", result=result, text=text, laggards=laggards)


@bp.get("/dashboard")
def dashboard():
    """The campaign at a glance for the county office and team leaders, with drill-down."""
    dash.check_role(current_user)
    unit, start, end = bl.parse_period(request.args, current_user)
    if not request.args.get("from"):
        start = end.replace(day=1)
    return render_template("assessment/dashboard.html", d=dash.dashboard(unit, start, end))
