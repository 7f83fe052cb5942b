"""The bulletin as tables, and those tables as .xlsx (one sheet each) and .docx (the usual layout).

The page, the workbook and the document all show `tables(figures)`, so they hold the same numbers.
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import Category
from casetrack.services.bulletin import LEADER_ROLES, LEVELS, RATES
from casetrack.services.sheets import set_text
from casetrack.services.text import printable
from casetrack.services.targets import KIND_LABELS

FORMATS = ("html", "xlsx", "docx", "json")
MIME = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "json": "application/json", "html": "text/html; charset=utf-8", "zip": "application/zip"}


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[dict[str, Any] | None] = field(default_factory=list)  # case/target list filters per row
    link_col: int = 1  # the cell of a row that links to the list it counts

    def add(self, row: list[Any], link: dict[str, Any] | None = None) -> None:
        self.rows.append(row)
        self.links.append(link)


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def rate_names() -> dict[str, str]:
    return {"closure": _("Closure rate"), "on_time_closure": _("On-time closure rate"),
            "satisfaction": _("Satisfaction rate"), "first_response": _("First-response rate"),
            "rework": _("Rework rate")}


def level_names() -> dict[str, str]:
    return {"group": _("Work groups"), "team": _("Work teams"), "county": _("County office"),
            "department": _("County departments")}


def title_of(figures: dict[str, Any]) -> str:
    number = figures.get("number")
    head = _("Grand-visit campaign bulletin")
    return f"{head} {_('No. %(n)d', n=number)}" if number else head


def tables(figures: dict[str, Any]) -> list[Table]:
    """The bulletin's tables: summary, visits, categories, levels, rates, rankings, overdue."""
    v, p, unit = figures["visits"], figures["problems"], figures["unit"]["code"]
    period = {"unit": unit, "date_from": figures["from"], "date_to": figures["to"]}
    visited = {"unit": unit, "visited": "true", "visited_from": figures["from"], "as_of": figures["to"]}
    change = figures.get("change") or {}
    yes = _("yes")

    def delta(key: str) -> str:
        d = change.get(key)
        return "" if d is None else f"{d:+g}"

    summary = Table("summary", _("Summary"), [_("Figure"), _("Value"), _("Change since the previous issue")])
    summary.add([_("Visits made"), v["total"], delta("visits.total")], {"targets": visited})
    summary.add([_("Cadre visits (person-times)"), v["cadre_visits"], ""], {"targets": visited})
    names = {"group_leader": _("Visits by group leaders (person-times)"),
             "team_leader": _("Visits by team leaders (person-times)"),
             "county_officer": _("Visits by county leaders (person-times)")}
    for role in LEADER_ROLES:
        summary.add([names[role], v["by_leader"][role], ""], {"targets": visited})
    summary.add([_("Opinions and suggestions collected"), figures["suggestions"], delta("suggestions")],
                {"targets": visited})
    summary.add([_("Problems found"), p["found"], delta("problems.found")], {"cases": period})
    counted = {"unit": unit, "counted_from": figures["from"], "counted_to": figures["to"]}
    summary.add([_("Problems solved"), p["solved"], delta("problems.solved")],
                {"cases": {**counted, "counted": "solved"}})
    summary.add([_("Problems explained (cannot solve now)"), p["explained"], delta("problems.explained")],
                {"cases": {**counted, "counted": "explained"}})
    summary.add([_("Open cases already overdue"), p["open_overdue"], ""],
                {"cases": {"unit": unit, "overdue": "true"}})
    summary.add([_("Public funds invested (10k yuan)"), figures["funds"], delta("funds")])
    summary.add([_("Social donations (10k yuan)"), figures["donations"], delta("donations")])
    summary.add([_("Coverage rate"), pct(figures["coverage"]["rate"]), delta("coverage.rate")],
                {"targets": {"unit": unit, "visited": "true", "as_of": figures["to"]}})

    visits = Table("visits", _("Visits by kind of target"), [_("Kind of target"), _("Visits"),
                                                              _("Targets visited")])
    for kind, n in v["by_kind"].items():
        if n or kind in ("community", "enterprise", "urban_household", "farm_household"):
            visits.add([localized(KIND_LABELS[kind]), n, v["targets_by_kind"][kind]],
                       {"targets": {**visited, "kind": kind}})
    visits.link_col = 2  # the targets visited in the period, listed
    cats = {c.code: c for c in db.session.scalars(select(Category))}
    categories = Table("categories", _("Problems found by category"), [_("Category"), _("Problems found")])
    for code, n in p["by_category"].items():
        label = localized({"zh": cats[code].name_zh, "en": cats[code].name_en}) if code in cats else code
        categories.add([label, n], {"cases": {**period, "category": code}})

    levels = Table("levels", _("Problems solved by level"), [_("Level"), _("Problems solved")])
    for level in LEVELS:
        levels.add([level_names()[level], p["by_level_solved"][level]],
                   {"cases": {**counted, "counted": "solved", "level": level}})

    rates = Table("rates", _("Rates"), [_("Rate"), _("Value"), _("Numerator"), _("Denominator"),
                                        _("Definition")])
    for r in RATES:
        num, den = figures["rate_parts"][r]
        rates.add([rate_names()[r], pct(figures["rates"][r]), num, den, figures["definitions"][r]])

    ranking = Table("ranking", _("Rankings"), [
        _("Rank"), _("Level"), _("Unit"), _("Coverage rate"), *rate_names().values(),
        _("Problems found"), _("Problems solved"), _("Open cases already overdue"), _("Named (laggard)")])
    for row in figures["units"]:
        ranking.add([row["rank"], level_names()[row["level"]], row["name"], pct(row["coverage"]),
                     *[pct(row[r]) for r in RATES], row["found"], row["solved"], row["open_overdue"],
                     yes if row["laggard"] else ""], {"cases": {"unit": row["code"], "overdue": "true"}})
    ranking.link_col = 10

    overdue = Table("overdue", _("Overdue cases by unit"), [_("Unit holding it"), _("Case"), _("Title"),
                                                             _("Deadline")])
    for c in figures["overdue"]:
        overdue.add([c["unit_name"], c["id"], c["title"], c["deadline"]], {"case": c["id"]})
    # an issue published before the ledger's figures existed has none
    ledger = [ledger_table(figures)] if "reached" in figures else []
    return [summary, visits, categories, levels, rates, ranking, overdue, *ledger]


