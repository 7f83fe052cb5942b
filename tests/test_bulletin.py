"""The bulletin's figures and rates against a week counted by hand.

Week P = Mon 2026-06-01 .. Sun 2026-06-07, next week P2 = 2026-06-08 .. 2026-06-14.
Cases (10:00 Beijing time each day):
  A  G1  filed 06-01, group resolves 06-02 (funds 1.5, donations 0.5), satisfied 06-03 -> closed
  B  G1  filed 06-01, escalated to team 06-02 and to the county 06-03 (twice), county resolves
         06-04 (funds 10), dissatisfied call-back 06-05 (reopened at the county), resolved again
         06-05 (funds 2), satisfied 06-06 -> closed; solved once, by the county
  C  G2  filed 06-02 (environment), explained 06-03: explained, not solved, still open
  D  G3  shared, filed Fri 06-05 and escalated by G3 the same day (team T2), team resolves 06-09:
         solved in P2, not in P
  E  G1  filed 2026-05-20, nothing done since: open and overdue (deadline 05-27)
  F  G2  filed 06-03, to the team and the county 06-04, referred to D1 due 06-05, D1 resolves
         Sat 06-06 (late), satisfied 06-07 -> closed, not on time; solved by a department
  G  G3  filed 06-01, never acted on; its first deadline is Mon 06-08, after P: at P's end its
         window is still open, so it is in neither side of P's first-response rate
Counted in P by hand: resolved (办结) A B F, each once; solved (核实解决: verified after a
satisfied call-back) A (06-03) B (06-06) F (06-07), by the level whose resolution was verified:
group A, county B, department F; D is resolved in P2 and never verified, so it is solved in no
week. First response: A B C D F acted on in time (D on 06-09, within the team's 7 working days),
G's window open: 5 / 5. Feedback to residents: closed A B F and explained C are answered, no
group recorded telling anyone: 0 / 4.
Visits in P: t1 (G1 farm household) 06-01 by group1+member1 (2 suggestions), t2 (G1 enterprise)
06-02 by member1 (1), t1 again 06-03 by member1 and team1, t3 (G2 community) 06-04 by group2;
outside P: t3 05-30, t4 (G3 urban household) 06-10.
"""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest

from casetrack.extensions import db
from casetrack.models import Target
from casetrack.services.reports import bulletin as bl
from casetrack.services.reports import bulletin_issues as bi
from casetrack.services.workdays import calendar
from casetrack.services.casework.cases import fire
from casetrack.services.common.errors import Conflict, Forbidden, NotFound
from casetrack.services.fieldwork.visits import record_visit

P = (date(2026, 6, 1), date(2026, 6, 7))
P2 = (date(2026, 6, 8), date(2026, 6, 14))


def at(month: int, day: int):
    return calendar.at(datetime(2026, month, day, 2, 0, tzinfo=timezone.utc))  # 10:00 in Beijing


class Week:
    def __init__(self, world):
        self.w = w = world
        u = w.users
        self.targets = {}
        for name, kind, group in [("t1", "farm_household", "G1"), ("t2", "enterprise", "G1"),
                                  ("t3", "community", "G2"), ("t4", "urban_household", "G3")]:
            t = Target(kind=kind, name=name, group_id=w.units[group].id)
            db.session.add(t)
            self.targets[name] = t
        db.session.flush()
        self.visit((5, 30), "group2", "t3")
        self.visit((6, 1), "group1", "t1", ["group1", "member1"], 2)
        self.visit((6, 2), "member1", "t2", ["member1"], 1)
        self.visit((6, 3), "member1", "t1", ["member1", "team1"])
        self.visit((6, 4), "group2", "t3")

        with at(5, 20):
            self.E = w.file("group1")
        with at(6, 1):
            self.A = w.file("group1")
            self.B = w.file("group1")
            self.G = w.file("group3")
        with at(6, 2):
            self.C = w.file("group2", category="environment")
            fire(self.A, "resolve", u["group1"], resolution="修好了", funds="1.5", donations="0.5")
            fire(self.B, "escalate", u["group1"], reason="组里解决不了")
        with at(6, 3):
            fire(self.A, "verify", u["county"], satisfied=True)
            fire(self.B, "escalate", u["team1"], reason="队里也解决不了")
            fire(self.C, "explain", u["group2"], explanation="暂无资金", revisit_on="2026-09-01")
            self.F = w.file("group2")
        with at(6, 4):
            fire(self.B, "resolve", u["county"], resolution="县里解决", funds="10")
            fire(self.F, "escalate", u["group2"], reason="上报")
            fire(self.F, "escalate", u["team1"], reason="上报县")
            fire(self.F, "refer", u["county"], department="D1", due_date="2026-06-05")
        with at(6, 5):
            self.D = w.file("group3", kind="shared")   # the group's until it reports it up:
            fire(self.D, "escalate", u["group3"], reason="共性问题，本组无力解决")  # the same day
            fire(self.B, "verify", u["county"], satisfied=False)
            fire(self.B, "resolve", u["county"], resolution="再次解决", funds="2")
        with at(6, 6):
            fire(self.B, "verify", u["county"], satisfied=True)
            fire(self.F, "resolve", u["dept1"], resolution="部门解决")
        with at(6, 7):
            fire(self.F, "verify", u["county"], satisfied=True)
        with at(6, 9):
            fire(self.D, "resolve", u["team2"], resolution="队里解决")
        self.visit((6, 10), "group3", "t4")
        db.session.commit()

    def visit(self, day, actor, target, cadres=None, suggestions=0):
        with at(*day):
            record_visit(self.w.users[actor], target=self.targets[target].id,
                         date=date(2026, *day).isoformat(), cadres=cadres, suggestions=suggestions)


