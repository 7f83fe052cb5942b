"""Bulletin pages: this period's bulletin with charts, its downloads, published issues (第N期)."""
from __future__ import annotations

import io
import zipfile
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.config import PACKAGE
from casetrack.extensions import db
from casetrack.models import Bulletin, Unit
from casetrack.services import bulletin as bl
from casetrack.services import bulletin_export as bx
from casetrack.services.errors import NotFound

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@login_required
def _require_login():
    return None


def charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Bar and line charts of the figures, as data for static/reports.js (no inline script)."""
    tabs = {t.key: t for t in bx.tables(figures)}
    out = [{"type": "bar", "title": tabs[k].title, "labels": [r[0] for r in tabs[k].rows],
            "values": [r[1] for r in tabs[k].rows]} for k in ("visits", "categories", "levels")]
    rows = [r for r in figures["units"] if r["level"] == "group"]
    if rows:
        out.append({"type": "bar", "title": _("Coverage rate by work group"), "percent": True,
                    "labels": [r["name"] for r in rows], "values": [r["coverage"] or 0 for r in rows]})
    series = figures["coverage"].get("series") or []
    if series:
        out.append({"type": "line", "title": _("Coverage over time"), "percent": True,
                    "labels": [d for d, _r in series], "values": [r for _d, r in series]})
    return out


def page(figures: dict[str, Any], unit: Unit, standalone: bool = False, issue=None) -> str:
    """The bulletin as HTML: the page, or a file that opens on its own (scripts and styles inside)."""
    assets = {}
    if standalone:
        static = PACKAGE / "static"
        assets = {name: (static / name).read_text(encoding="utf-8")
                  for name in ("app.css", "reports.css", "vendor/echarts.min.js", "reports.js")}
    return render_template("reports/bulletin.html", figures=figures, tables=bx.tables(figures),
                           charts=charts(figures), title=bx.title_of(figures),
                           standalone=standalone, assets=assets, issue=issue,
                           may_publish=not (standalone or issue) and bl.may_publish(current_user, unit),
                           issues=[] if standalone else bl.issues_of(current_user, unit),
                           args={"unit": figures["unit"]["code"], "from": figures["from"], "to": figures["to"]})


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
        return page(figures, unit, standalone=True).encode()
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
    unit, start, end = bl.parse_period(request.form, current_user)
    issue = bl.publish(current_user, unit, start, end)
    db.session.commit()
    flash(_("Issue %(n)d published; its figures will not change.", n=issue.number), "success")
    return redirect(url_for(".issue", issue_id=issue.id))


def _issue(issue_id: int) -> Bulletin:
    issue = db.session.get(Bulletin, issue_id)
    if issue is None:
        raise NotFound(_("No such issue."))
    return bl.get_issue(current_user, issue.unit, issue.number)


@bp.get("/issues/<int:issue_id>")
def issue(issue_id: int):
    item = _issue(issue_id)
    return page(item.figures, item.unit, issue=item)


@bp.get("/issues/<int:issue_id>.<fmt>")
def issue_file(issue_id: int, fmt: str):
    item = _issue(issue_id)
    return download(item.figures, item.unit, fmt)
