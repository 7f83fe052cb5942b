"""The leader's dashboard: its figures against the bulletin's hand-counted week, drill-down,
scope and roles (tests/test_bulletin.py's week, seen on 06-10)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from casetrack.extensions import db
from casetrack.services.reports import dashboard as dash
from tests.test_bulletin import Week, at


@pytest.fixture
def week(world):
    w = Week(world)
    with at(6, 10):
        yield w


def tile(page: str, label: str) -> tuple[str, str]:
    """(cumulative, this period) of a tile by its label."""
    m = re.search(r'<span class="count">([^<]*)</span><br>' + re.escape(label) +
                  r'\s*<span class="sub">[^<]*?([\d.]+)</span>', page)
    assert m, label
    return m.group(1), m.group(2)


def test_the_county_sees_the_campaign_at_a_glance(week, client, auth):
    auth.login("county")
    page = client.get("/dashboard?unit=C&from=2026-06-08&to=2026-06-10").get_data(as_text=True)
    # cumulative from the first figure (05-20, E's filing) to 06-10; the period 06-08..06-10
    assert tile(page, "发现问题") == ("7", "0")          # A-G; none filed 06-08..10
    assert tile(page, "核实解决") == ("3", "0")          # A B F verified, D never
    assert tile(page, "办结") == ("4", "1")             # A B F, and D on 06-09
    assert tile(page, "解释说明") == ("1", "0")          # C
    assert tile(page, "投入财政资金（万元）") == ("13.5", "0.0")
    assert "2026-05-20" in page and "本周与上周对比" in page
    # this week (06-08..10): 1 visit (t4), 1 resolved; last week (06-01..07): 4 visits, 3 resolved
    weeks = page[page.index('id="weeks"'):page.index('id="rates"')]
    assert "1 / 4 ▼" in weeks and "1 / 3 ▼" in weeks
    # drill-down: both teams, each to its own dashboard
    assert 'href="/dashboard?unit=T1&amp;from=2026-06-08&amp;to=2026-06-10"' in page
    assert "覆盖率" in page and "序时进度" in page
    team = client.get("/dashboard?unit=T1").get_data(as_text=True)
    assert "王家村工作组" in team and "赵家村工作组" not in team
    group = client.get("/dashboard?unit=G1")
    assert group.status_code == 200 and "王家村工作组" in group.get_data(as_text=True)


def test_figures_come_from_the_bulletins_aggregates(week):
    d = dash.dashboard(week.w.units["T1"], *[__import__("datetime").date(2026, 6, d) for d in (1, 7)])
    assert d["period"]["found"] == 4 and d["period"]["solved"] == 3     # A B C F: the team bulletin's
    assert [c["unit"].code for c in d["children"]] == ["G1", "G2"]
    assert d["children"][0]["period"]["overdue"] == 1                  # E, G1's


@pytest.mark.parametrize("user, code", [("county", "C"), ("county", "T2"), ("county", "G3"), ("team1", "T1"),
                                        ("team1", "G2")])
def test_allowed_roles_see_their_subtree(week, client, auth, user, code):
    auth.login(user)
    assert client.get(f"/dashboard?unit={code}").status_code == 200


@pytest.mark.parametrize("user, code, status", [
    ("team1", "T2", 404), ("team1", "C", 404), ("team1", "G3", 404), ("county", "C9", 404),
    ("county", "D1", 404), ("group1", "G1", 403), ("member1", "G1", 403), ("dept1", "D1", 403),
    ("admin", "C", 403)])
def test_others_are_refused(week, client, auth, user, code, status):
    auth.login(user)
    r = client.get(f"/dashboard?unit={code}")
    assert r.status_code == status
    assert 'id="problems"' not in r.get_data(as_text=True)


def test_the_dashboard_link_shows_for_its_roles_only(week, client, auth):
    for user, shown in [("county", True), ("team1", True), ("group1", False), ("dept1", False)]:
        auth.login(user)
        assert ('href="/dashboard"' in client.get("/cases").get_data(as_text=True)) == shown, user
        auth.logout()


def test_a_leader_reads_the_county_s_dashboard_with_its_petitions(week, client, auth):
    """The 县领导 opens the dashboard of the county; petitions received are counted on it, the
    period's apart from the campaign's."""
    from casetrack.services.casework.petitions import record_petition
    for day, persons in (("2026-06-02", 2), ("2026-06-09", 5)):
        record_petition(week.w.users["county"], date=day, form="visit", persons=persons, collective=persons > 4,
                        place="县信访接待室", subject="反映村道损毁", details="", category="infrastructure",
                        residents=[{"name": "王五", "phone": ""}], file_case=False)
    db.session.commit()
    auth.login("leader")
    page = client.get("/dashboard?unit=C&from=2026-06-08&to=2026-06-10").get_data(as_text=True)
    assert tile(page, "接待群众来访（批次）") == ("2", "1")
    assert tile(page, "接待群众来访（人次）") == ("7", "5")
    assert 'href="/dashboard"' in page and 'href="/assessment"' in page     # in the leader's menu


def test_the_cumulative_starts_where_the_bulletins_does(week, client, auth):
    """截至目前 is one span on every page: from the campaign's start when the county set it."""
    before = client.application.config["CAMPAIGN_START"]
    auth.login("county")
    page = client.get("/dashboard?unit=C&from=2026-06-08&to=2026-06-10").get_data(as_text=True)
    assert "2026-05-20" in page                                  # the first figure: E's filing
    client.application.config["CAMPAIGN_START"] = date(2026, 5, 1)
    try:
        page = client.get("/dashboard?unit=C&from=2026-06-08&to=2026-06-10").get_data(as_text=True)
    finally:
        client.application.config["CAMPAIGN_START"] = before
    assert "2026-05-01" in page and "2026-05-20" not in page
    assert tile(page, "发现问题") == ("7", "0")                   # the same cases counted