@pytest.fixture
def week(world) -> Week:
    return Week(world)


def county_bulletin(week, period=P):
    with at(6, 15):
        return bl.bulletin(week.w.units["C"], *period)


def test_county_week_every_figure(week):
    b = county_bulletin(week)
    assert b["visits"]["total"] == 4
    assert b["visits"]["by_kind"]["farm_household"] == 2
    assert b["visits"]["by_kind"]["enterprise"] == 1
    assert b["visits"]["by_kind"]["community"] == 1
    assert b["visits"]["by_kind"]["urban_household"] == 0
    assert b["visits"]["targets_by_kind"]["farm_household"] == 1
    # person-times: group1 once (group leader), member1 three times, team1 once, group2 once
    assert b["visits"]["cadre_visits"] == 6
    assert b["visits"]["by_leader"] == {"group_leader": 2, "team_leader": 1, "county_officer": 0}
    assert b["suggestions"] == 3
    p = b["problems"]
    assert p["found"] == 6                        # A B C D F G (E was filed before P)
    assert p["by_category"] == {"infrastructure": 5, "environment": 1}
    assert p["resolved"] == 3                     # A, B once though resolved twice, F; not C, not D
    assert p["solved"] == 3                       # A, B, F verified; not C, not D
    assert p["explained"] == 1                    # C
    assert p["by_level_solved"] == {"group": 1, "team": 0, "county": 1, "department": 1}
    assert p["by_level_resolved"] == {"group": 1, "team": 0, "county": 1, "department": 1}
    assert b["funds"] == 13.5 and b["donations"] == 0.5
    assert p["closed"] == 3 and p["open_at_end"] == 4  # C D E G open at the end of P
    assert p["open_overdue"] == 1                 # E
    r = b["rates"]
    assert r["closure"] == round(3 / 7, 4)        # 3 closed / (3 closed + 4 open)
    assert r["on_time_closure"] == 0.5            # A and B on time, F late / (3 + E overdue)
    assert r["satisfaction"] == 0.75              # A, B (2nd), F satisfied of 4 call-backs
    assert b["rate_parts"]["first_response"] == [5, 5]  # G's window is still open at P's end
    assert b["rate_parts"]["feedback"] == [0, 4]  # A B F closed, C explained; no resident told
    assert r["rework"] == 0.25                    # B's dissatisfied call-back / 4 resolutions
    assert b["rate_parts"]["on_time_closure"] == [2, 4]
    assert set(b["definitions"]) >= set(bl.RATES)
    # the campaign ledger (issue 23): one target per visit here, so reached = targets visited
    assert b["visits"]["person_times"] == 6 and b["visits"]["principal_leaders"] == 0
    assert b["reached"]["by_kind"]["farm_household"] == 1 and b["reached"]["total"] == 3   # t1, t2, t3
    assert b["suggestions_answered"] == 0
    assert b["bulletins"] == {"issued": {"briefing": 0, "special": 0, "express": 0, "circular": 0}}
    c = b["cumulative"]   # from the first day of the figures (E's 05-20) to 06-07
    assert (c["from"], c["visits"]["total"], c["problems"]["found"], c["suggestions"]) == ("2026-05-20", 5, 7, 3)
    assert c["problems"]["solved"] == 3 and c["funds"] == 13.5


