"""Assessment (考核) of June 2026 against a hand computation, its API, page, circular and file.

The month is the bulletin's week (tests/test_bulletin.py, cases A-G and visits t1-t4) plus an
unvisited target t5 of G3 and the county's timetable 06-01 0%, 06-30 80%, 07-31 100%, assessed
on 07-01 (so the month runs 06-01..06-30). The weights are the shipped file's: coverage 30,
on-time closure 20, satisfaction 15, feedback 10, visits per cadre 10 (full marks at 8), overdue
10, rework 5; an indicator without a figure is left out of the weights.

Hand computation, June, 序时进度 on 06-30 = 80% (the milestone of that day):
  G1: coverage 2/2 = 1 -> 1; on-time closure A, B on time / (A, B closed + E overdue) = 2/3;
      satisfaction A, B(2nd) of A, B, B call-backs = 2/3; feedback 0/2 (A, B answered, no one
      told) -> 0; visits 3 (t1 twice, t2) / 2 cadres (group1, member1) = 1.5 -> 1.5/8 = 0.1875;
      overdue E of open E = 1/1 -> 0; rework B's one / 3 resolutions -> 1 - 1/3 = 2/3.
      score = 30 + 20*2/3 + 15*2/3 + 0 + 10*0.1875 + 0 + 5*2/3 = 58.54 (all weights, 100).
  G2: coverage 1/1 -> 1; on-time 0/1 (F late); satisfaction 1/1; feedback 0/2 (C explained, F);
      visits 1 (t3 06-04) / 1 cadre -> 1/8; overdue 0 of open C -> 1; rework 0/1 -> 1.
      score = 30 + 0 + 15 + 0 + 1.25 + 10 + 5 = 61.25.
  G3: coverage 1/2 (t4, not t5) = 0.5 -> 0.5/0.8 = 0.625; on-time 0/2 (nothing closed, D and
      G overdue at 06-30: D resolved 06-09 awaits its call-back since 06-12, G never acted on);
      no call-back, nothing answered: satisfaction and feedback left out (weights 75); visits
      1 (t4) / 1 -> 1/8; overdue 2/2 -> 0; rework 0/1 -> 1.
      score = (18.75 + 0 + 1.25 + 0 + 5) / 75 * 100 = 33.33.
  T1 (G1+G2): coverage 3/3 -> 1; on-time 2/4; satisfaction 3/4; feedback 0/4; visits 4 / 4
      cadres (team1, group1, member1, group2) -> 1/8; overdue 1/2 -> 0.5; rework 1/4 -> 0.75.
      score = 30 + 10 + 11.25 + 0 + 1.25 + 5 + 3.75 = 61.25.
  T2 (G3): as G3 but 2 cadres (team2, group3): visits 1/2 -> 0.0625;
      score = (18.75 + 0.625 + 5) / 75 * 100 = 32.5.
  D1: F referred 06-04 due 06-05, resolved Sat 06-06: late. on-time 0/1 -> 0; holds nothing
      (overdue left out); returns 0 of 1 referral -> 1. score = (0 + 20) / 70 * 100 = 28.57.
  D2: nothing referred: no figure, no score (yellow, ranked last).
Ranks: teams T1 1, T2 2; groups G2 1 (61.25), G1 2, G3 3; departments D1 1, D2 2.
Lights (green >= 85, yellow >= 70): every scored unit is red.
"""
from __future__ import annotations

from datetime import date

import pytest
import yaml
from flask_babel import force_locale

from casetrack import create_app
from casetrack.config import ROOT
from casetrack.extensions import db
from casetrack.models import Milestone, Target
from casetrack.services.reports import assessment as asm
from casetrack.services.fieldwork.coverage import pace
from casetrack.workflow import WorkflowError
from casetrack.workflow.assessment import parse_assessment
from tests.test_bulletin import Week, at

SCORES = {"T1": 61.25, "T2": 32.5, "G1": 58.54, "G2": 61.25, "G3": 33.33, "D1": 28.57, "D2": None}
RANKS = {"T1": 1, "T2": 2, "G2": 1, "G1": 2, "G3": 3, "D1": 1, "D2": 2}


@pytest.fixture
def june(world):
    week = Week(world)
    db.session.add(Target(kind="farm_household", name="t5", group_id=world.units["G3"].id))
    for day, percent in [("2026-06-01", 0), ("2026-06-30", 80), ("2026-07-31", 100)]:
        db.session.add(Milestone(unit=world.units["C"], due_on=date.fromisoformat(day), target_percent=percent))
    db.session.commit()
    with at(7, 1):
        yield week


