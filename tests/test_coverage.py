"""Coverage against hand-counted fixtures, as of different days; milestone status; the export."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import openpyxl
import pytest

from casetrack.extensions import db
from casetrack.models import Milestone, Target, Visit
from casetrack.services.workdays import calendar
from casetrack.services.fieldwork.coverage import breakdown, first_visits
from casetrack.services.figures import summaries

NOW = datetime(2026, 8, 3, 2, 0, tzinfo=timezone.utc)

# name: (group, kind, active, visit days)
FIXTURE = {
    "a": ("G1", "farm_household", True, ["06-01", "06-05"]),  # visited twice
    "b": ("G1", "farm_household", True, ["06-20"]),
    "c": ("G1", "enterprise", True, []),
    "d": ("G1", "farm_household", False, ["06-01"]),  # no longer counted
    "e": ("G2", "farm_household", True, ["06-03"]),
    "f": ("G2", "school", True, []),
    "g": ("G3", "farm_household", True, ["06-02", "06-02"]),
    "h": ("G3", "farm_household", True, []),
    "i": ("G3", "enterprise", True, []),
}
# Hand count, as of 10 June: G1 1/3 (a), G2 1/2 (e), G3 1/3 (g); T1 2/5; county 3/8.
# As of 30 June: G1 2/3 (a, b), G2 1/2, G3 1/3; county 4/8.  As of 31 May: nothing visited.


@pytest.fixture(autouse=True)
def frozen():
    with calendar.at(NOW):
        yield


@pytest.fixture
def county(world):
    for name, (group, kind, active, days) in FIXTURE.items():
        t = Target(kind=kind, name=name, group=world.units[group], active=active,
                   code="=1+1" if name == "c" else None)
        db.session.add(t)
        for day in days:
            db.session.add(Visit(target=t, group_id=t.group.id, visited_on=date.fromisoformat(f"2026-{day}")))
    for day, percent in [("2026-06-01", 0), ("2026-06-30", 50), ("2026-07-31", 100)]:
        db.session.add(Milestone(unit=world.units["C"], due_on=date.fromisoformat(day),
                                 target_percent=percent))
    summaries.rebuild()   # rows written directly, as a bulk load does: their figures counted at its end
    db.session.commit()
    return world


def figures(api, unit, as_of):
    res = api.get(f"/coverage?unit={unit}&as_of={as_of}")
    assert res.status_code == 200, res.json
    return res.json


def test_coverage_figures_by_unit_and_day(county, api):
    c = api("county")
    expected = {("C", "2026-06-10"): (8, 3), ("T1", "2026-06-10"): (5, 2),
                ("G1", "2026-06-10"): (3, 1), ("G2", "2026-06-10"): (2, 1),
                ("G3", "2026-06-10"): (3, 1), ("C", "2026-06-30"): (8, 4),
                ("G1", "2026-06-30"): (3, 2), ("C", "2026-05-31"): (8, 0),
                ("T2", "2026-06-01"): (3, 0), ("T2", "2026-06-02"): (3, 1)}
    for (unit, day), (assigned, visited) in expected.items():
        got = figures(c, unit, day)
        assert (got["assigned"], got["visited"]) == (assigned, visited), (unit, day)
        assert got["rate"] == pytest.approx(visited / assigned)


def test_coverage_by_kind(county, api):
    got = figures(api("team1"), "G1", "2026-06-10")
    assert got["by_kind"] == {
        "farm_household": {"assigned": 2, "visited": 1, "rate": 0.5},
        "enterprise": {"assigned": 1, "visited": 0, "rate": 0.0}}
    got = figures(api("county"), "C", "2026-06-30")
    assert got["by_kind"]["farm_household"] == {"assigned": 5, "visited": 4, "rate": 0.8}
    assert got["by_kind"]["school"] == {"assigned": 1, "visited": 0, "rate": 0.0}


def test_milestone_status(county, api):
    c = api("county")
    # 10 June: 0% by 1 June met; 3/8 is above the line to 50% on 30 June (9/29 of 50%)
    assert figures(c, "C", "2026-06-10")["milestones"] == [
        {"date": "2026-06-01", "target": 0.0, "status": "met"},
        {"date": "2026-06-30", "target": 0.5, "status": "on_track"},
        {"date": "2026-07-31", "target": 1.0, "status": "on_track"}]
    # G2 has reached 50% already on 10 June
    assert [m["status"] for m in figures(c, "G2", "2026-06-10")["milestones"]] == [
        "met", "met", "on_track"]
    # 1 July: county 4/8 met 50% on 30 June, but is below the line toward 100% (51.6%)
    assert [m["status"] for m in figures(c, "C", "2026-07-01")["milestones"]] == [
        "met", "met", "behind"]
    assert [m["status"] for m in figures(c, "G1", "2026-07-01")["milestones"]] == [
        "met", "met", "on_track"]   # 2/3 on 30 June and now
    assert [m["status"] for m in figures(c, "G3", "2026-07-01")["milestones"]] == [
        "met", "behind", "behind"]  # 1/3 on 30 June
    assert [m["status"] for m in figures(c, "G1", "2026-08-03")["milestones"]] == [
        "met", "met", "behind"]     # never reached 100% by 31 July


def test_breakdown_rows_per_team_and_group(county):
    rows = breakdown(county.units["C"], date(2026, 7, 1))
    table = {r["unit"].code: (r["level"], r["assigned"], r["visited"], r["status"]["status"])
             for r in rows}
    assert table == {"T1": ("team", 5, 3, "on_track"), "T2": ("team", 3, 1, "behind"),
                     "G1": ("group", 3, 2, "on_track"), "G2": ("group", 2, 1, "behind"),
                     "G3": ("group", 3, 1, "behind")}
    assert all(r["status"]["date"] == "2026-07-31" for r in rows)
    assert [r["unit"].code for r in breakdown(county.units["T2"], date(2026, 7, 1))] == ["G3"]


def test_scope_of_coverage_and_targets(county, api):
    assert api("group1").get("/coverage?unit=G2").status_code == 404
    assert api("team1").get("/coverage?unit=C").status_code == 404
    assert api("team1").get("/coverage?unit=G3").status_code == 404
    assert api("dept1").get("/coverage").status_code == 404
    assert api("county").get("/coverage?unit=G1&as_of=June").status_code == 422
    assert figures(api("group1"), "G1", "2026-06-10")["assigned"] == 3
    assert api("group1").get("/coverage?as_of=2026-06-10").json["unit"] == "G1"
    names = sorted(t["name"] for t in api("group1").get("/targets?visited=false").json["targets"])
    assert names == ["c"]  # the others belong to other groups
    res = api("group1").get("/targets?visited=false&as_of=2026-06-10")
    assert sorted(t["name"] for t in res.json["targets"]) == ["b", "c"]  # b: visited 20 June
    assert sorted(t["name"] for t in api("team2").get("/targets").json["targets"]) == ["g", "h", "i"]


def test_first_visits_count_each_target_once(county):
    assert first_visits(county.units["C"]) == [
        (date(2026, 6, 1), 1), (date(2026, 6, 2), 1), (date(2026, 6, 3), 1), (date(2026, 6, 20), 1)]


def test_unvisited_export_is_text(county, auth, client):
    auth.login("group1")
    res = client.get("/coverage/unvisited.xlsx?unit=G1&as_of=2026-06-10")
    assert res.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(res.data)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:7] == ["类型", "名称", "地址", "村/社区", "责任工作组(code)", "责任干部(username)",
                           "编号"]
    assert sorted(r[1] for r in rows[1:]) == ["b", "c"]
    code_cell = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "c")[6]
    assert code_cell.value == "=1+1" and code_cell.data_type == "s"
    assert client.get("/coverage/unvisited.xlsx?unit=G2").status_code == 404


def test_coverage_page_for_the_county(county, auth, client):
    auth.login("county")
    res = client.get("/coverage?as_of=2026-07-01")
    assert res.status_code == 200
    page = res.get_data(as_text=True)
    assert "50.0%" in page  # 4 of 8
    assert 'data-unit="T1"' in page and 'data-unit="G3"' in page
    assert "<svg" in page and 'class="plan"' in page
    assert "/coverage/unvisited?unit=G3" in page
    res = client.get("/coverage/unvisited?unit=G3&as_of=2026-07-01")
    assert res.status_code == 200
    assert ">h</a>" in res.get_data(as_text=True) and ">g</a>" not in res.get_data(as_text=True)


def test_the_county_office_sets_the_timetable(county, auth, client):
    auth.login("county")
    assert client.post("/coverage/milestones", data={"due_on": "2026-06-30",
                                                     "target_percent": "70"}).status_code == 302
    assert client.post("/coverage/milestones", data={"due_on": "2026-09-30",
                                                     "target_percent": "100"}).status_code == 302
    stones = {m.due_on.isoformat(): m.target_percent for m in db.session.scalars(
        __import__("sqlalchemy").select(Milestone))}
    assert stones == {"2026-06-01": 0, "2026-06-30": 70, "2026-07-31": 100, "2026-09-30": 100}
    auth.logout()
    auth.login("team1")
    assert client.post("/coverage/milestones", data={"due_on": "2026-06-30",
                                                     "target_percent": "10"}).status_code == 403
    page = client.get("/coverage?unit=G1&as_of=2026-07-01").get_data(as_text=True)
    assert 'data-unit="G1"' not in page and "66.7%" in page


def test_the_unvisited_list_pages_by_keyset_in_its_order_with_its_total(county, auth, client, app):
    """As of 10 June five targets are unvisited (b, c of G1; f of G2; h, i of G3): shown two a page,
    by group and name, each once, the total on every page."""
    import re
    app.config["LIST_PAGE_SIZE"] = 2
    auth.login("county")
    url, seen = "/coverage/unvisited?as_of=2026-06-10", []
    while url:
        page = client.get(url).get_data(as_text=True)
        assert "共 5 条" in page
        names = re.findall(r'/targets/\d+">([a-i])</a>', page)
        assert 1 <= len(names) <= 2
        seen += names
        more = re.search(r'rel="next" href="([^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert seen == ["b", "c", "f", "h", "i"]
    assert client.get("/coverage/unvisited?cursor=x").status_code == 422
