"""The bulletin as tables, and those tables as .xlsx (one sheet each) and .docx (the usual layout).

The page, the workbook and the document all show `tables(figures)`, so they hold the same numbers.
"""
from __future__ import annotations

import io
import json
from datetime import date, timedelta
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.i18n import localized
from casetrack.models import BULLETIN_TYPES, Category
from casetrack.services.reports import bulletin_docx
from casetrack.services.reports.bulletin import LEADER_ROLES, LEVELS, RATES
from casetrack.services.reports.bulletin_issues import masthead_title, number_line, type_label
from casetrack.services.casework.cases import default_workflow
from casetrack.services.integration.sheets import set_text
from casetrack.services.fieldwork.targets import KIND_LABELS

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
            "rework": _("Rework rate"), "feedback": _("Feedback rate")}


def level_names() -> dict[str, str]:
    return {"group": _("Work groups"), "team": _("Work teams"), "county": _("County office"),
            "department": _("County departments")}


def title_of(figures: dict[str, Any]) -> str:
    """大走访活动简报, and its number once published."""
    head = masthead_title(figures)
    return f"{head} {number_line(figures)}" if figures.get("number") else head


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
    summary.add([_("Problems resolved"), p["resolved"], delta("problems.resolved")],
                {"cases": {**counted, "counted": "resolved"}})
    summary.add([_("Problems solved"), p["solved"], delta("problems.solved")],
                {"cases": {**counted, "counted": "solved"}})
    summary.add([_("Problems explained (cannot solve now)"), p["explained"], delta("problems.explained")],
                {"cases": {**counted, "counted": "explained"}})
    for flag, label in default_workflow().flag_labels().items():
        summary.add([localized(label), p["flagged"].get(flag, 0), ""])
    summary.add([_("Open cases already overdue"), p["open_overdue"], ""],
                {"cases": {"unit": unit, "overdue": "true"}})
    summary.add([_("Public funds invested (10k yuan)"), figures["funds"], delta("funds")])
    summary.add([_("Social donations (10k yuan)"), figures["donations"], delta("donations")])
    summary.add([_("Coverage rate"), pct(figures["coverage"]["rate"]), delta("coverage.rate")],
                {"targets": {"unit": unit, "visited": "true", "as_of": figures["to"]}})
    petition_rows(summary, figures)

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

    levels = Table("levels", _("Problems solved by level"), [_("Level"), _("Problems solved"),
                                                            _("Problems resolved")])
    for level in LEVELS:
        levels.add([level_names()[level], p["by_level_solved"][level], p["by_level_resolved"][level]],
                   {"cases": {**counted, "counted": "solved", "level": level}})

    rates = Table("rates", _("Rates"), [_("Rate"), _("Value"), _("Numerator"), _("Denominator"),
                                        _("Definition")])
    for r in RATES:
        num, den = figures["rate_parts"][r]
        rates.add([rate_names()[r], pct(figures["rates"][r]), num, den, figures["definitions"][r]])

    ranking = Table("ranking", _("Rankings"), [
        _("Rank"), _("Level"), _("Unit"), _("Coverage rate"), *rate_names().values(),
        _("Problems found"), _("Problems solved"), _("Open cases already overdue"), _("Named (laggard)")])
    ranks = {**level_names(), "county": _("Counties")}   # a city's bulletin ranks its counties
    for row in figures["units"]:
        ranking.add([row["rank"], ranks[row["level"]], row["name"], pct(row["coverage"]),
                     *[pct(row[r]) for r in RATES], row["found"], row["solved"], row["open_overdue"],
                     yes if row["laggard"] else ""], {"cases": {"unit": row["code"], "overdue": "true"}})
    ranking.link_col = 6 + len(RATES)   # the open overdue cases, listed

    step, series = trend(figures)
    trend_table = Table("trend", _("Coverage by week") if step == "week" else _("Coverage over time"),
                        [_("Week beginning") if step == "week" else _("Date"), _("Coverage rate")])
    for day, rate in series:
        trend_table.add([day, pct(rate)])

    overdue = Table("overdue", _("Overdue cases by unit"), [_("Unit holding it"), _("Case"), _("Title"),
                                                             _("Deadline")])
    for c in figures["overdue"]:
        overdue.add([c["unit_name"], c["id"], c["title"], c["deadline"]], {"case": c["id"]})
    # an issue published before the ledger's figures existed has none
    ledger = [ledger_table(figures)] if "reached" in figures else []
    return [summary, visits, categories, levels, rates, ranking, trend_table, overdue, *ledger]


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
    for kind, label in ((k, KIND_LABELS[k]) for k in now_["reached"]["by_kind"]):
        if now_["reached"]["by_kind"][kind] or since["reached"]["by_kind"][kind]:
            row(_("Targets reached: %(kind)s", kind=localized(label)), lambda f, kind=kind: f["reached"]["by_kind"][kind])
    row(_("Opinions and suggestions collected"), lambda f: f["suggestions"])
    row(_("Suggestions answered"), lambda f: f["suggestions_answered"])
    row(_("Problems found"), lambda f: f["problems"]["found"])
    row(_("Problems solved"), lambda f: f["problems"]["solved"])
    row(_("Problems explained (cannot solve now)"), lambda f: f["problems"]["explained"])
    row(_("Public funds invested (10k yuan)"), lambda f: f["funds"])
    row(_("Social donations (10k yuan)"), lambda f: f["donations"])
    for kind in BULLETIN_TYPES:   # an issue kept before the types existed counts briefings only
        if now_["bulletins"]["issued"].get(kind) or since["bulletins"]["issued"].get(kind):
            row(_("Bulletins issued: %(type)s", type=type_label(kind)),
                lambda f, kind=kind: f["bulletins"]["issued"].get(kind, 0))
    table.link_col = -1
    return table