def test_scores_ranks_and_lights_match_the_hand_computation(june):
    result = asm.assess(june.w.units["C"], *asm.parse_month("2026-06"))
    assert (result.start, result.end, result.pace) == (date(2026, 6, 1), date(2026, 6, 30), 0.8)
    rows = {r.unit.code: r for r in result.rows}
    assert {c: r.score for c, r in rows.items()} == SCORES
    assert {c: r.rank for c, r in rows.items()} == RANKS
    assert {c: r.status for c, r in rows.items()} == {**{c: "red" for c in SCORES}, "D2": "yellow"}
    g1 = rows["G1"]
    assert g1.parts == {"coverage": (2, 2), "on_time_closure": (2, 3), "satisfaction": (2, 3), "feedback": (0, 2),
                        "visits_per_cadre": (3, 2), "overdue": (1, 1), "rework": (1, 3)}
    assert g1.values["visits_per_cadre"] == 1.5 and g1.scores["visits_per_cadre"] == 0.1875
    assert rows["G3"].scores["coverage"] == 0.625
    assert "satisfaction" not in rows["G3"].scores      # no call-back: left out, not a zero
    assert rows["D1"].parts == {"on_time_closure": (0, 1), "overdue": (0, 0), "returns": (0, 1)}
    assert rows["D1"].extra["referrals"] == 1
    # the kinds in order, each by rank
    assert [r.unit.code for r in result.rows] == ["T1", "T2", "G2", "G1", "G3", "D1", "D2"]


def test_a_team_sees_its_subtree_with_county_ranks(june):
    result = asm.assess(june.w.units["T2"], *asm.parse_month("2026-06"))
    assert [(r.unit.code, r.rank) for r in result.rows] == [("T2", 2), ("G3", 3)]


def test_pace_is_the_straight_line_between_milestones(june):
    stones = sorted(db.session.query(Milestone).all(), key=lambda m: m.due_on)
    assert pace(stones, date(2026, 5, 31)) == 0.0          # before the first: nothing asked yet
    assert pace(stones, date(2026, 6, 15)) == round(0.8 * 14 / 29, 4)
    assert pace(stones, date(2026, 7, 15)) == round(0.8 + 0.2 * 15 / 31, 4)
    assert pace(stones, date(2026, 9, 1)) == 1.0
    assert pace([], date(2026, 6, 15)) is None


def test_api_contract_and_scope(june, api):
    r = api("county").get("/reports/assessment?unit=C&month=2026-06")
    assert r.status_code == 200, r.json
    units = {u["code"]: u for u in r.json["units"]}
    assert set(units) == set(SCORES)
    g3 = units["G3"]
    assert set(g3) >= {"code", "name", "kind", "score", "rank", "status", "indicators"}
    assert (g3["name"], g3["kind"], g3["score"], g3["rank"], g3["status"]) == ("赵家村工作组", "group", 33.33, 3, "red")
    assert g3["indicators"]["coverage"] == 0.5 and g3["indicators"]["overdue"] == 1.0
    assert g3["figures"]["on_time_closure"] == [0, 2]
    team = api("team1").get("/reports/assessment?month=2026-06").json["units"]
    assert [(u["code"], u["rank"]) for u in team] == [("T1", 1), ("G2", 1), ("G1", 2)]
    assert [u["code"] for u in api("group1").get("/reports/assessment?month=2026-06").json["units"]] == ["G1"]
    for user, query in [("group1", "unit=T1"), ("team1", "unit=G3"), ("team1", "unit=C"), ("county", "unit=C9"),
                        ("dept1", ""), ("admin", ""), ("county", "unit=NOPE")]:
        assert api(user).get(f"/reports/assessment?month=2026-06&{query}").status_code == 404, (user, query)
    for month in ("2026-13", "June", "2026-6-1", "2026-08", "١٢٣٤-05"):
        r = api("county").get(f"/reports/assessment?month={month}")
        assert r.status_code == 422 and "month" in r.json["errors"], month


