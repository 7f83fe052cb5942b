"""Bulletin pages: this period's bulletin with charts, its downloads, drafts the office writes,
published issues (2026年第N期) and the circulation set per type."""
from __future__ import annotations

import io
import zipfile
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.config import PACKAGE
from casetrack.extensions import db
from casetrack.models import BULLETIN_TYPES, Case, Unit
from casetrack.services.reports import bulletin as bl
from casetrack.services.reports import bulletin_export as bx
from casetrack.services.reports import bulletin_issues as bi
from casetrack.services.casework.cases import scoped_cases
from casetrack.services.common.errors import ValidationFailed
from casetrack.web.forms import list_page_size

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@login_required
def _require_login():
    return None


def charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts as data for static/reports.js (no inline script); a team's bar opens its bulletin."""
    out = bx.charts(figures)
    for spec in out:
        if spec.get("drill"):
            spec["links"] = [url_for("reports.bulletin", unit=code, **{"from": figures["from"], "to": figures["to"]})
                             for code in spec.pop("drill")]
        spec.pop("drill", None)
    return out


def page(figures: dict[str, Any], unit: Unit, standalone: bool = False, issue=None, errors=None,
         submitted=None, status: int = 200):
    """The bulletin as HTML: the page, or a file that opens on its own (scripts and styles inside)."""
    assets = {}
    if standalone:
        static = PACKAGE / "static"
        assets = {name: (static / name).read_text(encoding="utf-8")
                  for name in ("app.css", "reports.css", "vendor/echarts.min.js", "reports.js")}
    draft = issue is not None and issue.published_at is None
    return render_template("reports/bulletin.html", figures=figures, tables=bx.tables(figures),
                           charts=charts(figures), title=bx.title_of(figures),
                           masthead=bi.masthead_title(figures), number_line=bi.number_line(figures),
                           standalone=standalone, assets=assets, issue=issue, draft=draft, errors=errors or {},
                           submitted=submitted,
                           may_publish=not (standalone or issue) and bi.may_publish(current_user, unit),
                           issues=[] if standalone or issue else bi.issues_of(current_user, unit),
                           drafts=[] if standalone or issue else bi.drafts_of(current_user, unit),
                           types=BULLETIN_TYPES, type_label=bi.type_label, sections=bi.SECTION_LABELS,
                           candidates=bi.candidates(current_user, issue) if draft else [],
                           corrigible=bi.issues_of(current_user, unit) if draft else [],
                           linkable=linkable(figures), shown_rows=list_page_size(),
                           args={"unit": figures["unit"]["code"], "from": figures["from"], "to": figures["to"]}), status


def linkable(figures: dict[str, Any]) -> set[int]:
    """The typical cases the viewer may open: each shown by its own scope, not the bulletin's."""
    ids = [c["id"] for c in figures.get("typical") or []]
    if not ids or not current_user.is_authenticated:
        return set()
    return set(db.session.scalars(scoped_cases(current_user).with_only_columns(Case.id).where(Case.id.in_(ids))))


def download(figures: dict[str, Any], unit: Unit | None, fmt: str):
    name = f"bulletin-{figures['unit']['code']}-{figures['from']}-{figures['to']}"
    if figures.get("number"):
        name = f"bulletin-{figures['unit']['code']}-{figures['number']}"
    if fmt == "zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for f in bx.FORMATS:
                z.writestr(f"{name}.{f}", render(figures, unit, f))
        data = out.getvalue()
    elif fmt in bx.FORMATS:
        data = render(figures, unit, fmt)
    else:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=bx.MIME[fmt], as_attachment=True,
                     download_name=f"{name}.{fmt}")


def render(figures: dict[str, Any], unit: Unit | None, fmt: str) -> bytes:
    if fmt == "html":
        return page(figures, unit, standalone=True)[0].encode()
    return {"xlsx": bx.to_xlsx, "docx": bx.to_docx, "json": bx.to_json}[fmt](figures)