MAX_BARS = 15   # categories on one axis a person can still read


def top_and_bottom(rows: list[tuple[str, Any]], n: int = MAX_BARS, rest: str | None = None,
                   keep_bottom: bool = False) -> list[tuple[str, Any]]:
    """At most `n` bars: the largest and the others summed into one bar `rest` (counts), or the
    best and the worst with `keep_bottom` (rates: a sum of rates means nothing), in that order."""
    if len(rows) <= n:
        return rows
    ranked = sorted(rows, key=lambda r: -(r[1] or 0))
    if keep_bottom:
        half = n // 2
        return ranked[:half] + ranked[-half:]
    return ranked[:n - 1] + [(rest or "", sum(v or 0 for _l, v in ranked[n - 1:]))]


def trend(figures: dict[str, Any]) -> tuple[str, list[tuple[str, float]]]:
    """The coverage series by day, or by week (its last day's rate) when it spans over 31 days."""
    series = figures["coverage"].get("series") or []
    if not series or (date.fromisoformat(series[-1][0]) - date.fromisoformat(series[0][0])).days <= 31:
        return "day", [(d, r) for d, r in series]
    weeks: dict[str, tuple[str, float]] = {}
    for day, rate in series:
        d = date.fromisoformat(day)
        monday = (d - timedelta(days=d.weekday())).isoformat()
        weeks[monday] = (monday, rate)
    return "week", list(weeks.values())


def charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """The bulletin's charts, each drawn from one of its tables: at most MAX_BARS bars per axis;
    the unit chart shows the teams of a county (each bar drills down to the team's bulletin) or
    the groups of a team, the best and the worst when there are more."""
    tabs = {t.key: t for t in tables(figures)}
    out = []
    for key in ("visits", "categories", "levels"):
        rows = [(str(r[0]), r[1]) for r in tabs[key].rows]
        if key == "categories":
            rows = top_and_bottom(rows, rest=_("Others"))
        out.append({"key": key, "type": "bar", "title": tabs[key].title, "labels": [r[0] for r in rows],
                    "values": [r[1] for r in rows]})
    level = "team" if any(r["level"] == "team" for r in figures["units"]) else "group"
    rows = {r["name"]: r for r in figures["units"] if r["level"] == level}
    if rows:
        kept = top_and_bottom([(name, r["coverage"] or 0) for name, r in rows.items()], keep_bottom=True)
        title = _("Coverage rate by work team") if level == "team" else _("Coverage rate by work group")
        if len(kept) < len(rows):
            title = _("%(title)s: the best and the worst %(n)d of %(total)d", title=title, n=len(kept) // 2,
                      total=len(rows))
        out.append({"key": "units", "type": "bar", "title": title, "percent": True,
                    "labels": [n for n, _v in kept], "values": [v for _n, v in kept],
                    "drill": [rows[n]["code"] for n, _v in kept] if level == "team" else None})
    step, series = trend(figures)
    if series:
        out.append({"key": "trend", "type": "line", "percent": True, "title": tabs["trend"].title,
                    "labels": [d for d, _r in series], "values": [r for _d, r in series]})
    return out


def petition_rows(summary: Table, figures: dict[str, Any]) -> None:
    """The petition figures in the summary (an issue published before they were kept has none)."""
    p = figures.get("petitions")
    if not p:
        return
    for key, label in (("batches", _("Petitioners received (batches)")),
                       ("persons", _("Petitioners received (persons)")),
                       ("collective", _("Collective visits received (batches)")),
                       ("cadres_taking_cases_down", _("Cadres taking cases down to the grass roots (person-times)")),
                       ("backlog_total", _("Long-standing petition cases registered")),
                       ("backlog_resolved", _("Long-standing petition cases resolved"))):
        summary.add([label, p[key], ""])


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
    _chart_sheet(book, figures)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _chart_sheet(book, figures: dict[str, Any]) -> None:
    """The page's charts as native Excel charts, each beside the numbers it draws."""
    from openpyxl.chart import BarChart, LineChart, Reference

    sheet = book.create_sheet(_("Charts")[:31])
    row = 1
    for spec in charts(figures):
        if not spec["labels"]:
            continue
        set_text(sheet.cell(row=row, column=1), spec["title"])
        for i, (label, value) in enumerate(zip(spec["labels"], spec["values"]), row + 1):
            set_text(sheet.cell(row=i, column=1), label)
            cell = sheet.cell(row=i, column=2, value=value)
            if spec.get("percent"):
                cell.number_format = "0.0%"
        last = row + len(spec["labels"])
        chart = LineChart() if spec["type"] == "line" else BarChart()
        chart.title, chart.legend = spec["title"], None
        chart.add_data(Reference(sheet, min_col=2, min_row=row + 1, max_row=last))
        chart.set_categories(Reference(sheet, min_col=1, min_row=row + 1, max_row=last))
        chart.width, chart.height = 18, 8
        sheet.add_chart(chart, f"D{row}")
        row = max(last, row + 16) + 2
    sheet.column_dimensions["A"].width = 24


def to_docx(figures: dict[str, Any]) -> bytes:
    """The official document (services/reports/bulletin_docx.py) with this bulletin's tables and charts."""
    return bulletin_docx.to_docx(figures, tables(figures), charts(figures))
