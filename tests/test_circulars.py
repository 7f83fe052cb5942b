"""The rectification campaign's weekly circular (issue 26.4): the office publishes a week as the
next 创城督查通报 of the campaign's own series, with the week's figures by unit and by kind and the
before/after photos of the cases it picks; frozen, read like a bulletin, downloaded as .docx."""
from __future__ import annotations

import io
from datetime import date

import pytest

from casetrack.extensions import db
from tests.test_rectification import fire, problem, sites, upload, walk_to_cleared  # noqa: F401 (fixture)


@pytest.fixture
def week(api, sites):  # noqa: F811
    """A hand-counted week: at the market (D1, sanitation) a problem sent back once and struck
    off; in the alley (D1, back streets) one assigned; at the toilet (D2, sanitation) one rectified
    and awaiting the check. Returns the cases and the week's first day."""
    inspector, dept2 = api("inspector1"), api("dept2")
    market = walk_to_cleared(api, inspector.post("/cases", json=problem(sites)).get_json(), redo=True)
    alley = inspector.post("/cases", json=problem(sites, title="小巷墙面小广告", category="back_alley",
                                                  target=sites["alley"])).get_json()
    toilet = inspector.post("/cases", json=problem(sites, title="公厕有异味", target=sites["toilet"])).get_json()
    toilet = fire(dept2, toilet, "sign")
    upload(dept2, toilet["id"])
    toilet = fire(dept2, toilet, "ask_check", measures="已清洗")
    monday = api("county").get("/campaigns/rectification/week").get_json()["from"]
    return {"market": market, "alley": alley, "toilet": toilet, "monday": monday}


def publish(api, who="county", **body):
    return api(who).post("/campaigns/rectification/circulars", json=body)


def test_the_office_publishes_a_week_as_the_campaigns_numbered_circular(api, week):
    r = publish(api, date=week["monday"], cases=[week["market"]["id"], week["toilet"]["id"]], main_to="各责任单位")
    assert r.status_code == 201, r.get_json()
    issue = r.get_json()
    assert (issue["campaign"], issue["type"], issue["title"], issue["number"], issue["total"]) == \
        ("rectification", "circular", "创城督查通报", 1, 1)
    assert (issue["period_from"], issue["period_to"]) == (week["monday"], api("county").get(
        "/campaigns/rectification/week").get_json()["to"])
    units = {u["unit"]: u for u in issue["figures"]["units"]}
    assert {k: units["D1"][k] for k in ("assigned", "rectified", "solved", "overdue", "rate", "rank")} == \
        {"assigned": 2, "rectified": 2, "solved": 1, "overdue": 0, "rate": 0.5, "rank": 1}
    assert units["D1"]["flags"] == {"rework": 1}
    assert {k: units["D2"][k] for k in ("assigned", "rectified", "solved", "rate", "rank")} == \
        {"assigned": 1, "rectified": 1, "solved": 0, "rate": 0.0, "rank": 2}
    kinds = {k["category"]: k for k in issue["figures"]["kinds"]}
    assert {k: kinds["sanitation"][k] for k in ("assigned", "rectified", "solved", "rate")} == \
        {"assigned": 2, "rectified": 3, "solved": 1, "rate": 0.5}
    assert kinds["sanitation"]["flags"] == {"rework": 1} and kinds["sanitation"]["label"]["zh"] == "环境卫生"
    assert (kinds["back_alley"]["assigned"], kinds["back_alley"]["solved"]) == (1, 0)
    assert sorted(s["name"] for s in issue["figures"]["sites"]) == ["人民公园公厕", "城东农贸市场", "解放路背街小巷"]
    # the pairs: the photo filed with the problem, and the last one after (the inspector's on the spot)
    market = api("county").get(f"/cases/{week['market']['id']}").get_json()["attachments"]
    toilet = api("county").get(f"/cases/{week['toilet']['id']}").get_json()["attachments"]
    assert [(p["case"], p["before"], p["after"]) for p in issue["figures"]["pairs"]] == [
        (week["market"]["id"], market[0]["id"], max(a["id"] for a in market if a["stage"] == "after")),
        (week["toilet"]["id"], toilet[0]["id"], max(a["id"] for a in toilet if a["stage"] == "after"))]
    assert issue["figures"]["circulation"]["main_to"] == "各责任单位"

    again = publish(api, date=week["monday"])
    assert again.status_code == 409 and "1" in again.get_json()["message"]
    other = publish(api, date="2020-01-01").get_json()   # another week: the next number
    assert (other["number"], other["period_from"], other["figures"]["units"]) == (2, "2019-12-30", [])