def test_next_week_counts_the_case_closed_after_its_filing_week(week):
    b = county_bulletin(week, P2)
    assert b["problems"]["found"] == 0
    assert b["problems"]["resolved"] == 1         # D, filed in P, resolved in P2, by its team
    assert b["problems"]["by_level_resolved"]["team"] == 1
    assert b["problems"]["solved"] == 0           # ... but never verified
    assert b["visits"]["total"] == 1 and b["visits"]["by_kind"]["urban_household"] == 1
    assert b["rates"]["satisfaction"] is None     # no call-back: no rate, not 0 or 100%


def test_team_bulletin_holds_only_its_groups(week):
    with at(6, 15):
        b = bl.bulletin(week.w.units["T1"], *P)
    assert b["visits"]["total"] == 4
    assert b["problems"]["found"] == 4            # A B C F; not G3's D and G
    assert {r["code"] for r in b["units"]} == {"G1", "G2"}
    with at(6, 15):
        t2 = bl.bulletin(week.w.units["T2"], *P)
    assert t2["problems"]["found"] == 2 and t2["visits"]["total"] == 0


def test_rankings_name_the_laggards(week):
    b = county_bulletin(week)
    rows = {r["code"]: r for r in b["units"]}
    assert set(rows) == {"T1", "T2", "G1", "G2", "G3"}
    assert rows["G1"]["open_overdue"] == 1 and rows["G1"]["laggard"]
    assert "G1" in b["laggards"] and "T1" in b["laggards"] and "G3" not in b["laggards"]
    assert rows["G1"]["coverage"] == 1.0 and rows["G3"]["coverage"] == 0.0
    assert [rows[c]["rank"] for c in ("G1", "G2", "G3")] == [1, 2, 3]
    assert [o["id"] for o in b["overdue"]] == [week.E.id]


def test_scope(week):
    u, units = week.w.users, week.w.units
    assert bl.check_scope(u["team1"], units["G1"]) is units["G1"]
    for user, unit in [("group1", "G2"), ("group1", "T1"), ("team1", "G3"), ("team1", "C"),
                       ("dept1", "C"), ("admin", "C")]:
        with pytest.raises(NotFound):
            bl.check_scope(u[user], units[unit])


def test_published_issue_never_changes(week):
    u = week.w.users
    with at(6, 8):
        issue = bi.publish_period(u["county"], week.w.units["C"], *P)
        db.session.commit()
    assert issue.number == 1 and issue.figures["visits"]["total"] == 4
    week.visit((6, 5), "group2", "t3")            # entered late, about P
    db.session.commit()
    assert county_bulletin(week)["visits"]["total"] == 5
    db.session.expire_all()
    assert bi.get(u["county"], issue.id).figures["visits"]["total"] == 4
    with at(6, 15):
        second = bi.publish_period(u["county"], week.w.units["C"], *P2)
    assert second.number == 2
    assert second.figures["previous"]["number"] == 1
    assert second.figures["change"]["visits.total"] == 1 - 4   # against the frozen 4, not 5
    assert second.figures["change"]["problems.solved"] == 0 - 3
    assert second.figures["change"]["problems.resolved"] == 1 - 3
    with pytest.raises(Forbidden):
        bi.publish_period(u["group1"], week.w.units["G1"], *P)
    with at(6, 15), pytest.raises(Conflict):                 # the same period is not published twice
        bi.publish_period(u["county"], week.w.units["C"], *P)
    assert issue.figures["coverage"]["series"] == [["2026-05-30", 0.25], ["2026-06-01", 0.5],
                                                   ["2026-06-02", 0.75]]   # t3, t1, t2; t4 never in P


# -- formats ---------------------------------------------------------------------------------

def summary_numbers(table_rows) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in table_rows}


