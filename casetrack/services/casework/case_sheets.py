"""Cases to and from Excel in the county's layout: export a filtered list, bulk-file a sheet.

The export is the scoped, filtered case list (resident data only ever for cases in the
user's scope); the import files every row through file_case, all or nothing.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.long_work import report
from casetrack.models import Case, Category, User
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.cases import default_workflow, file_case, workflow_of
from casetrack.services.common.errors import Forbidden, ValidationFailed
from casetrack.services.organisation.org import active_categories
from casetrack.services.casework.queries import CaseFilters, filtered_cases
from casetrack.services.figures import summaries
from casetrack.services.integration.sheets import ImportFailed, cell_text, read_table, workbook

MAX_EXPORT = 50_000
MAX_IMPORT = 1_000
MAX_IMPORT_UNPACKED = 32 * 1024 * 1024  # 1,000 rows of 4,000-character descriptions: 13 MB

# field -> (Chinese header, English header); the fields a sheet files a case with.
IMPORT_COLUMNS = {
    "title": ("问题标题", "Title"),
    "category": ("问题类别", "Category"),
    "kind": ("问题类型(个性/共性)", "Kind"),
    "description": ("问题描述", "Description"),
    "resident_name": ("群众姓名", "Resident's name"),
    "resident_phone": ("联系电话", "Resident's phone"),
    "resident_address": ("住址", "Resident's address"),
    # the day the problem was found (found_on); empty: today
    "found_on": ("登记时间", "Found on"),
}
# Columns only the export has; an exported sheet can be filled in and imported as it is.
EXPORT_ONLY = {"id": ("编号", "ID"), "state": ("状态", "State"), "unit": ("办理单位", "Handling unit"),
               "group": ("工作组", "Work group"), "department": ("承办部门", "Department"),
               "deadline": ("办理期限", "Deadline"), "overdue": ("是否超期", "Overdue")}
KINDS = {"个性": "individual", "共性": "shared", "individual": "individual", "shared": "shared"}
KIND_LABELS = {"individual": "个性", "shared": "共性"}
# The resident columns the service reads (resident.name -> resident_name on the sheet).
RESIDENT = {"name": "resident_name", "phone": "resident_phone", "address": "resident_address"}


def export_cases(user: User, filters: CaseFilters) -> bytes:
    """The cases of the user's filtered list as .xlsx; every cell written as a value, never a formula."""
    order = ["id", "title", "category", "kind", "state", "unit", "group", "department", "deadline",
             "overdue", "resident_name", "resident_phone", "resident_address", "description", "found_on"]
    columns = {**IMPORT_COLUMNS, **EXPORT_ONLY}
    stmt = filtered_cases(user, filters).order_by(Case.id.desc()).limit(MAX_EXPORT)
    rows = ([c.id, c.title, c.category.name_zh, KIND_LABELS[c.kind],
             localized(workflow_of(c).states[c.state].label), c.unit.name, c.group.name,
             c.department.name if c.department else "", c.deadline,
             "是" if c.deadline and c.deadline < today() else "", c.resident_name, c.resident_phone,
             c.resident_address, c.description, c.found_on]
            for c in db.session.scalars(stmt))
    return workbook("问题清单", [columns[f][0] for f in order], rows,
                    notes=[["导出时间", today().isoformat()],
                           ["说明", "本表可直接作为批量登记模板：填写问题标题、类别、类型等列后上传。"]])


def template() -> bytes:
    """An empty import sheet with its headers."""
    return workbook("问题清单", [h for h, _en in IMPORT_COLUMNS.values()], [],
                    notes=[["问题类别", "、".join(c.name_zh for c in active_categories())],
                           ["问题类型", "个性 或 共性（默认个性）"]])


def _category_code(text: str) -> str:
    """A category by its code, Chinese or English name; unknown text is left for file_case to refuse."""
    row = db.session.scalars(select(Category).where(
        Category.active.is_(True),
        or_(Category.code == text, Category.name_zh == text, Category.name_en == text))).first()
    return row.code if row else text


def _day_of(value: Any) -> Any:
    """A 登记时间 cell as a day: a date or date-time cell, or its text (a date-time's day)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    return text[:10] if len(text) > 10 and text[10] in " T" else text


def import_cases(actor: User, filename: str, data: bytes) -> list[Case]:
    """File one case per row, all or nothing: any bad row refuses the file, naming row, column and why."""
    if actor.role not in default_workflow().filing_roles or actor.unit is None or actor.unit.kind != "group":
        raise Forbidden(_("Only a work group's cadres file problems."))
    rows = read_table(filename, data, IMPORT_COLUMNS, ("title", "category"), MAX_IMPORT,
                      ignored=tuple(h for pair in EXPORT_ONLY.values() for h in pair),
                      max_unpacked=MAX_IMPORT_UNPACKED)
    if not rows:
        raise ImportFailed([{"row": None, "column": None, "message": _("The file has no rows.")}])
    errors: list[dict[str, Any]] = []
    cases: list[Case] = []
    with summaries.added_together():   # every filing's figures by one write
        for filed, (number, row) in enumerate(rows, 1):
            report("filing", filed, len(rows))
            values = {field: cell_text(row.get(field)) for field in IMPORT_COLUMNS if field != "found_on"}
            kind = KINDS.get(values["kind"].lower() or "individual", values["kind"])
            try:
                cases.append(file_case(actor, title=values["title"], description=values["description"],
                                       category=_category_code(values["category"]), kind=kind,
                                       resident={k: values[col] for k, col in RESIDENT.items()},
                                       found_on=_day_of(row.get("found_on"))))
            except ValidationFailed as exc:
                for field, message in exc.errors.items():
                    column = RESIDENT.get(field.removeprefix("resident."), field)
                    errors.append({"row": number, "column": IMPORT_COLUMNS.get(column, (field,))[0],
                                   "message": message})
    if errors:  # the caller rolls the filed rows back
        raise ImportFailed(errors)
    return cases