def test_a_published_circular_is_frozen_and_its_own_series(app, api, sites, week, world):  # noqa: F811
    from casetrack.services.reports import bulletin_issues as bi
    issue = publish(api, date=week["monday"]).get_json()
    # later: another problem of the week and the toilet's struck off; the issue stays as published
    inspector = api("inspector1")
    inspector.post("/cases", json=problem(sites, title="又一处垃圾", target=sites["toilet"]))
    case = api("inspector1").get(f"/cases/{week['toilet']['id']}").get_json()
    upload(inspector, case["id"])
    fire(inspector, case, "strike_off")
    live = {u["unit"]: u for u in api("county").get("/campaigns/rectification/week").get_json()["units"]}
    assert (live["D2"]["assigned"], live["D2"]["solved"]) == (2, 1)
    read = api("county").get(f"/campaigns/rectification/circulars/{issue['id']}").get_json()
    assert read["figures"] == issue["figures"] and read["number"] == 1
    d2 = next(u for u in read["figures"]["units"] if u["unit"] == "D2")
    assert (d2["assigned"], d2["solved"]) == (1, 0)
    # the grand visit's series is its own: its 督查通报 of the same office is number 1 too, and its
    # list does not show the campaign's circular
    visit = bi.publish_period(world.users["county"], world.units["C"], date(2026, 11, 2), date(2026, 11, 8),
                              "circular")
    db.session.commit()
    assert visit.number == 1 and visit.campaign == "visit"
    listed = api("county").get("/bulletins").get_json()["items"]
    assert [i["id"] for i in listed] == [visit.id]
    assert api("county").get(f"/campaigns/visit/circulars/{issue['id']}").status_code == 404


def test_photos_must_be_cases_with_both_and_bad_input_changes_nothing(api, week):
    r = publish(api, date=week["monday"], cases=[week["alley"]["id"]])   # no photo after yet
    assert r.status_code == 422 and "cases" in r.get_json()["errors"]
    assert publish(api, date="上周").status_code == 422
    assert publish(api, date=week["monday"], cases="1").status_code == 422
    assert publish(api, date=week["monday"], signed_by=5).status_code == 422
    assert api("county").get("/campaigns/rectification/circulars").get_json()["items"] == []


def test_who_may_read_and_publish(api, week):
    issue = publish(api, date=week["monday"], cases=[week["market"]["id"]]).get_json()
    path = f"/campaigns/rectification/circulars/{issue['id']}"
    for reader in ("county", "leader"):                     # the issuing office and its leaders
        assert api(reader).get(path).status_code == 200
        assert [i["id"] for i in api(reader).get("/campaigns/rectification/circulars").get_json()["items"]] == \
            [issue["id"]]
    for outsider in ("county12", "dept1", "inspector1", "team1"):   # another county, units below
        assert api(outsider).get(path).status_code == 404, outsider
        assert api(outsider).get("/campaigns/rectification/circulars").get_json()["items"] == []
    for who in ("dept1", "inspector1", "team1", "leader"):
        assert publish(api, who, date="2020-01-01").status_code == 403, who
    assert api("county").get("/campaigns/nonesuch/circulars").status_code == 404