def test_xlsx_and_docx_hold_the_json_numbers(week, app):
    import docx
    import openpyxl
    from casetrack.services.reports import bulletin_export as bx
    b = county_bulletin(week)
    with app.test_request_context():
        book = openpyxl.load_workbook(io.BytesIO(bx.to_xlsx(b)))
        document = docx.Document(io.BytesIO(bx.to_docx(b)))
        expected = bx.tables(b)
    assert book.sheetnames == [t.title for t in expected] + ["图表"]  # one sheet per table, and the charts
    assert [t.title for t in expected][0] == "概况"                  # Chinese by default
    summary = {row[0]: row[1] for row in book["概况"].iter_rows(min_row=2, values_only=True)}
    assert summary["走访次数"] == 4 and summary["发现的问题"] == 6 and summary["核实解决问题"] == 3
    assert summary["办结问题"] == 3
    assert summary["解释说明（暂不能解决）"] == 1 and summary["投入财政资金（万元）"] == 13.5
    assert summary["覆盖率"] == "75.0%"
    categories = {row[0]: row[1] for row in book[expected[2].title].iter_rows(min_row=2, values_only=True)}
    assert categories == {"道路水利设施": 5, "环境污染": 1}
    rates = {row[0]: row[1:4] for row in book["比率"].iter_rows(min_row=2, values_only=True)}
    assert rates["按时办结率"] == ("50.0%", 2, 4) and rates["重办率"] == ("25.0%", 1, 4)
    # the Word bulletin: title, then a table per section with the same cells as the page
    text = "\n".join(p.text for p in document.paragraphs)
    assert "大走访活动简报" in text and "测试县活动办" in text
    assert len(document.tables) == len([t for t in expected if t.rows])
    first = document.tables[0]
    assert {r.cells[0].text: r.cells[1].text for r in first.rows[1:]} == \
        {str(r[0]): str(r[1]) for r in expected[0].rows}


def test_api_bulletin_keys_and_scope(week, api):
    county = api("county")
    with at(6, 15):
        r = county.get("/reports/bulletin?from=2026-06-01&to=2026-06-07&unit=C")
    assert r.status_code == 200
    d = r.json
    for path in ["visits.total", "visits.by_kind", "problems.found", "problems.solved", "problems.explained",
                 "problems.by_category", "problems.by_level_solved", "suggestions", "funds", "donations",
                 "coverage.rate", "rates.closure", "rates.on_time_closure", "rates.satisfaction",
                 "rates.first_response", "rates.rework"]:
        section, _sep, key = path.partition(".")
        assert (d[section][key] if key else d[section]) is not None, path
    assert d["problems"]["solved"] == 3
    team = api("team2")
    with at(6, 15):
        assert team.get("/reports/bulletin?from=2026-06-01&to=2026-06-07").json["problems"]["found"] == 2
        assert team.get("/reports/bulletin?unit=T1").status_code == 404
        assert api("group1").get("/reports/bulletin?unit=G2").status_code == 404
        assert api("dept1").get("/reports/bulletin?unit=C").status_code == 404
        assert county.get("/reports/bulletin?from=2026-06-08&to=2026-06-01").status_code == 422


def test_cli_writes_every_format(week, runner, tmp_path):
    import json
    for fmt in ("json", "html", "xlsx", "docx"):
        out = tmp_path / f"b.{fmt}"
        result = runner.invoke(args=["bulletin", "--from", "2026-06-01", "--to", "2026-06-07", "--unit", "C",
                                     "--output", str(out), "--format", fmt])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "b.json").read_text())["problems"]["found"] == 6
    page = (tmp_path / "b.html").read_text()
    assert "大走访活动简报" in page and "echarts" in page        # opens on its own, charts inside
    bad = runner.invoke(args=["bulletin", "--from", "2026-06-01", "--to", "2026-06-07", "--unit", "D1",
                              "--output", str(tmp_path / "x.json")])
    assert bad.exit_code == 1


def test_page_links_every_figure_and_publishes_in_one_click(week, client, auth):
    import zipfile
    auth.login("county")
    with at(6, 15):
        r = client.get("/reports/bulletin?from=2026-06-01&to=2026-06-07&unit=C")
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        assert "<script>" not in page and "vendor/echarts.min.js" in page and 'class="echart' in page
        assert "/cases?unit=C&amp;date_from=2026-06-01&amp;date_to=2026-06-07\">6</a>" in page
        assert "/cases?unit=C&amp;date_from=2026-06-01&amp;date_to=2026-06-07&amp;category=environment\">1</a>" in page
        assert "kind=farm_household" in page and f"/cases/{week.E.id}\"" in page
        bundle = client.get("/reports/bulletin.zip?from=2026-06-01&to=2026-06-07&unit=C")
        names = zipfile.ZipFile(io.BytesIO(bundle.data)).namelist()
        assert sorted(n.rsplit(".", 1)[1] for n in names) == ["docx", "html", "json", "xlsx"]
        r = client.post("/reports/bulletin/publish", data={"from": "2026-06-01", "to": "2026-06-07", "unit": "C"})
        assert r.status_code == 302
        issue = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "第1期" in issue
    auth.logout()
    auth.login("group1")
    assert client.get(r.headers["Location"]).status_code == 404   # the county's issue, not the group's
    assert client.post("/reports/bulletin/publish", data={"unit": "G1"}).status_code == 403


