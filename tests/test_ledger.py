"""The whole campaign ledger (issue 23): a month loaded through the API, the pages and the imports
alone gives back every figure of the bulletin, for the period and since the campaign began.

The campaign begins Mon 2026-05-25; the period is June 2026; the bulletin is read on 07-05.
Targets (imported by the county office): G1 farm households H1-H6 and enterprise E1, G2 urban
households H7, H8 and community C1, G3 farm household H9.
Visits (cadres; posts: leader county_principal, group1 secretary_village, team1 secretary_township):
  V0 05-28  G1 H1                    group1                 1 suggestion (a number)   before June
  V1 06-03  G1 meeting H1-H6         group1, member1        2 suggestions as texts; 1 problem (P1)
  V2 06-05  G1 E1 (enterprise)       leader, group1         a principal leader's visit
  V3 06-10  a place in G2's area     leader                 a principal leader's visit
  V4 06-12  G2 meeting H7, H8        group2, team1          3 suggestions (the visit import)
  V5 06-15  G2 C1                    group2                 (the visit import)
  V6 07-02  G3 H9                    group3                 after the period: in neither
So June has 5 visits, 8 person-times and 11 targets reached (6 farm households, 1 enterprise,
2 urban households, 1 community, 1 place): more targets reached than visits.
Problems (found_on / filed): P1 06-03/06-03 (the visit's day); P2 06-08/06-08 by the API, resolved
06-09 (funds 3.5, donations 1.2), verified 06-10; P3 05-30/05-30, resolved 05-31 (funds 1);
P4 06-20 and P5 06-21 from the case import's 登记时间, filed 06-25; P6 06-28 by the API, filed 07-03.
One suggestion of V1 is answered 06-04. The county office publishes the issue of 05-25..05-31.
"""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest

from casetrack.extensions import db
from casetrack.models import Suggestion, Target, Visit
from casetrack.services.workdays import calendar

PERIOD = {"unit": "C", "from": "2026-06-01", "to": "2026-06-30"}


def at(month: int, day: int):
    return calendar.at(datetime(2026, month, day, 2, 0, tzinfo=timezone.utc))  # 10:00 in Beijing


