"""The daily feedback of the rectification campaign (日反馈, issue 26.5): each working day a unit
holding problems says of each one 已完成, 整改中 (with the day it expects to finish) or 需协调 (with
why), in one report; the office sees who has not reported (未反馈), on working days only."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import CaseEvent, DailyFeedback
from casetrack.models.cases import PROGRESS
from casetrack.services.workdays import calendar
from tests.test_rectification import fire, problem, sites  # noqa: F401 (the fixture)

TUESDAY = datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc)     # 10:00 in Shanghai, a working day
WEDNESDAY = datetime(2026, 12, 9, 2, 0, tzinfo=timezone.utc)
THURSDAY = datetime(2026, 12, 10, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def rectifying(api, sites):  # noqa: F811
    """Problems being rectified (signed for on Monday): two of D1 (住建局), one of D2 (环保局)."""
    with calendar.at(datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)):
        cases = {key: api("inspector1").post("/cases", json=problem(sites, target=sites[site])).get_json()
                 for key, site in (("market", "market"), ("alley", "alley"), ("toilet", "toilet"))}
        for key, who in (("market", "dept1"), ("alley", "dept1"), ("toilet", "dept2")):
            cases[key] = fire(api(who), cases[key], "sign")
    return cases


def report(client, items, code="rectification"):
    return client.post(f"/campaigns/{code}/feedback", json={"items": items})


def progress_events(case_id) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                           CaseEvent.trigger == PROGRESS).order_by(CaseEvent.id)))


def test_a_unit_reports_each_problem_once_and_a_second_report_the_same_day_replaces_it(api, rectifying):
    market, alley, toilet = rectifying["market"]["id"], rectifying["alley"]["id"], rectifying["toilet"]["id"]
    with calendar.at(TUESDAY):
        r = report(api("dept1"), [{"case": market, "status": "in_progress", "expected_on": "2026-12-10"},
                                  {"case": alley, "status": "needs_coordination", "reason": "需供电公司迁改线路"}])
        assert r.status_code == 200, r.get_json()
        assert r.get_json() == {"day": "2026-12-08", "reported": 2, "replaced": False, "needs_coordination": [alley]}
        day = api("county").get("/campaigns/rectification/feedback").get_json()
        assert day["day"] == "2026-12-08" and day["working_day"] is True
        assert day["reported"] == [{"unit": "D1", "name": "住建局", "open": 2, "reported": 2, "missing": 0}]
        assert day["missing"] == [{"unit": "D2", "name": "环保局", "open": 1, "reported": 0, "missing": 1}]
        assert [e.data["text"] for e in progress_events(market)] == ["日反馈：整改中，预计 2026-12-10 完成"]
        assert progress_events(alley)[0].data["text"] == "日反馈：需协调：需供电公司迁改线路"
        # the afternoon: both done; the newest report counts, the timeline keeps both
        r = report(api("dept1"), [{"case": market, "status": "done"}, {"case": alley, "status": "done"}])
        assert r.get_json()["replaced"] is True
        rows = db.session.execute(select(DailyFeedback.case_id, DailyFeedback.status, DailyFeedback.reason)
                                  .order_by(DailyFeedback.case_id)).all()
        assert rows == [(market, "done", None), (alley, "done", None)]
        assert len(progress_events(market)) == 2
        # D2 reports too: no one is missing
        assert report(api("dept2"), [{"case": toilet, "status": "done"}]).status_code == 200
        day = api("county").get("/campaigns/rectification/feedback").get_json()
        assert day["missing"] == [] and [u["unit"] for u in day["reported"]] == ["D1", "D2"]
    with calendar.at(WEDNESDAY):   # a new day: everyone owes again
        day = api("county").get("/campaigns/rectification/feedback").get_json()
        assert [(u["unit"], u["missing"]) for u in day["missing"]] == [("D1", 2), ("D2", 1)]
        # yesterday's answer stays as it was
        assert api("county").get("/campaigns/rectification/feedback?day=2026-12-08").get_json()["missing"] == []


def test_the_feedback_is_the_progress_report_the_sweep_asks_for(api, rectifying, runner):
    with calendar.at(WEDNESDAY):
        items = [{"case": rectifying[k]["id"], "status": "in_progress", "expected_on": "2026-12-11"}
                 for k in ("market", "alley")]
        assert report(api("dept1"), items).status_code == 200
    with calendar.at(THURSDAY):
        swept = runner.invoke(args=["sweep", "--campaign", "rectification"])
    assert json.loads(swept.output).get("report_late") == 1   # D2's problem only
    late = db.session.scalars(select(CaseEvent.case_id).where(CaseEvent.trigger == "report_late")).all()
    assert late == [rectifying["toilet"]["id"]]


def test_a_bad_report_is_refused_whole_and_nothing_is_written(api, rectifying):
    market, alley, toilet = rectifying["market"]["id"], rectifying["alley"]["id"], rectifying["toilet"]["id"]
    dept1 = api("dept1")
    with calendar.at(TUESDAY):
        cases = [
            ([{"case": market, "status": "done"}], f"items.{alley}.status", "请为此问题选择一项"),
            ([{"case": market, "status": "in_progress"}, {"case": alley, "status": "done"}],
             f"items.{market}.expected_on", "预计完成日期"),
            ([{"case": market, "status": "in_progress", "expected_on": "2026-12-07"}, {"case": alley, "status": "done"}],
             f"items.{market}.expected_on", "不能早于今天"),
            ([{"case": market, "status": "needs_coordination", "reason": "  "}, {"case": alley, "status": "done"}],
             f"items.{market}.reason", "需协调的事项"),
            ([{"case": market, "status": "finished"}, {"case": alley, "status": "done"}],
             f"items.{market}.status", "已完成、整改中或需协调"),
            ([{"case": toilet, "status": "done"}, {"case": alley, "status": "done"}],   # D2's problem
             f"items.{toilet}", "不是本单位承办"),
        ]
        for items, field, words in cases:
            r = report(dept1, items)
            assert r.status_code == 422, (items, r.get_json())
            assert words in r.get_json()["errors"][field], (field, r.get_json())
        assert report(dept1, "done").status_code == 422
        assert dept1.post("/campaigns/rectification/feedback", json={"items": [], "day": "2026-12-01"}).status_code == 422
        # the office, the inspector and the grand visit's units hold no problem to report on
        for who in ("county", "inspector1", "dept2"):
            code = 403 if who != "dept2" else 200
            items = [{"case": toilet, "status": "done"}] if who == "dept2" else []
            assert report(api(who), items).status_code == code, who
        assert report(dept1, [], code="nosuch").status_code == 404
    assert db.session.scalar(select(func.count(DailyFeedback.id))) == 1   # dept2's only
    assert progress_events(market) == [] and progress_events(alley) == []


def test_who_has_not_reported_on_a_working_day_and_no_one_on_a_holiday(api, rectifying):
    county = api("county")
    with calendar.at(TUESDAY):
        for day, working in (("2026-10-01", False),   # National Day
                             ("2026-10-10", True),    # a Saturday worked to make up for the holiday
                             ("2026-10-11", False),   # a Sunday
                             ("2026-12-08", True)):
            got = county.get(f"/campaigns/rectification/feedback?day={day}").get_json()
            assert got["working_day"] is working, day
            assert [u["unit"] for u in got["missing"]] == (["D1", "D2"] if working else []), day
        assert county.get("/campaigns/rectification/feedback?day=2026-13-01").status_code == 422
        # a unit sees the units of its own scope only
        assert [u["unit"] for u in api("dept1").get("/campaigns/rectification/feedback").get_json()["missing"]] == ["D1"]
        # a county declares a day off: no one owes a report that day
        assert county.post("/days-off", json={"day": "2026-12-08", "reason": "县庆"}).status_code in (200, 201)
        got = county.get("/campaigns/rectification/feedback").get_json()
        assert got["working_day"] is False and got["missing"] == []


def test_the_phone_page_and_the_offices_list_of_who_has_not_reported(app, client, auth, api, rectifying):
    market, alley = rectifying["market"]["id"], rectifying["alley"]["id"]
    with calendar.at(TUESDAY):
        auth.login("dept1")
        board = client.get("/boards/campaign/rectification").get_data(as_text=True)
        assert "/boards/campaign/rectification/feedback" in board and "日反馈" in board
        page = client.get("/boards/campaign/rectification/feedback").get_data(as_text=True)
        assert page.count('type="radio"') == 6 and "已完成" in page and "需协调" in page
        r = client.post("/boards/campaign/rectification/feedback", data={f"status_{market}": "done"})
        assert r.status_code == 422 and "请为此问题选择一项" in r.get_data(as_text=True)
        assert 'value="done" checked' in r.get_data(as_text=True)   # what was chosen stays chosen
        r = client.post("/boards/campaign/rectification/feedback",
                        data={f"status_{market}": "done", f"status_{alley}": "needs_coordination",
                              f"reason_{alley}": "需城管配合", f"expected_{alley}": "2026-12-09"})
        assert r.status_code == 302
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "今日反馈已提交：2 个问题" in page and "今日已反馈" in page and "申请协调" in page
        assert db.session.scalars(select(DailyFeedback.expected_on).where(DailyFeedback.case_id == alley)).one() is None
        auth.logout()
        auth.login("county")
        board = client.get("/boards/campaign/rectification").get_data(as_text=True)
        assert "/boards/campaign/rectification/unreported" in board
        page = client.get("/boards/campaign/rectification/unreported").get_data(as_text=True)
        assert "未反馈" in page and 'data-unit="D2"' in page and 'data-unit="D1"' not in page
        assert 'data-reported="D1"' in page
        assert "1 个单位未反馈，1 个单位已反馈" in page
        page = client.get("/boards/campaign/rectification/unreported?day=2026-10-01").get_data(as_text=True)
        assert "不是工作日" in page and 'data-unit="D2"' not in page
        assert client.get("/boards/campaign/rectification/unreported?day=nonsense").status_code == 200
        auth.logout()
        auth.login("group1")   # a unit holding no problem of the campaign has nothing to report
        page = client.get("/boards/campaign/rectification/feedback").get_data(as_text=True)
        assert "本单位没有需要反馈的问题" in page and 'type="radio"' not in page
        assert "/boards/campaign/rectification/feedback" not in client.get(
            "/boards/campaign/rectification").get_data(as_text=True)