@bp.get("/bulletin")
def bulletin():
    unit, start, end = bl.parse_period(request.args, current_user)
    return page(bl.bulletin(unit, start, end), unit)


@bp.get("/bulletin.<fmt>")
def bulletin_file(fmt: str):
    unit, start, end = bl.parse_period(request.args, current_user)
    return download(bl.bulletin(unit, start, end), unit, fmt)


@bp.post("/bulletin/publish")
def publish():
    """Publish the period at once, its text the first draft (or the type's template)."""
    unit, start, end = bl.parse_period(request.form, current_user)
    issue = bi.publish_period(current_user, unit, start, end, request.form.get("type") or "briefing")
    db.session.commit()
    flash(_("Issue %(n)d published; its figures will not change.", n=issue.number), "success")
    return redirect(url_for(".issue", issue_id=issue.id))


@bp.post("/bulletin/draft")
def draft():
    unit, start, end = bl.parse_period(request.form, current_user)
    item = bi.draft_bulletin(current_user, unit, request.form.get("type") or "briefing", (start, end))
    db.session.commit()
    return redirect(url_for(".issue", issue_id=item.id))


@bp.get("/issues/<int:issue_id>")
def issue(issue_id: int):
    item = bi.get(current_user, issue_id)
    return page(bi.preview(item), item.unit, issue=item)


@bp.post("/issues/<int:issue_id>")
def edit(issue_id: int):
    """Save a draft's text, signer, typical cases and the issue it corrects (409 once published)."""
    item = bi.get(current_user, issue_id)
    form = request.form
    try:
        bi.edit(current_user, item, narrative={k: form.get(k, "") for k in bi.SECTIONS},
                signed_by=form.get("signed_by", ""), typical=[int(i) for i in form.getlist("typical") if i.isdigit()],
                corrects=int(form["corrects"]) if form.get("corrects", "").isdigit() else 0)
        bi.preview(item)   # a text that cannot be filled in is refused now, not at publication
    except ValidationFailed as exc:
        db.session.rollback()   # the stored text is the last one that could be filled in
        flash(exc.message, "error")
        return page(bi.preview(item), item.unit, issue=item, errors=exc.errors or {"narrative": exc.message},
                    submitted=form, status=422)
    db.session.commit()
    if form.get("publish"):
        bi.publish(current_user, item)
        db.session.commit()
        flash(_("Issue %(n)d published; its figures will not change.", n=item.number), "success")
    else:
        flash(_("The draft is saved."), "success")
    return redirect(url_for(".issue", issue_id=item.id))


@bp.get("/issues/<int:issue_id>.<fmt>")
def issue_file(issue_id: int, fmt: str):
    item = bi.get(current_user, issue_id)
    return download(bi.preview(item), item.unit, fmt)


@bp.route("/circulation", methods=["GET", "POST"])
def circulation():
    """主送 / 抄送 / 印发 and the text template per type, set by the office for its own bulletin."""
    unit = current_user.unit
    if unit is None or not bi.may_publish(current_user, unit):
        abort(403)
    errors, status = {}, 200
    if request.method == "POST":
        kind = request.form.get("type", "")
        try:
            bi.save_setting(current_user, unit, kind, main_to=request.form.get("main_to", ""),
                            copy_to=request.form.get("copy_to", ""), printed_by=request.form.get("printed_by", ""),
                            template={k: request.form.get(k, "") for k in bi.SECTIONS})
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".circulation"))
        except ValidationFailed as exc:
            db.session.rollback()
            errors, status = {kind: exc.errors or {"type": exc.message}}, 422
            flash(exc.message, "error")
    settings = {t: bi.setting(unit, t) for t in BULLETIN_TYPES}
    return render_template("reports/circulation.html", unit=unit, settings=settings, types=BULLETIN_TYPES,
                           type_label=bi.type_label, sections=bi.SECTION_LABELS, errors=errors,
                           first_draft=bi.first_draft()), status