def xlsx(headers: list[str], rows: list[list]) -> bytes:
    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(token, path: str, name: str, data: bytes):
    return token.client.post(f"/api/v1{path}", headers=token.headers,
                             data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


class Month:
    """The month of the module docstring, entered as an office would enter it."""

    def __init__(self, app, client, auth, world, api):
        app.config["CAMPAIGN_START"] = date(2026, 5, 25)
        self.w, self.client = world, client
        self.t = {name: api(name) for name in ("county", "group1", "group2", "group3", "leader")}
        auth.login("admin")
        for username, post in (("leader", "county_principal"), ("group1", "secretary_village"),
                               ("team1", "secretary_township")):
            r = client.post(f"/admin/users/{world.users[username].id}/post", data={"post": post})
            assert r.status_code == 302
        auth.logout()
        rows = [f"农户,户{i},王家组{i}号,王家村,G1,,G1-H{i}" for i in range(1, 7)] + [
            "企业,王家米厂,王家村口,王家村,G1,,G1-E1", "居民户,李七户,李家巷7号,李家村,G2,,G2-H7",
            "居民户,李八户,李家巷8号,李家村,G2,,G2-H8", "社区,李家社区,李家巷,李家村,G2,,G2-C1",
            "农户,赵九户,赵家组9号,赵家村,G3,,G3-H9"]
        sheet = "类型,名称,地址,村/社区,责任工作组(code),责任干部(username),编号\n" + "\n".join(rows) + "\n"
        with at(5, 25):
            r = upload(self.t["county"], "/targets/import", "targets.csv", sheet.encode("utf-8-sig"))
            assert r.status_code == 200, r.json
        self.ids = {t.code: t.id for t in db.session.query(Target)}

        with at(5, 28):
            self.visit("group1", {"target": self.ids["G1-H1"], "date": "2026-05-28", "suggestions": 1})
        with at(5, 30):
            p3 = self.case("group1", found_on="2026-05-30")
        with at(5, 31):
            self.fire("group1", p3, "resolve", resolution="修好了", funds="1")
        auth.login("county")
        with at(6, 1):
            r = client.post("/reports/bulletin/publish", data={"unit": "C", "from": "2026-05-25", "to": "2026-05-31"})
            assert r.status_code == 302
        auth.logout()
        with at(6, 3):
            v1 = self.visit("group1", {"targets": [self.ids[f"G1-H{i}"] for i in range(1, 7)], "form": "meeting",
                                       "date": "2026-06-03", "cadres": ["group1", "member1"],
                                       "suggestions": ["村道两侧加装路灯",
                                                       {"text": "建文化广场", "category": "infrastructure",
                                                        "unit": "T1"}],
                                       "problems": [{"title": "灌溉水渠淤堵", "category": "infrastructure",
                                                     "kind": "individual"}]})
            assert v1["targets"][0] == self.ids["G1-H1"] and len(v1["targets"]) == 6
            assert v1["cases"][0]["found_on"] == "2026-06-03"
        with at(6, 4):
            first = db.session.query(Suggestion).order_by(Suggestion.id).first()
            r = self.t["group1"].post(f"/suggestions/{first.id}/answer",
                                      json={"answer": "adopted", "text": "已列入村级项目"})
            assert r.status_code == 200 and r.json["answer"] == "adopted", r.json
        with at(6, 5):
            self.visit("leader", {"target": self.ids["G1-E1"], "form": "enterprise", "date": "2026-06-05",
                                  "cadres": ["leader", "group1"]})
        with at(6, 8):
            p2 = self.case("group2", found_on="2026-06-08")
        with at(6, 9):
            self.fire("group2", p2, "resolve", resolution="已解决", funds="3.5", donations="1.2")
        with at(6, 10):
            self.fire("county", p2, "verify", satisfied=True)
            place = self.visit("leader", {"place": "县城汽车站广场", "group": "G2", "form": "reception",
                                          "date": "2026-06-10"})
            assert place["group"] == "G2"
        with at(6, 16):
            sheet = xlsx(["日期", "对象编号", "走访干部(username)", "走访情况", "意见建议数", "走访形式"],
                         [["2026-06-12", "G2-H7、G2-H8", "group2,team1", "座谈", 3, "座谈会"],
                          ["2026-06-15", "G2-C1", "group2", "", 0, "入户"]])
            r = upload(self.t["group2"], "/visits/import", "visits.xlsx", sheet)
            assert r.status_code == 200 and r.json == {"imported": 2, "skipped": 0}, r.json
        with at(6, 25):
            sheet = xlsx(["问题标题", "问题类别", "问题类型(个性/共性)", "登记时间"],
                         [["路灯损坏", "infrastructure", "个性", "2026-06-20"],
                          ["垃圾清运不及时", "environment", "个性", datetime(2026, 6, 21, 9, 30)]])
            r = upload(self.t["group3"], "/cases/import", "cases.xlsx", sheet)
            assert r.status_code == 201, r.json
        with at(7, 2):
            self.visit("group3", {"target": self.ids["G3-H9"], "date": "2026-07-02"})
        with at(7, 3):
            self.case("group3", found_on="2026-06-28")

    def visit(self, who: str, body: dict) -> dict:
        r = self.t[who].post("/visits", json=body)
        assert r.status_code == 201, r.json
        return r.json

    def case(self, who: str, **fields) -> dict:
        r = self.t[who].post("/cases", json={"title": "村道坑洼", "category": "infrastructure",
                                             "kind": "individual", **fields})
        assert r.status_code == 201, r.json
        return r.json

    def fire(self, who: str, case: dict, trigger: str, **fields) -> None:
        version = self.t[who].get(f"/cases/{case['id']}").json["version"]
        r = self.t[who].post(f"/cases/{case['id']}/transitions", json={"trigger": trigger, "version": version,
                                                                       **fields})
        assert r.status_code == 200, r.json


@pytest.fixture
def month(app, client, auth, world, api) -> Month:
    return Month(app, client, auth, world, api)


# Every figure of the ledger, counted by hand from the module docstring: (period, cumulative).
EXPECTED = {
    ("visits", "total"): (5, 6),
    ("visits", "person_times"): (8, 9),
    ("visits", "principal_leaders"): (2, 2),
    ("reached", "total"): (11, 11),
    ("suggestions",): (5, 6),
    ("suggestions_answered",): (1, 1),
    ("problems", "found"): (5, 6),
    # solved: verified by the office after a satisfied call-back (P2); resolved: by the handler (P2, P3)
    ("problems", "solved"): (1, 1),
    ("problems", "resolved"): (1, 2),
    ("funds",): (3.5, 4.5),
    ("donations",): (1.2, 1.2),
}
BY_POST = {"county_principal": 2, "secretary_village": 2, "secretary_township": 1, "city_principal": 0,
           "secretary_city": 0, "secretary_county": 0}
REACHED = {"farm_household": 6, "enterprise": 1, "urban_household": 2, "community": 1, "place": 1}


def pick(figures: dict, path: tuple[str, ...]):
    for key in path:
        figures = figures[key]
    return figures


def test_a_month_through_the_api_and_imports_gives_back_every_figure(month):
    with at(7, 5):
        b = month.t["county"].get("/reports/bulletin", query_string=PERIOD).json
    for path, (period, since) in EXPECTED.items():
        assert (pick(b, path), pick(b["cumulative"], path)) == (period, since), path
    assert b["visits"]["by_post"] == BY_POST
    assert b["cumulative"]["visits"]["by_post"] == {**BY_POST, "secretary_village": 3}
    assert {k: n for k, n in b["reached"]["by_kind"].items() if n} == REACHED
    assert b["reached"]["total"] > b["visits"]["total"]
    # each target once since the campaign began, on the day it was first visited or reached (H1:
    # V0 before June, V1 in it); H9, first visited after the period, in neither
    assert {k: n for k, n in b["cumulative"]["reached"]["by_kind"].items() if n} == REACHED
    visited = {"farm_household": 1, "enterprise": 1, "place": 1, "urban_household": 1, "community": 1}
    assert {k: n for k, n in b["visits"]["targets_by_kind"].items() if n} == visited   # the visits' own targets
    assert {k: n for k, n in b["cumulative"]["visits"]["targets_by_kind"].items() if n} == visited
    assert b["bulletins"] == b["cumulative"]["bulletins"] == {"issued": {"briefing": 1, "special": 0, "express": 0,
                                                                         "circular": 0}}
    assert b["cumulative"]["from"] == "2026-05-25"
    # the existing keys keep their meaning
    assert b["visits"]["cadre_visits"] == 8 and b["problems"]["by_category"] == {"infrastructure": 4,
                                                                                   "environment": 1}
    # a team's bulletin holds its own groups' share: T1 (G1, G2)
    with at(7, 5):
        t1 = month.t["county"].get("/reports/bulletin", query_string={**PERIOD, "unit": "T1"}).json
    assert (t1["visits"]["total"], t1["reached"]["total"], t1["problems"]["found"]) == (5, 11, 2)


def test_the_xlsx_and_docx_hold_the_ledger_for_the_period_and_since_the_campaign_began(month, auth):
    import docx
    import openpyxl
    auth.login("county")
    with at(7, 5):
        book = openpyxl.load_workbook(io.BytesIO(month.client.get("/reports/bulletin.xlsx",
                                                                  query_string=PERIOD).data))
        document = docx.Document(io.BytesIO(month.client.get("/reports/bulletin.docx", query_string=PERIOD).data))
        page = month.client.get("/reports/bulletin", query_string=PERIOD).get_data(as_text=True)
    sheet = {row[0]: row[1:] for row in book["活动台账"].iter_rows(min_row=2, values_only=True)}
    labels = {("visits", "total"): "走访次数", ("visits", "person_times"): "干部走访人次",
              ("visits", "principal_leaders"): "市县主要负责同志走访（次）", ("reached", "total"): "走访覆盖对象",
              ("suggestions",): "收集的意见建议（条）", ("suggestions_answered",): "已答复意见建议",
              ("problems", "found"): "发现的问题", ("problems", "solved"): "核实解决问题",
              ("funds",): "投入财政资金（万元）", ("donations",): "社会捐助（万元）"}
    for path, label in labels.items():
        assert sheet[label] == EXPECTED[path], label
    assert sheet["县主要负责同志走访（人次）"] == (2, 2)
    assert sheet["村党组织书记走访（人次）"] == (2, 3)
    assert sheet["乡镇党委书记走访（人次）"] == (1, 1)
    assert sheet["走访覆盖对象：农户"] == (6, 6) and sheet["走访覆盖对象：走访地点"] == (1, 1)
    assert sheet["已发简报"] == (1, 1)
    ledger = next(t for t in document.tables if [c.text for c in t.rows[0].cells][2:3] == ["截至目前"])
    cells = {r.cells[0].text: (r.cells[1].text, r.cells[2].text) for r in ledger.rows[1:]}
    assert cells["走访覆盖对象"] == ("11", "11") and cells["走访次数"] == ("5", "6")
    assert cells["投入财政资金（万元）"] == ("3.5", "4.5") and cells["已答复意见建议"] == ("1", "1")
    assert cells["市县主要负责同志走访（次）"] == ("2", "2")
    assert "活动台账" in page and "截至目前" in page


def test_found_dates_are_checked(month):
    cases = month.t["group1"]
    with at(7, 5):
        future = cases.post("/cases", json={"title": "路灯坏了", "category": "infrastructure",
                                            "kind": "individual", "found_on": "2026-07-06"})
        early = cases.post("/cases", json={"title": "路灯坏了", "category": "infrastructure",
                                           "kind": "individual", "found_on": "2026-05-24"})
        bad = cases.post("/cases", json={"title": "路灯坏了", "category": "infrastructure",
                                         "kind": "individual", "found_on": "六月"})
        visit = cases.post("/visits", json={"target": month.ids["G1-H2"], "date": "2026-05-20"})
    assert future.status_code == 422 and future.json["errors"]["found_on"] == "发现问题的日期不能晚于今天。"
    assert early.status_code == 422 and "2026-05-25" in early.json["errors"]["found_on"]
    assert bad.status_code == 422 and "found_on" in bad.json["errors"]
    assert visit.status_code == 422 and "2026-05-25" in visit.json["errors"]["date"]


def test_a_leader_reads_and_supervises_but_never_moves_a_case(month, world, auth):
    leader = month.t["leader"]
    with at(7, 5):
        listed = leader.get("/cases").json["cases"]
        assert len(listed) == 6                       # every case of the county
        case = next(c for c in listed if c["state"] == "group")
        detail = leader.get(f"/cases/{case['id']}").json
        assert detail["allowed"] == []
        moved = leader.post(f"/cases/{case['id']}/transitions", json={"trigger": "escalate", "reason": "x",
                                                                      "version": detail["version"]})
        note = leader.post(f"/cases/{case['id']}/supervision", json={"text": "请抓紧办理"})
        foreign = leader.post("/visits", json={"target": month.ids["G1-H1"], "date": "2026-07-05",
                                               "problems": [{"title": "x", "category": "infrastructure",
                                                             "kind": "individual"}]})
    assert moved.status_code == 403
    assert note.status_code == 201
    assert foreign.status_code == 403                 # a leader files no problem itself
    auth.login("leader")
    page = month.client.get("/leader").get_data(as_text=True)
    assert "县城汽车站广场" in page and "王家米厂" in page
    auth.logout()
    auth.login("group1")
    assert month.client.get("/leader").status_code == 403


def test_a_group_cadre_may_not_visit_a_place_or_anothers_target(month):
    with at(7, 5):
        place = month.t["group1"].post("/visits", json={"place": "村口", "date": "2026-07-05"})
        other = month.t["group1"].post("/visits", json={"targets": [month.ids["G1-H1"], month.ids["G2-H7"]],
                                                        "date": "2026-07-05"})
        form = month.t["group1"].post("/visits", json={"target": month.ids["G1-H1"], "date": "2026-07-05",
                                                       "form": "party"})
    assert place.status_code == 422 and "place" in place.json["errors"]
    assert other.status_code == 422 and "targets" in other.json["errors"]
    assert form.status_code == 422 and "form" in form.json["errors"]
    assert db.session.query(Visit).filter(Visit.visited_on == date(2026, 7, 5)).count() == 0


def test_suggestions_are_scoped_paged_and_answered_once(month, world, api, client, auth):
    """A suggestion of G1 is seen by G1, its team, the county and its leader; others get 404."""
    rows = db.session.query(Suggestion).order_by(Suggestion.id).all()
    assert [(s.text, s.unit.code, s.category.code if s.category else None) for s in rows] == [
        ("村道两侧加装路灯", "G1", None), ("建文化广场", "T1", "infrastructure")]
    open_one = rows[1]
    sees = {"group1", "member1", "team1", "county", "leader"}
    for username in world.users:
        token = api(username)
        got = {s["id"] for s in token.get("/suggestions").json["suggestions"]}
        assert got == ({r.id for r in rows} if username in sees else set()), username
        if username not in sees:
            r = token.post(f"/suggestions/{open_one.id}/answer", json={"answer": "adopted", "text": "好"})
            assert r.status_code == 404, username
    waiting = month.t["group1"].get("/suggestions", query_string={"answered": "false"}).json["suggestions"]
    assert [s["id"] for s in waiting] == [open_one.id]
    assert api("team1").post(f"/suggestions/{open_one.id}/answer",
                             json={"answer": "adopted", "text": "好"}).status_code == 403
    bad = month.t["group1"].post(f"/suggestions/{open_one.id}/answer", json={"answer": "maybe", "text": ""})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"answer", "text"}
    auth.login("group1")
    page = client.get("/suggestions").get_data(as_text=True)
    assert "建文化广场" in page and "录入答复" in page
    r = client.post(f"/suggestions/{open_one.id}/answer", data={"answer": "partly_adopted", "text": "部分采纳"})
    assert r.status_code == 302
    again = month.t["group1"].post(f"/suggestions/{open_one.id}/answer", json={"answer": "adopted", "text": "x"})
    assert again.status_code == 409
    assert "部分采纳" in client.get("/suggestions").get_data(as_text=True)