def test_the_pages_and_the_document(app, client, auth, api, week):
    from docx import Document
    auth.login("county")
    page = client.get("/boards/campaign/rectification/circulars")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "创城督查通报" in text and "创城督查整改问题办理平台" in text
    assert "每周一通报上周情况" in text   # the timetable's report day
    r = client.post("/boards/campaign/rectification/circulars",
                    data={"date": week["monday"], "cases": [str(week["market"]["id"])], "signed_by": "王主任"})
    assert r.status_code == 302, r.get_data(as_text=True)
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "创城督查通报" in shown and "整改前" in shown and "整改后" in shown and "退回重改" in shown
    assert "签发：王主任" in shown
    issue = api("county").get("/campaigns/rectification/circulars").get_json()["items"][0]
    again = client.post("/boards/campaign/rectification/circulars", data={"date": week["monday"]})
    assert again.status_code == 409 and "已发布" in again.get_data(as_text=True)

    pair = api("county").get(f"/campaigns/rectification/circulars/{issue['id']}").get_json()
    photo = pair["figures"]["pairs"][0]
    base = f"/boards/campaign/rectification/circulars/{issue['id']}"
    assert client.get(f"{base}/photos/{photo['before']}").mimetype == "image/jpeg"
    alley = api("county").get(f"/cases/{week['alley']['id']}").get_json()["attachments"][0]["id"]
    assert client.get(f"{base}/photos/{alley}").status_code == 404   # not shown in the circular

    r = client.get(f"{base}.docx")
    assert r.status_code == 200 and r.mimetype.endswith("wordprocessingml.document")
    doc = Document(io.BytesIO(r.data))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "创城督查通报" in body and "第1期" in body and "王主任" in body
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert ["1", "住建局", "2", "2", "1", "1", "0", "50.0%"] in cells        # rank, unit, the week's figures
    assert ["2", "环保局", "1", "1", "0", "0", "0", "0.0%"] in cells
    assert ["环境卫生", "2", "3", "1", "1", "0", "50.0%"] in cells            # by kind
    assert len(doc.inline_shapes) == 2    # one pair: before and after
    auth.logout()
    auth.login("dept1")
    assert client.get(base).status_code == 404
    assert client.post("/boards/campaign/rectification/circulars", data={"date": "2020-01-01"}).status_code == 403


def test_the_header_names_the_campaign_a_page_is_about(client, auth, week):
    auth.login("dept1")   # a department works in both campaigns
    assert "创城督查整改问题办理平台" in client.get(f"/cases/{week['alley']['id']}").get_data(as_text=True)
    assert "创城督查整改问题办理平台" in client.get("/boards/campaign/rectification/week").get_data(as_text=True)
    board = client.get("/boards/department").get_data(as_text=True)
    assert "大走访问题办理平台" in board and "创城督查整改问题办理平台" not in board
    auth.logout()
    auth.login("inspector1")   # acts only in the rectification: every page of theirs says so
    assert "创城督查整改问题办理平台" in client.get("/").get_data(as_text=True)


def test_the_timetable_is_read_from_the_campaigns_file(app):
    from casetrack.services.organisation.campaigns import campaigns
    from casetrack.workflow import WorkflowError
    from casetrack.workflow.campaigns import Timetable, _timetable
    rectification = campaigns().get("rectification")
    assert (rectification.timetable.start, rectification.timetable.report_day) == (date(2026, 3, 1), 1)
    assert rectification.circular["zh"] == "创城督查通报"
    monday = Timetable(date(2026, 3, 1), date(2027, 2, 28), 1)
    assert monday.reported_week(date(2026, 12, 7)) == date(2026, 11, 30)   # on the report day: last week
    assert monday.reported_week(date(2026, 12, 6)) == date(2026, 11, 23)   # the day before: the week before
    assert [monday.week_number(d) for d in (date(2026, 2, 23), date(2026, 3, 2), date(2026, 2, 16),
                                            date(2027, 3, 1))] == [1, 2, None, None]
    friday = Timetable(None, None, 5)
    assert friday.reported_week(date(2026, 12, 7)) == date(2026, 11, 27) and friday.week_number(date(2026, 12, 7)) is None
    with pytest.raises(WorkflowError, match="report_day"):
        _timetable("campaigns.x.timetable", {"report_day": 8})
    with pytest.raises(WorkflowError, match="starts after it ends"):
        _timetable("campaigns.x.timetable", {"start": date(2026, 3, 1), "end": date(2026, 1, 1), "report_day": 1})
