"""Visits: recording one with its problems filed as cases, a day's round, who may do what."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, Target, Visit
from casetrack.services.workdays import calendar
from casetrack.services.fieldwork.targets import create_target

NOW = datetime(2026, 6, 10, 2, 0, tzinfo=timezone.utc)  # 10 June, 10:00 in Shanghai


@pytest.fixture(autouse=True)
def frozen():
    with calendar.at(NOW):
        yield


@pytest.fixture
def targets(world):
    made = {name: create_target(world.users["county"], kind="farm_household", name=name, group=group)
            for name, group in [("王户", "G1"), ("张户", "G1"), ("李户", "G2")]}
    db.session.commit()
    return made


PROBLEM = {"title": "村道坑洼", "category": "infrastructure", "kind": "individual",
           "resident": {"name": "王五", "phone": "13900000000", "address": "王家组1号"}}


def test_a_visit_with_problems_files_linked_cases(world, api, targets):
    target = targets["王户"]
    res = api("member1").post("/visits", json={
        "target": target.id, "date": "2026-06-09", "cadres": ["member1", "group1"],
        "notes": "反映路难走", "suggestions": 2,
        "problems": [PROBLEM, {**PROBLEM, "title": "河道污染", "category": "environment",
                               "kind": "shared"}]})
    assert res.status_code == 201, res.json
    assert res.json["cadres"] == ["group1", "member1"] and res.json["suggestions"] == 2
    assert [c["title"] for c in res.json["cases"]] == ["村道坑洼", "河道污染"]
    visit = db.session.get(Visit, res.json["id"])
    assert visit.visited_on == date(2026, 6, 9) and visit.group_id == world.units["G1"].id
    cases = list(db.session.scalars(select(Case).order_by(Case.id)))
    assert [(c.visit_id, c.target_id, c.group.code) for c in cases] == [
        (visit.id, target.id, "G1"), (visit.id, target.id, "G1")]
    assert cases[0].state == "group" and cases[1].kind == "shared"
    assert cases[0].resident_name == "王五"
    # the group's leader and the county see the cases; the other team does not
    assert api("county").get(f"/cases/{cases[0].id}").status_code == 200
    assert api("team2").get(f"/cases/{cases[0].id}").status_code == 404
    assert api("group2").get(f"/cases/{cases[0].id}").status_code == 404  # nor their residents
    assert "王五" not in api("group2").get("/cases").get_data(as_text=True)


def test_a_bad_problem_leaves_neither_visit_nor_case(world, api, targets):
    res = api("member1").post("/visits", json={
        "target": targets["王户"].id, "date": "2026-06-09",
        "problems": [PROBLEM, {**PROBLEM, "category": "nonsense", "title": ""}]})
    assert res.status_code == 422
    assert set(res.json["errors"]) == {"problems.1.category", "problems.1.title"}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_visit_validation(world, api, targets):
    client = api("member1")
    res = client.post("/visits", json={"target": targets["李户"].id, "date": "2026-06-11",
                                       "cadres": ["group2"], "suggestions": -1, "colour": 1})
    assert res.status_code == 422 and set(res.json["errors"]) == {"colour"}
    res = client.post("/visits", json={"target": targets["李户"].id, "date": "2026-06-11",
                                       "cadres": ["group2", "team1"], "suggestions": -1})
    assert res.status_code == 422
    # another group's target, a future day, a cadre of another group (a team leader above is fine)
    assert set(res.json["errors"]) == {"target", "date", "cadres", "suggestions"}
    assert "group2" in res.json["errors"]["cadres"] and "team1" not in res.json["errors"]["cadres"]
    res = client.post("/visits", json={"target": targets["王户"].id, "date": "2026-06-10",
                                       "cadres": ["team1", "member1"]})
    assert res.status_code == 201 and res.json["cadres"] == ["member1", "team1"]


def test_who_may_record(world, api, targets):
    body = {"target": targets["王户"].id, "date": "2026-06-09"}
    assert api("team1").post("/visits", json=body).status_code == 403
    assert api("county").post("/visits", json=body).status_code == 403
    res = api("group1").post("/visits", json=body)
    assert res.status_code == 201 and res.json["cadres"] == ["group1"]  # none named: the recorder


def test_a_days_round(world, api, targets):
    client = api("group1")
    ids = [targets["王户"].id, targets["张户"].id]
    res = client.post("/visits/round", json={"targets": ids, "date": "2026-06-08",
                                             "cadres": ["group1", "member1"]})
    assert res.status_code == 201, res.json
    assert sorted(v["target"] for v in res.json["visits"]) == sorted(ids)
    assert all(v["cadres"] == ["group1", "member1"] for v in res.json["visits"])
    res = client.post("/visits/round", json={"targets": [targets["王户"].id, targets["李户"].id],
                                             "date": "2026-06-08"})
    assert res.status_code == 422 and set(res.json["errors"]) == {"targets"}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 2
    assert client.get("/targets?visited=false").json["targets"] == []
    assert [t["name"] for t in api("county").get("/targets?visited=false").json["targets"]] == ["李户"]


def test_visit_problem_cannot_point_elsewhere(world, api, targets):
    res = api("member1").post("/visits", json={
        "target": targets["王户"].id, "date": "2026-06-09",
        "problems": [{**PROBLEM, "target": targets["李户"].id}]})
    assert res.status_code == 422 and set(res.json["errors"]) == {"problems.0.target"}
    assert db.session.scalar(select(func.count()).select_from(Target)) == 3


# -- pages ---------------------------------------------------------------------------------

def test_record_a_visit_on_the_page_with_a_problem(world, auth, client, targets):
    auth.login("member1")
    target = targets["张户"]
    page = client.get(f"/visits/new?target={target.id}").get_data(as_text=True)
    assert "张户" in page and "李户" not in page  # only the group's own targets
    res = client.post("/visits/new", data={
        "target": str(target.id), "date": "2026-06-10", "cadres": ["member1", "group1"],
        "notes": "家中老人行动不便", "suggestions": "1",
        "problems-0-title": "危房需要维修", "problems-0-category": "housing",
        "problems-0-kind": "individual", "problems-0-resident_name": "张三",
        "problems-1-title": "", "problems-1-category": "housing", "problems-1-kind": "individual",
        "problems-2-title": "", "problems-2-category": "housing", "problems-2-kind": "individual"})
    assert res.status_code == 302, res.get_data(as_text=True)
    visit = db.session.scalars(select(Visit)).one()
    assert [u.username for u in visit.cadres] == ["group1", "member1"] and visit.suggestions == 1
    case = db.session.scalars(select(Case)).one()
    assert (case.title, case.visit_id, case.target_id, case.resident_name) == (
        "危房需要维修", visit.id, target.id, "张三")
    page = client.get(f"/targets/{target.id}").get_data(as_text=True)
    assert "家中老人行动不便" in page and f"/cases/{case.id}" in page
    assert "<title>张户 · casetrack</title>" in page


def test_visit_page_errors_stay_on_the_form(world, auth, client, targets):
    auth.login("member1")
    res = client.post("/visits/new", data={
        "target": str(targets["王户"].id), "date": "2026-06-11",
        "problems-0-title": "x", "problems-0-category": "housing", "problems-0-kind": "individual"})
    assert res.status_code == 422
    assert "走访日期不能晚于今天。" in res.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_a_days_round_on_the_page(world, auth, client, targets):
    auth.login("group1")
    assert client.get("/visits/round").status_code == 200
    res = client.post("/visits/round", data={
        "date": "2026-06-09", "cadres": ["group1"],
        "targets": [str(targets["王户"].id), str(targets["张户"].id)]})
    assert res.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 2
    auth.logout()
    auth.login("team1")
    assert client.get("/visits/round").status_code == 403


def test_a_bad_problem_on_the_page_is_marked_on_its_own_entry(world, auth, client, targets):
    auth.login("member1")
    res = client.post("/visits/new", data={
        "target": str(targets["王户"].id), "date": "2026-06-10",
        "problems-0-title": "", "problems-1-title": "漏雨", "problems-1-category": "",
        "problems-1-kind": "individual"})
    assert res.status_code == 422
    page = res.get_data(as_text=True)
    entry = page[page.index('id="problems-1-title"'):page.index('id="problems-2-title"')]
    assert "请选择一个类别。" in entry
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


# -- import --------------------------------------------------------------------------------

VISIT_HEADER = ["日期", "对象编号", "走访干部(username)", "走访情况", "意见建议数"]


def visit_sheet(rows) -> bytes:
    from tests.test_targets import xlsx
    return xlsx(rows, header=VISIT_HEADER)


def test_import_visits_all_or_nothing_and_again(world, api, targets):
    for name, code in (("王户", "W1"), ("张户", "Z1"), ("李户", "L1")):
        targets[name].code = code
    db.session.commit()
    client = api("group1")

    def send(data):
        return client.client.post("/api/v1/visits/import", headers=client.headers,
                                  data={"file": (io.BytesIO(data), "visits.xlsx")},
                                  content_type="multipart/form-data")

    bad = [["2026-06-01", "W1", "group1、member1", "聊了收成", 2],
           ["2026-06-11", "Z1", "", "", ""],          # row 3: in the future
           ["2026-06-01", "L1", "", "", ""],          # row 4: another group's target
           ["2026-06-02", "Z1", "group2", "", "x"]]   # row 5: foreign cadre, bad count
    res = send(visit_sheet(bad))
    assert res.status_code == 422
    assert {(e["row"], e["column"]) for e in res.json["errors"]} == {
        (3, "日期"), (4, "对象编号"), (5, "走访干部(username)"), (5, "意见建议数")}
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0

    good = [[date(2026, 6, 1), "W1", "group1、member1", "聊了收成", 2],
            ["2026-06-02", "Z1", "", "", ""], ["2026-06-02", "Z1", "", "", ""]]
    assert send(visit_sheet(good)).json == {"imported": 2, "skipped": 1}
    assert send(visit_sheet(good)).json == {"imported": 0, "skipped": 3}
    visit = db.session.scalars(select(Visit).where(Visit.target_id == targets["王户"].id)).one()
    assert [u.username for u in visit.cadres] == ["group1", "member1"] and visit.suggestions == 2
    assert client.get("/visits/import-template").status_code == 200


def test_visit_import_page(world, auth, client, targets):
    targets["王户"].code = "W1"
    db.session.commit()
    auth.login("member1")
    assert "导入走访记录" in client.get("/visits/import").get_data(as_text=True)
    res = client.post("/visits/import", data={"file": (io.BytesIO(visit_sheet(
        [["2026-06-01", "W1", "", "", ""], ["2026-06-01", "W9", "", "", ""]])), "v.xlsx")},
        content_type="multipart/form-data")
    assert res.status_code == 422 and "<td>3</td><td>对象编号</td>" in res.get_data(as_text=True)
    res = client.post("/visits/import", data={"file": (io.BytesIO(visit_sheet(
        [["2026-06-01", "W1", "", "", ""]])), "v.xlsx")}, content_type="multipart/form-data")
    assert res.status_code == 302
    assert db.session.scalars(select(Visit)).one().cadres[0].username == "member1"
    auth.logout()
    auth.login("team1")
    assert client.get("/visits/import").status_code == 403
