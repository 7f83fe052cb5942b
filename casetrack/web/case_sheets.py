"""Case pages for Excel: export the filtered list, bulk-file cases from a sheet."""
from __future__ import annotations

from flask import Blueprint, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from casetrack.services.casework import case_sheets
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.queries import CaseFilters
from casetrack.web.forms import import_page
from casetrack.web.openapi import XLSX

bp = Blueprint("case_sheets", __name__)


@bp.before_request
@login_required
def _require_login():
    return None


def xlsx_answer(data: bytes, name: str):
    """An .xlsx download named in Chinese (Flask sends it as filename*=UTF-8 with an ASCII fallback)."""
    import io
    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=f"{name}.xlsx")


@bp.get("/cases/export.xlsx")
def export():
    """The filtered list as a sheet, named after the unit and the day: 问题清单-东山镇工作队-2026-07-31."""
    filters = CaseFilters.from_args(request.args)
    return xlsx_answer(case_sheets.export_cases(current_user, filters), export_name(current_user))


def export_name(user) -> str:
    return f"问题清单-{user.unit.name if user.unit else '全部'}-{today().isoformat()}"


@bp.get("/cases/import/template.xlsx")
def template():
    return xlsx_answer(case_sheets.template(), "问题导入模板")


@bp.route("/cases/import", methods=["GET", "POST"])
def import_():
    return import_page(lambda user, name, data: len(case_sheets.import_cases(user, name, data)),
                       lambda n: _("%(n)d cases filed.", n=n), url_for("cases.list_"),
                       url_for("case_sheets.template"), _("File cases from Excel"),
                       _("One problem per row, in the county layout; every row is checked and the "
                         "file is filed all or nothing."))
