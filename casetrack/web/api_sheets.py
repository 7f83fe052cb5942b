"""Cases as Excel over the API: export a filtered list, bulk-file a sheet."""
from __future__ import annotations

from flask import g, jsonify, request
from flask_babel import gettext as _

from casetrack.extensions import db
from casetrack.services.casework import case_sheets
from casetrack.services.common.errors import ValidationFailed
from casetrack.services.casework.queries import CaseFilters
from casetrack.web.api import bp
from casetrack.web.case_sheets import export_name, xlsx_answer
from casetrack.web.openapi import DATE, UPLOAD, XLSX_BODY, doc, json_body, query, responses

FILTERS = ["state", "category", "kind", "unit", "overdue", "q"]


@bp.get("/cases.xlsx")
@doc(summary="The cases of my filtered list as an Excel file (the county's layout)", tags=["excel"],
     parameters=query(*FILTERS, date_from=DATE, date_to=DATE), responses=responses(("200", XLSX_BODY), 422))
def export_cases():
    return xlsx_answer(case_sheets.export_cases(g.api_user, CaseFilters.from_args(request.args)),
                       export_name(g.api_user))


@bp.post("/cases/import")
@doc(summary="File every row of an .xlsx (or .csv) as a case, all or nothing", tags=["excel"],
     description="Columns: " + ", ".join(h for h, _en in case_sheets.IMPORT_COLUMNS.values()),
     requestBody=UPLOAD,
     responses=responses(("201", json_body({"type": "object", "required": ["filed", "ids"], "properties": {
         "filed": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}}}},
         "Every row filed")), 400, 403, 413, 422))
def import_cases():
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed({"file": _("Choose a file to upload.")})
    cases = case_sheets.import_cases(g.api_user, upload.filename or "", upload.read())
    db.session.commit()
    return jsonify(filed=len(cases), ids=[c.id for c in cases]), 201