def test_each_count_lists_the_cases_behind_it(week, api):
    county = api("county")

    def ids(query):
        return {c["id"] for c in county.get(f"/cases?unit=C&counted_from=2026-06-01&counted_to=2026-06-07&{query}")
                .json["cases"]}
    assert ids("counted=solved") == {week.A.id, week.B.id, week.F.id}
    assert ids("counted=solved&level=county") == {week.B.id}
    assert ids("counted=resolved&level=department") == {week.F.id}
    assert ids("counted=explained") == {week.C.id}
    assert ids("counted=closed") == {week.A.id, week.B.id, week.F.id}
    assert county.get("/cases?counted=found").status_code == 422
    with at(6, 15):
        b = county_bulletin(week)
    assert len(ids("counted=solved")) == b["problems"]["solved"]


def test_visit_figures_list_the_targets_visited_in_the_period(week, api):
    county = api("county")
    listed = county.get("/targets?unit=C&visited=true&visited_from=2026-06-01&as_of=2026-06-07").json["targets"]
    assert {t["name"] for t in listed} == {"t1", "t2", "t3"}               # not t4 (visited 06-10)
    farm = county.get("/targets?unit=C&visited=true&visited_from=2026-06-01&as_of=2026-06-07"
                      "&kind=farm_household").json["targets"]
    with at(6, 15):
        assert len(farm) == county_bulletin(week)["visits"]["targets_by_kind"]["farm_household"] == 1


def test_a_shared_problem_counts_its_reports_once_each_and_its_money(world):
    """H1 (G1) and H2 (G2) filed Mon 06-15; team T1 links them into one shared problem 06-16 and
    resolves it 06-17 with 3 (万元) of funds (both reports resolved with it by the system); the
    county's call-backs 06-18: H1 satisfied, the parent itself satisfied; H2 awaits its call-back.
    By hand: resolved H1 H2 (by the team), solved (verified) H1 only."""
    from casetrack.services.casework.shared import link_cases
    u = world.users
    with at(6, 15):
        h1, h2 = world.file("group1"), world.file("group2")
    with at(6, 16):
        parent = link_cases(u["team1"], "同一条村道", [h1.id, h2.id])
    with at(6, 17):
        fire(parent, "resolve", u["team1"], resolution="统一修路", funds="3")
    with at(6, 18):
        fire(h1, "verify", u["county"], satisfied=True)
        fire(parent, "verify", u["county"], satisfied=True)
    db.session.commit()
    assert h2.state == "resolved"
    with at(6, 22):
        b = bl.bulletin(world.units["T1"], date(2026, 6, 15), date(2026, 6, 21))
    p = b["problems"]
    assert p["found"] == 2                       # the reports, not the parent
    assert p["resolved"] == 2 and p["by_level_resolved"]["team"] == 2 and p["by_level_resolved"]["group"] == 0
    assert p["solved"] == 1 and p["by_level_solved"]["team"] == 1 and p["by_level_solved"]["group"] == 0
    assert b["funds"] == 3.0                     # recorded on the parent's resolution
    with at(6, 22):                              # the team's money: the county's, not a member group's
        assert bl.bulletin(world.units["C"], date(2026, 6, 15), date(2026, 6, 21))["funds"] == 3.0
        assert bl.bulletin(world.units["G1"], date(2026, 6, 15), date(2026, 6, 21))["funds"] == 0
    assert b["rate_parts"]["satisfaction"] == [1, 1]   # H1's call-back; the parent's is not a reporter's
    assert b["rate_parts"]["closure"] == [1, 2]        # H1 closed; H2 open at the end
    assert b["rate_parts"]["first_response"] == [2, 2]  # linked by the team on 06-16, in time
    assert b["rate_parts"]["rework"] == [0, 2]