def post_names() -> dict[str, str]:
    return {"city_principal": _("Visits by the city's principal leaders (person-times)"),
            "county_principal": _("Visits by the county's principal leaders (person-times)"),
            "secretary_city": _("Visits by city party secretaries (person-times)"),
            "secretary_county": _("Visits by county party secretaries (person-times)"),
            "secretary_township": _("Visits by township party secretaries (person-times)"),
            "secretary_village": _("Visits by village party secretaries (person-times)")}


def ledger_table(figures: dict[str, Any]) -> Table:
    """The campaign ledger: each figure for the period and since the campaign began (截至目前)."""
    now_, since = figures, figures.get("cumulative") or figures
    table = Table("ledger", _("The campaign ledger"), [_("Figure"), _("This period"), _("Since the campaign began")])

    def row(label: str, pick) -> None:
        table.add([label, pick(now_), pick(since)])

    row(_("Visits made"), lambda f: f["visits"]["total"])
    row(_("Cadre visits (person-times)"), lambda f: f["visits"]["person_times"])
    row(_("Visits by principal leaders of city and county"), lambda f: f["visits"]["principal_leaders"])
    for post, label in post_names().items():
        row(label, lambda f, post=post: f["visits"]["by_post"][post])
    row(_("Targets reached"), lambda f: f["reached"]["total"])
    for kind, label in KIND_LABELS.items():
        if now_["reached"]["by_kind"][kind] or since["reached"]["by_kind"][kind]:
            row(_("Targets reached: %(kind)s", kind=localized(label)), lambda f, kind=kind: f["reached"]["by_kind"][kind])
    row(_("Opinions and suggestions collected"), lambda f: f["suggestions"])
    row(_("Suggestions answered"), lambda f: f["suggestions_answered"])
    row(_("Problems found"), lambda f: f["problems"]["found"])
    row(_("Problems solved"), lambda f: f["problems"]["solved"])
    row(_("Problems explained (cannot solve now)"), lambda f: f["problems"]["explained"])
    row(_("Public funds invested (10k yuan)"), lambda f: f["funds"])
    row(_("Social donations (10k yuan)"), lambda f: f["donations"])
    row(_("Bulletins issued"), lambda f: f["bulletins"]["issued"]["briefing"])
    table.link_col = -1
    return table


def to_json(figures: dict[str, Any]) -> bytes:
    return json.dumps(figures, ensure_ascii=False, indent=1).encode()


def to_xlsx(figures: dict[str, Any]) -> bytes:
    """One sheet per table; text stays text (a formula-looking title is not run)."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    book.remove(book.active)
    for t in tables(figures):
        sheet = book.create_sheet(t.title[:31])
        for col, header in enumerate(t.headers, 1):
            cell = sheet.cell(row=1, column=col)
            set_text(cell, header)
            cell.font = Font(bold=True)
            sheet.column_dimensions[cell.column_letter].width = 20
        sheet.freeze_panes = "A2"
        for r, row in enumerate(t.rows, 2):
            for c, value in enumerate(row, 1):
                set_text(sheet.cell(row=r, column=c), value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_docx(figures: dict[str, Any]) -> bytes:
    """The usual layout: the title and issue number, the issuing unit and date, then each section.
    Stored text goes through `printable`: python-docx refuses what XML cannot hold."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    normal.font.size = Pt(12)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run(_("Grand-visit campaign bulletin"))
    run.bold, run.font.size, run.font.color.rgb = True, Pt(26), RGBColor(0xC0, 0, 0)
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number.add_run(_("No. %(n)d", n=figures["number"]) if figures.get("number") else _("(not published)"))
    issuer = doc.add_paragraph()
    issuer.add_run(printable(figures["unit"]["name"]))
    issuer.add_run("\t" + (figures.get("published_on") or figures["to"]))
    doc.add_paragraph(_("Period: %(start)s to %(end)s", start=figures["from"], end=figures["to"]))
    for t in tables(figures):
        doc.add_heading(printable(t.title), level=2)
        if not t.rows:
            doc.add_paragraph(_("None."))
            continue
        grid = doc.add_table(rows=1, cols=len(t.headers))
        grid.style = "Table Grid"
        for cell, header in zip(grid.rows[0].cells, t.headers):
            cell.text = printable(str(header))
            cell.paragraphs[0].runs[0].bold = True
        for row in t.rows:
            for cell, value in zip(grid.add_row().cells, row):
                cell.text = "" if value is None else printable(str(value))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
