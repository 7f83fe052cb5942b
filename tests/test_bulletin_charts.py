"""Charts people can read (issue 24): at most 15 bars an axis, teams with a drill-down to their
groups, the best and the worst when there are more, weekly trends over long periods, a table
behind every chart, and the charts in the workbook as native Excel charts."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest

from casetrack.services.reports import bulletin as bl
from casetrack.services.reports import bulletin_export as bx
from tests.test_bulletin import P, Week, at


@pytest.fixture
def figures(world):
    Week(world)
    with at(6, 15):
        return bl.bulletin(world.units["C"], *P)


def crowded(figures, teams: int = 12, groups: int = 144):
    """The demo county's shape: 12 teams of 12 groups, coverage rising with the code."""
    units = [{"code": f"T{t:02d}", "name": f"第{t}工作队", "level": "team", "coverage": t / 100}
             for t in range(1, teams + 1)]
    units += [{"code": f"G{g:03d}", "name": f"第{g}工作组", "level": "group", "coverage": g / 1000}
              for g in range(1, groups + 1)]
    return {**figures, "units": [{**u, "rank": 1, "laggard": False, "found": 0, "solved": 0, "open_overdue": 0,
                                  **{r: None for r in bl.RATES}} for u in units]}


def test_a_county_chart_has_a_bar_per_team_not_per_group(figures, app):
    with app.test_request_context():
        specs = {c["key"]: c for c in bx.charts(crowded(figures))}
    units = specs["units"]
    assert units["title"] == "各工作队覆盖率"
    assert len(units["labels"]) == 12 and units["labels"][0] == "第1工作队"     # in the rankings' order
    assert units["drill"][:2] == ["T01", "T02"]
    with app.test_request_context():
        many = {c["key"]: c for c in bx.charts(crowded(figures, teams=40))}["units"]
    assert len(many["labels"]) <= 15
    assert many["labels"][0] == "第40工作队" and many["labels"][-1] == "第1工作队"   # the best and the worst
    assert "前7名和后7名" in many["title"]


def test_a_team_chart_shows_its_groups_and_the_page_links_each_team_to_its_bulletin(week_world, client, auth):
    auth.login("county")
    with at(6, 15):
        page = client.get("/reports/bulletin?from=2026-06-01&to=2026-06-07&unit=C").get_data(as_text=True)
    import html
    import re
    specs = [json.loads(html.unescape(m)) for m in re.findall(r'data-chart="([^"]*)"', page)]
    units = next(s for s in specs if s["title"] == "各工作队覆盖率")
    assert units["labels"] == ["东山镇工作队", "西河镇工作队"]
    assert units["links"][0] == "/reports/bulletin?unit=T1&from=2026-06-01&to=2026-06-07"
    with at(6, 15):
        team = client.get(units["links"][0]).get_data(as_text=True)
    specs = [json.loads(html.unescape(m)) for m in re.findall(r'data-chart="([^"]*)"', team)]
    groups = next(s for s in specs if s["title"] == "各工作组覆盖率")
    assert len(groups["labels"]) == 2 and "links" not in groups


def test_categories_beyond_fifteen_are_summed_as_others():
    rows = [(f"类{i}", i) for i in range(1, 21)]
    kept = bx.top_and_bottom(rows, rest="其他")
    assert len(kept) == 15 and kept[0] == ("类20", 20)
    assert kept[-1] == ("其他", sum(range(1, 7)))          # 类1..类6 summed
    assert sum(v for _l, v in kept) == sum(range(1, 21))


def test_a_long_trend_is_by_week_and_has_its_table(figures, app):
    start = date(2026, 3, 2)    # a Monday; 90 days of daily points
    series = [[(start + timedelta(days=i)).isoformat(), round(i / 100, 4)] for i in range(90)]
    long = {**figures, "coverage": {**figures["coverage"], "series": series}}
    with app.test_request_context():
        trend = {c["key"]: c for c in bx.charts(long)}["trend"]
        table = {t.key: t for t in bx.tables(long)}["trend"]
    assert len(trend["labels"]) == 13 and trend["labels"][0] == "2026-03-02"
    assert trend["values"][0] == 0.06                     # the week's last day
    assert table.title == "覆盖率（按周）" and [r[0] for r in table.rows] == trend["labels"]
    with app.test_request_context():
        short = {c["key"]: c for c in bx.charts(figures)}["trend"]
    assert short["labels"] == [d for d, _r in figures["coverage"]["series"]]   # a week: by day


def test_the_workbook_holds_native_charts(figures, app):
    import openpyxl
    with app.test_request_context():
        book = openpyxl.load_workbook(io.BytesIO(bx.to_xlsx(crowded(figures))))
        expected = bx.charts(crowded(figures))
    sheet = book["图表"]
    assert len(sheet._charts) == len(expected)
    labels = [sheet.cell(row=r, column=1).value for r in range(1, sheet.max_row + 1)]
    assert "各工作队覆盖率" in labels and "第12工作队" in labels and "第100工作组" not in labels


@pytest.fixture
def week_world(world):
    return Week(world)