def test_a_system_escalation_is_not_a_first_response(world):
    from casetrack.services.deadlines.sweep import sweep_deadlines
    with at(6, 1):
        late = world.file("group1")
    with at(6, 12):                              # group deadline 06-08, + 2 working days overdue
        sweep_deadlines()
    db.session.commit()
    db.session.refresh(late)
    assert late.state == "team"
    with at(6, 15):   # its first deadline (06-08) has passed by the period's end: a failure
        b = bl.bulletin(world.units["C"], date(2026, 6, 1), date(2026, 6, 14))
    assert b["rate_parts"]["first_response"] == [0, 1]


def test_an_approved_extension_moves_the_on_time_deadline(world):
    """X and Y filed Mon 06-01 (group deadline 06-08); X gets 5 more working days (to 06-15);
    both resolved Wed 06-10 and closed 06-11: X on time, Y late."""
    from casetrack.services.deadlines.extension_requests import decide_extension, request_extension
    u = world.users
    with at(6, 1):
        x, y = world.file("group1"), world.file("group1")
    with at(6, 3):
        ext = request_extension(u["group1"], x, 5, "需要协调")
        decide_extension(u["county"], ext, True)
    with at(6, 10):
        fire(x, "resolve", u["group1"], resolution="修好")
        fire(y, "resolve", u["group1"], resolution="修好")
    with at(6, 11):
        fire(x, "verify", u["county"], satisfied=True)
        fire(y, "verify", u["county"], satisfied=True)
    db.session.commit()
    with at(6, 15):
        b = bl.bulletin(world.units["C"], date(2026, 6, 8), date(2026, 6, 14))
    assert b["rate_parts"]["on_time_closure"] == [1, 2]


def test_a_resolution_on_the_deadline_day_is_on_time_and_the_next_day_late(world):
    """Filed Mon 06-01 at the group (5 working days: deadline Mon 06-08): X resolved 06-08 at
    23:30 Beijing time, on time; Y 06-09 at 00:30, the working day after, late. Referred to
    D1 due Fri 06-05: Z resolved 06-05 at 23:30, on time; W 06-06 at 00:30, late. All closed
    06-10."""
    u = world.users

    def beijing(day: int, hour: int, minute: int):   # Beijing is UTC+8
        return calendar.at(datetime(2026, 6, day, hour, minute, tzinfo=timezone.utc) - timedelta(hours=8))

    with at(6, 1):
        x, y, z, w = (world.file("group1") for _ in range(4))
        for case in (z, w):
            fire(case, "escalate", u["group1"], reason="上报")
            fire(case, "escalate", u["team1"], reason="上报县")
            fire(case, "refer", u["county"], department="D1", due_date="2026-06-05")
    for case, who, moment in [(x, "group1", (8, 23, 30)), (y, "group1", (9, 0, 30)),
                              (z, "dept1", (5, 23, 30)), (w, "dept1", (6, 0, 30))]:
        with beijing(*moment):
            fire(case, "resolve", u[who], resolution="办好了")
    with at(6, 10):
        for case in (x, y, z, w):
            fire(case, "verify", u["county"], satisfied=True)
    db.session.commit()
    with at(6, 15):
        b = bl.bulletin(world.units["C"], date(2026, 6, 8), date(2026, 6, 14))
    assert b["problems"]["closed"] == 4
    assert b["rate_parts"]["on_time_closure"] == [2, 4]    # X and Z


def test_an_extension_granted_to_another_holder_does_not_move_the_on_time_deadline(world):
    """Filed Mon 06-01; the group gets 5 more working days (to 06-15) on 06-02, then escalates
    to the team on 06-03 (team deadline Fri 06-12); the team resolves Mon 06-15: late, the
    group's extension is not the team's."""
    from casetrack.services.deadlines.extension_requests import decide_extension, request_extension
    u = world.users
    with at(6, 1):
        case = world.file("group1")
    with at(6, 2):
        decide_extension(u["county"], request_extension(u["group1"], case, 5, "需要协调"), True)
    with at(6, 3):
        fire(case, "escalate", u["group1"], reason="组里解决不了")
    with at(6, 15):
        fire(case, "resolve", u["team1"], resolution="队里解决")
    with at(6, 16):
        fire(case, "verify", u["county"], satisfied=True)
    db.session.commit()
    with at(6, 22):
        b = bl.bulletin(world.units["C"], date(2026, 6, 15), date(2026, 6, 21))
    assert b["rate_parts"]["on_time_closure"] == [0, 1]
