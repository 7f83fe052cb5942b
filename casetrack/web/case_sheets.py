"""Case pages for Excel: export the filtered list, bulk-file cases from a sheet."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.extensions import db
from casetrack.services import case_sheets
from casetrack.services.calendar import today
from casetrack.services.queries import CaseFilters
from casetrack.services.sheets import ImportFailed
from casetrack.web.openapi import XLSX

bp = Blueprint("case_sheets", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


def xlsx_answer(data: bytes, name: str = "cases"):
    import io
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=f"{name}-{today().isoformat()}.xlsx")


@bp.get("/cases/export.xlsx")
def export():
    return xlsx_answer(case_sheets.export_cases(current_user, CaseFilters.from_args(request.args)))


@bp.get("/cases/import/template.xlsx")
def template():
    return xlsx_answer(case_sheets.template(), "cases-template")


@bp.route("/cases/import", methods=["GET", "POST"])
def import_():
    problems, status = [], 200
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ImportFailed([{"row": None, "column": None, "message": _("Choose a file to upload.")}])
            cases = case_sheets.import_cases(current_user, upload.filename, upload.read())
        except ImportFailed as exc:
            db.session.rollback()
            problems, status = exc.errors, 422
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(_("%(n)d cases filed.", n=len(cases)), "success")
            return redirect(url_for("cases.list_"))
    return render_template("cases/import.html", problems=problems), status