def test_page_pages_the_ranking_and_shows_the_figures(june, app, client, auth):
    auth.login("county")
    page = client.get("/assessment?unit=C&month=2026-06&kind=group").get_data(as_text=True)
    assert page.index('data-unit="G2"') < page.index('data-unit="G1"') < page.index('data-unit="G3"')
    assert 'data-status="red"' in page and "33.3" in page
    assert "(2 / 3)" in page                                     # G1's on-time closure, behind its score
    assert "counted=closed" in page and "overdue=true" in page   # the case lists behind the figures
    app.config["PAGE_SIZE"] = 2
    first = client.get("/assessment?unit=C&month=2026-06&kind=group").get_data(as_text=True)
    assert 'data-unit="G3"' not in first and "after=2" in first
    second = client.get("/assessment?unit=C&month=2026-06&kind=group&after=2").get_data(as_text=True)
    assert 'data-unit="G3"' in second and 'data-unit="G1"' not in second
    assert client.get("/assessment?kind=city").status_code == 422
    auth.logout()
    auth.login("group1")
    assert client.get("/assessment?unit=C&month=2026-06").status_code == 404
    assert 'data-unit="G1"' in client.get("/assessment?month=2026-06&kind=group").get_data(as_text=True)


def test_the_circular_names_the_laggards_with_their_figures(june, app, client, auth):
    result = asm.assess(june.w.units["C"], *asm.parse_month("2026-06"))
    with app.test_request_context(), force_locale("zh_Hans"):
        text, laggards = asm.circular(result, june.w.units["C"], date(2026, 7, 2))
    assert [r.unit.code for r in laggards] == ["T2", "T1", "G3", "G1", "G2", "D1"]   # worst first by kind
    assert "一、" in text and "通报如下" in text and "二、" in text and "三、" in text
    assert "赵家村工作组：得分33.3分" in text and "超期问题2个" in text
    assert "住建局" in text and "环保局" not in text          # D2 had nothing to assess
    assert text.rstrip().endswith("测试县活动办\n2026-07-02")
    auth.login("county")
    page = client.get("/assessment/circular?unit=C&month=2026-06").get_data(as_text=True)
    assert "<textarea" in page and "赵家村工作组" in page


def campaign_folder(tmp_path, assessment: dict | str):
    (tmp_path / "campaign.yaml").write_text((ROOT / "workflows/campaign.yaml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    text = assessment if isinstance(assessment, str) else yaml.safe_dump(assessment)
    (tmp_path / "assessment.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def shipped() -> dict:
    return yaml.safe_load((ROOT / "workflows/assessment.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["weights"]["team"].update(speed=5), "weights.team.speed: unknown key"),
    (lambda d: d["weights"]["department"].update(coverage=5), "weights.department.coverage: unknown key"),
    (lambda d: d["weights"]["group"].update(coverage=-1), "weights.group.coverage: must be a number"),
    (lambda d: d["status"].update(yellow=90), "status.yellow: must not be above status.green"),
    (lambda d: d["status"].pop("green"), "status.green: missing"),
    (lambda d: d["indicators"].update(visits_per_cadre={"full_marks_at": "eight"}),
     "indicators.visits_per_cadre.full_marks_at: must be a number"),
    (lambda d: d.update(weights={"county": {}}), "weights.county: unknown key"),
])
def test_a_bad_assessment_file_is_refused_naming_the_file_and_key(tmp_path, change, message):
    data = shipped()
    change(data)
    with pytest.raises(WorkflowError, match=message) as err:
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "WORKFLOWS_DIR": str(campaign_folder(tmp_path, data))})
    assert str(err.value).startswith(str(tmp_path / "assessment.yaml"))


def test_the_shipped_file_loads_and_a_folder_without_one_uses_it(tmp_path):
    assert parse_assessment(shipped()).weights["group"]["coverage"] == 30
    (tmp_path / "campaign.yaml").write_text((ROOT / "workflows/campaign.yaml").read_text(encoding="utf-8"),
                                            encoding="utf-8")
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "WORKFLOWS_DIR": str(tmp_path)})
    assert app.extensions["casetrack.assessment"].green == 85
    with pytest.raises(WorkflowError, match="not valid YAML"):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x",
                    "WORKFLOWS_DIR": str(campaign_folder(tmp_path, "weights: [\n"))})


def test_the_month_filter_keeps_the_kind_shown(june, client, auth):
    """The month form sends the kind on show (it sent the viewer's unit kind, 'county', refused)."""
    auth.login("county")
    page = client.get("/assessment?unit=C&month=2026-06&kind=group").get_data(as_text=True)
    assert '<input type="hidden" name="kind" value="group">' in page
    assert "共 3 条" in page     # the groups ranked, on the pager