def test_a_place_reached_is_not_assigned(month):
    """Coverage counts the targets a meeting reached, not the place a leader visited."""
    with at(7, 5):
        g1 = month.t["county"].get("/coverage", query_string={"unit": "G1", "as_of": "2026-06-30"}).json
        g2 = month.t["county"].get("/coverage", query_string={"unit": "G2", "as_of": "2026-06-30"}).json
    assert (g1["assigned"], g1["visited"]) == (7, 7)      # H1-H6 by the meeting, E1 by the leader
    assert (g2["assigned"], g2["visited"]) == (3, 3)      # the place is not among them


def test_create_user_gives_a_leader_a_post(world, runner):
    from casetrack.models import User
    result = runner.invoke(args=["create-user", "wang", "--role", "leader", "--unit", "C", "--post",
                                 "county_principal"], input="pw1234\npw1234\n")
    assert result.exit_code == 0, result.output
    wang = db.session.query(User).filter_by(username="wang").one()
    assert (wang.role, wang.post) == ("leader", "county_principal")
    wrong = runner.invoke(args=["create-user", "li", "--role", "leader", "--unit", "C", "--post", "mayor"],
                          input="pw1234\npw1234\n")
    assert wrong.exit_code != 0 and "mayor" in wrong.output


def test_suggestions_page_by_keyset(month):
    group1 = month.t["group1"]
    with at(7, 5):
        r = group1.post("/visits", json={"target": month.ids["G1-H3"], "date": "2026-07-05",
                                         "suggestions": [f"第{i}条建议" for i in range(60)]})
        assert r.status_code == 201 and r.json["suggestions"] == 60
        first = group1.get("/suggestions").json
        second = group1.client.get(first["next"], headers=group1.headers).json
    assert len(first["suggestions"]) == 50 and second["next"] is None
    ids = [s["id"] for s in first["suggestions"] + second["suggestions"]]
    assert len(ids) == 62 and ids == sorted(ids, reverse=True)
