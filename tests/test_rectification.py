"""The civilized-city campaign (issue 26) runs beside the grand visit from its own workflow file:
an inspector files a shortfall with a photo at a site, the responsible unit signs, rectifies with
an after-photo, the inspector sends it back (rework, counted) and at last strikes it off with a
photo taken on the spot."""
from __future__ import annotations

import base64
from datetime import datetime, time, timezone
import io

import pytest
from PIL import Image

from casetrack.extensions import db
from tests.factories import add_rectification


def jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "JPEG")
    return out.getvalue()


def b64_photo(colour=(200, 30, 30)) -> dict:
    return {"data": base64.b64encode(jpeg(colour)).decode(), "filename": "现场.jpg"}


def upload(api, case_id, stage="after"):
    return api.client.post(f"/api/v1/cases/{case_id}/attachments", headers=api.headers,
                           data={"file": (io.BytesIO(jpeg((30, 200, 30))), "after.jpg"), "stage": stage},
                           content_type="multipart/form-data")


@pytest.fixture
def sites(app, world, tmp_path):
    app.config.update(ATTACHMENTS="folder", ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    ids = add_rectification(world)
    db.session.commit()
    return ids


def problem(sites, **extra) -> dict:
    return {"campaign": "rectification", "title": "市场门口垃圾堆放", "category": "sanitation",
            "kind": "individual", "target": sites["market"], "photos": [b64_photo()], **extra}


def fire(api, case, trigger, **fields):
    r = api.post(f"/cases/{case['id']}/transitions", json={"trigger": trigger, "version": case["version"], **fields})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_campaigns_are_listed_with_their_workflows(api, sites):
    r = api("leader").get("/campaigns")
    assert r.status_code == 200
    items = {c["code"]: c for c in r.get_json()["items"]}
    assert items["visit"]["workflow"] == "campaign" and items["visit"]["default"]
    assert items["rectification"]["workflow"] == "rectification"
    assert items["rectification"]["name"] == "创城督查整改"
    assert items["visit"]["mine"] and items["rectification"]["mine"]   # the leader sees both


def test_the_life_of_a_problem_through_the_api_with_rework_counted(api, sites):
    inspector, dept = api("inspector1"), api("dept1")
    r = inspector.post("/cases", json=problem(sites))
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    # held by the site's responsible unit, in the first state, due in a day for sanitation? no: a day to sign
    assert (case["campaign"], case["workflow"], case["state"], case["unit"]) == \
        ("rectification", "rectification", "assigned", "D1")
    assert case["source"] == "inspection" and case["department"] == "D1"
    assert case["state_label"]["zh"] == "待签收"

    shown = dept.get(f"/cases/{case['id']}").get_json()
    assert shown["allowed"] == ["sign", "ask_coordination"]
    assert [a["stage"] for a in shown["attachments"]] == ["before"]
    assert dept.get("/cases?campaign=rectification").get_json()["cases"][0]["id"] == case["id"]
    assert dept.get("/cases?campaign=visit").get_json()["cases"] == []
    assert api("group1").get(f"/cases/{case['id']}").status_code == 404   # not a work group's

    case = fire(dept, case, "sign")
    assert case["state"] == "rectifying"
    refused = dept.post(f"/cases/{case['id']}/transitions",
                        json={"trigger": "ask_check", "version": case["version"], "measures": "已清运"})
    assert refused.status_code == 422 and "photos" in refused.get_json()["errors"]   # no after-photo yet
    assert upload(dept, case["id"]).status_code == 201
    case = fire(dept, case, "ask_check", measures="已清运垃圾并设置果皮箱")
    assert (case["state"], case["unit"]) == ("checking", "I")

    case = fire(inspector, case, "redo", reason="门口仍有垃圾")
    assert (case["state"], case["unit"]) == ("rectifying", "D1")          # back to the unit, counted as rework
    events = dept.get(f"/cases/{case['id']}").get_json()["events"]
    assert [e["data"].get("rework") for e in events if e["trigger"] == "redo"] == [True]

    assert upload(dept, case["id"]).status_code == 201
    case = fire(dept, case, "ask_check", measures="再次清理，安排专人值守")
    refused = inspector.post(f"/cases/{case['id']}/transitions", json={"trigger": "strike_off", "version": case["version"]})
    assert refused.status_code == 422                                      # the inspector's own photo first
    assert upload(inspector, case["id"]).status_code == 201
    case = fire(inspector, case, "strike_off")
    assert case["state"] == "cleared" and case["state_label"]["zh"] == "已销号"
    assert api("county").get("/cases?campaign=rectification&state=cleared").get_json()["cases"][0]["id"] == case["id"]


def test_filing_needs_a_photo_a_site_of_the_county_and_a_category_of_the_campaign(api, sites):
    inspector = api("inspector1")
    cases = [
        (problem(sites, photos=[]), "photos"),
        ({k: v for k, v in problem(sites).items() if k != "target"}, "target"),
        (problem(sites, target=sites["far"]), "target"),              # another county's site
        (problem(sites, category="land"), "category"),                # a grand-visit category
        (problem(sites, photos=[{"data": "不是图片"}]), "photos"),
        (problem(sites, campaign="nonesuch"), "campaign"),
    ]
    for body, field in cases:
        r = inspector.post("/cases", json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"], (field, r.get_json())
    assert api("county").get("/cases?campaign=rectification").get_json()["cases"] == []
    assert api("group1").post("/cases", json=problem(sites)).status_code == 403   # a work group does not inspect


def test_the_inspector_names_another_unit_and_the_deadline_follows_the_category(api, sites):
    r = api("inspector1").post("/cases", json=problem(sites, department="D2", category="overhead_wires"))
    case = r.get_json()
    assert (case["unit"], case["department"]) == ("D2", "D2")
    signed = fire(api("dept2"), case, "sign")
    from casetrack.services.workdays.calendar import add_working_days, today
    assert signed["deadline"] == add_working_days(today(), 15).isoformat()   # 空中飞线: 15 working days


def test_a_unit_asks_for_coordination_and_the_office_brings_in_another(api, sites):
    case = api("inspector1").post("/cases", json=problem(sites)).get_json()
    case = fire(api("dept1"), case, "ask_coordination", reason="涉及环保局执法")
    assert (case["state"], case["unit"]) == ("coordinating", "C")
    case = fire(api("county"), case, "coordinate", department="D1", departments=["D2"])
    assert (case["state"], case["unit"]) == ("assigned", "D1")
    assert api("dept2").get(f"/cases/{case['id']}").get_json()["assisting"] == ["D2"]


def test_sites_are_the_targets_of_the_rectification_campaign(api, sites):
    county = api("county").get("/targets?campaign=rectification").get_json()["targets"]
    assert sorted(t["name"] for t in county) == ["人民公园公厕", "城东农贸市场", "解放路背街小巷"]
    assert all(t["campaign"] == "rectification" for t in county)
    assert [t["name"] for t in api("dept2").get("/targets?campaign=rectification").get_json()["targets"]] == ["人民公园公厕"]
    visit = api("county").get("/targets").get_json()["targets"]
    assert all(t["campaign"] == "visit" for t in visit)
    assert api("county").get("/targets?campaign=nonesuch").status_code == 422


def test_the_inspector_files_from_the_page_with_a_photo_and_the_list_takes_the_campaign(app, client, auth, sites):
    app.config["WTF_CSRF_ENABLED"] = False
    auth.login("inspector1")
    page = client.get("/cases/new").get_data(as_text=True)
    assert "创城督查整改" in page and "点位" in page and "城东农贸市场" in page
    assert "南湖农贸市场" not in page                      # another county's site
    form = {"target": str(sites["alley"]), "category": "sanitation", "title": "小巷垃圾未清运",
            "description": "", "department": "", "kind": "individual"}
    refused = client.post("/cases/new", data=form, content_type="multipart/form-data")
    assert refused.status_code == 422 and "照片" in refused.get_data(as_text=True)
    r = client.post("/cases/new", data={**form, "photos": (io.BytesIO(jpeg()), "before.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "待签收" in shown and "住建局" in shown
    auth.logout()
    auth.login("leader")
    listed = client.get("/cases?campaign=rectification").get_data(as_text=True)
    assert "小巷垃圾未清运" in listed and "全部活动" in listed
    assert "小巷垃圾未清运" not in client.get("/cases?campaign=visit").get_data(as_text=True)


def test_the_demo_runs_both_campaigns_side_by_side(app, tmp_path):
    from sqlalchemy import func, select

    from casetrack.models import Attachment, Case, CaseEvent, Target, User
    from casetrack.services.organisation.campaigns import campaigns_of
    from casetrack.services.dataset.demo import DemoCounty, load_demo
    app.config.update(ATTACHMENTS="folder", ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    assert load_demo("demo", DemoCounty(teams=2, groups=13, members_per_group=1, departments=3,
                                        targets_per_group=2, cases=20))
    db.session.commit()
    by_campaign = dict(db.session.execute(select(Case.campaign, func.count()).group_by(Case.campaign)).all())
    assert by_campaign["visit"] >= 20 and 30 <= by_campaign["rectification"] <= 80
    from casetrack.models import SiteInspection
    inspections = db.session.scalars(select(SiteInspection)).all()
    assert len(inspections) == 40
    assert sum(len(i.cases) for i in inspections) == by_campaign["rectification"]   # one per failed item
    assert all(set(i.cases) == {k for k, ok in i.results.items() if not ok} for i in inspections)
    states = set(db.session.scalars(select(Case.state).where(Case.campaign == "rectification")))
    assert {"assigned", "rectifying", "checking", "cleared"} <= states
    redone = db.session.scalars(select(CaseEvent).where(CaseEvent.trigger == "redo")).all()
    assert redone and all(e.data.get("rework") for e in redone)
    cleared = db.session.scalars(select(Case).where(Case.state == "cleared")).first()
    stages = db.session.scalars(select(Attachment.stage).where(Attachment.case_id == cleared.id)).all()
    assert stages.count("before") == 1 and stages.count("after") >= 2      # the unit's and the inspector's
    assert db.session.scalar(select(func.count()).where(Target.campaign == "rectification")) == 30
    from casetrack.models import CampaignPair
    communities = set(db.session.scalars(select(Target.village).where(Target.campaign == "rectification")))
    assert set(db.session.scalars(select(CampaignPair.community))) == communities   # every one paired
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(
        ["inspector", "leader", "dept01", "group001"])))}
    assert (users["inspector"].role, users["inspector"].unit.kind) == ("inspector", "inspection")
    assert [c.code for c in campaigns_of(users["leader"])] == ["visit", "rectification"]
    assert [c.code for c in campaigns_of(users["dept01"])] == ["visit", "rectification"]
    assert [c.code for c in campaigns_of(users["group001"])] == ["visit"]
    from casetrack.models import DailyFeedback
    from casetrack.services.casework.daily import feedback_day
    from casetrack.services.organisation.campaigns import campaigns
    assert db.session.scalar(select(func.count(DailyFeedback.id)))   # today's daily feedback of some units
    day = feedback_day(db.session.scalars(select(User).where(User.username == "county")).one(),
                       campaigns().get("rectification"))
    assert day.reported and all(u.missing == 0 for u in day.reported)
    from casetrack.models import Bulletin
    issues = {(b.campaign, b.type): b for b in db.session.scalars(select(Bulletin))}
    assert set(issues) == {("visit", "briefing"), ("rectification", "circular")}   # last week's, published
    assert all(b.number == 1 and b.published_at for b in issues.values())
    assert len(issues["rectification", "circular"].figures["pairs"]) == 2   # photos before and after


def test_the_sweep_takes_the_campaign(api, sites, runner):
    import json

    from casetrack.services.workdays import calendar
    from casetrack.services.workdays.calendar import add_working_days, today
    case = api("inspector1").post("/cases", json=problem(sites)).get_json()   # a day to sign for it
    later = add_working_days(today(), 3)
    with calendar.at(datetime.combine(later, time(10), timezone.utc)):
        visit_only = runner.invoke(args=["sweep", "--campaign", "visit"])
        assert visit_only.exit_code == 0 and json.loads(visit_only.output)["overdue"] == 0
        swept = runner.invoke(args=["sweep", "--campaign", "rectification"])
        assert json.loads(swept.output)["overdue"] == 1
    assert api("dept1").get(f"/cases/{case['id']}").get_json()["events"][-1]["trigger"] == "overdue"
    unknown = runner.invoke(args=["sweep", "--campaign", "nonesuch"])
    assert unknown.exit_code != 0 and "nonesuch" in unknown.output


def test_the_campaign_board_counts_by_state_and_by_the_unit_holding_them(app, client, auth, api, sites, world):
    from casetrack.models import CampaignUnit
    case = api("inspector1").post("/cases", json=problem(sites)).get_json()
    api("inspector1").post("/cases", json=problem(sites, target=sites["toilet"]))
    fire(api("dept1"), case, "sign")
    db.session.add_all([CampaignUnit(campaign="rectification", unit_id=world.units[c].id) for c in ("I", "D1", "D2")])
    db.session.commit()
    auth.login("county")
    page = client.get("/boards/campaign/rectification").get_data(as_text=True)
    assert "创城督查整改" in page and "各单位未办结问题" in page
    assert 'data-unit="D1"' in page and 'data-unit="D2"' in page
    auth.logout()
    auth.login("dept2")
    page = client.get("/boards/campaign/rectification").get_data(as_text=True)
    assert "待签收" in page and "各单位未办结问题" not in page      # its own cases, no table of units
    assert "创城督查整改" in client.get("/boards/department").get_data(as_text=True)
    auth.logout()
    auth.login("group1")                                             # a work group does not take part
    assert client.get("/boards/campaign/rectification").status_code == 403
    assert client.get("/boards/campaign/nonesuch").status_code == 404
    group = api("group1")   # the campaign's own endpoints answer alike: 403, or 404 for none of that code
    for path in ("circulars", "feedback"):
        assert group.get(f"/campaigns/rectification/{path}").status_code == 403, path
        assert "没有参加" in group.get(f"/campaigns/rectification/{path}").get_json()["message"]
        assert group.get(f"/campaigns/nonesuch/{path}").status_code == 404, path
    assert group.post("/campaigns/rectification/feedback", json={"items": []}).status_code == 403


def walk_to_cleared(api, case, redo: bool):
    dept, inspector = api("dept1"), api("inspector1")
    case = fire(dept, case, "sign")
    upload(dept, case["id"])
    case = fire(dept, case, "ask_check", measures="已清理")
    if redo:
        case = fire(inspector, case, "redo", reason="仍不达标")
        upload(dept, case["id"])
        case = fire(dept, case, "ask_check", measures="再次清理")
    upload(inspector, case["id"])
    return fire(inspector, case, "strike_off")


def test_the_week_by_responsible_unit_counts_rework_and_ranks_the_units(app, client, auth, api, sites):
    inspector = api("inspector1")
    walk_to_cleared(api, inspector.post("/cases", json=problem(sites)).get_json(), redo=True)
    inspector.post("/cases", json=problem(sites, title="小巷墙面小广告", category="back_alley", target=sites["alley"]))
    inspector.post("/cases", json=problem(sites, target=sites["toilet"]))
    week = api("county").get("/campaigns/rectification/week").get_json()
    rows = {r["unit"]: r for r in week["units"]}
    assert {k: rows["D1"][k] for k in ("assigned", "rectified", "solved", "rank", "rate")} == \
        {"assigned": 2, "rectified": 2, "solved": 1, "rank": 1, "rate": 0.5}
    assert rows["D1"]["flags"] == {"rework": 1} and week["flags"]["rework"]["zh"] == "退回重改"
    assert (rows["D2"]["assigned"], rows["D2"]["solved"], rows["D2"]["rate"], rows["D2"]["rank"]) == (1, 0, 0.0, 2)
    assert [(s["name"], s["problems"]) for s in week["sites"]] == [
        ("城东农贸市场", 1), ("解放路背街小巷", 1), ("人民公园公厕", 1)]   # most problems first, then in site order
    assert [r["unit"] for r in api("dept2").get("/campaigns/rectification/week").get_json()["units"]] == ["D2"]
    last_week = api("county").get("/campaigns/rectification/week?date=2020-01-01").get_json()
    assert last_week["units"] == [] and last_week["from"] == "2019-12-30"
    assert api("county").get("/campaigns/rectification/week?date=昨天").status_code == 422
    assert api("county").get("/campaigns/nonesuch/week").status_code == 404
    auth.login("county")
    page = client.get("/boards/campaign/rectification/week").get_data(as_text=True)
    assert "各责任单位整改情况" in page and "退回重改" in page and "50%" in page


def test_a_unit_rectifying_owes_a_daily_report_and_the_sweep_names_who_has_not(api, sites, runner):
    import json

    from casetrack.services.workdays import calendar
    from casetrack.services.workdays.calendar import add_working_days, today
    case = api("inspector1").post("/cases", json=problem(sites, category="overhead_wires")).get_json()
    fire(api("dept1"), case, "sign")
    with calendar.at(datetime.combine(add_working_days(today(), 2), time(10), timezone.utc)):
        swept = runner.invoke(args=["sweep", "--campaign", "rectification"])
    assert json.loads(swept.output).get("report_late") == 1


def test_an_inspection_ticks_the_checklist_and_files_one_problem_per_failed_item(api, sites):
    inspector = api("inspector1")
    checklist = {c["code"]: c for c in inspector.get("/campaigns").get_json()["items"]
                 if c["code"] == "rectification"}["rectification"]["checklists"]["farm_market"]
    assert [i["code"] for i in checklist] == ["clean", "stalls", "wires", "posters"]
    results = {"clean": "fail", "stalls": "pass", "wires": "fail", "posters": "pass"}
    missing = inspector.post("/inspections", json={"campaign": "rectification", "site": sites["market"],
                                                   "results": results})
    assert missing.status_code == 422 and "problems.clean.photos" in missing.get_json()["errors"]
    for site in (True, "1e3", -1, 2**70, "城东农贸市场"):
        bad = inspector.post("/inspections", json={"campaign": "rectification", "site": site, "results": results})
        assert bad.status_code == 422 and "site" in bad.get_json()["errors"], site
    half = inspector.post("/inspections", json={"campaign": "rectification", "site": sites["market"],
                                                "results": {"clean": "fail"}})
    assert half.status_code == 422 and "results.stalls" in half.get_json()["errors"]
    assert api("county").get("/cases?campaign=rectification").get_json()["cases"] == []   # nothing half-filed
    r = inspector.post("/inspections", json={
        "campaign": "rectification", "site": sites["market"], "results": results,
        "problems": {"clean": {"photos": [b64_photo()]},
                     "wires": {"photos": [b64_photo()], "department": "D2", "title": "市场东门空中飞线杂乱"}}})
    assert r.status_code == 201, r.get_json()
    done = r.get_json()
    assert done["results"] == {"clean": False, "stalls": True, "wires": False, "posters": True}
    assert set(done["cases"]) == {"clean", "wires"}
    clean = api("dept1").get(f"/cases/{done['cases']['clean']}").get_json()
    assert (clean["title"], clean["category"], clean["unit"]) == ("城东农贸市场：地面干净、垃圾及时清运不达标", "sanitation", "D1")
    wires = api("dept2").get(f"/cases/{done['cases']['wires']}").get_json()
    assert (wires["title"], wires["category"], wires["unit"]) == ("市场东门空中飞线杂乱", "overhead_wires", "D2")
    assert api("group1").post("/inspections", json={"campaign": "rectification", "site": sites["market"],
                                                     "results": results}).status_code == 422   # no site of theirs


def test_the_inspector_ticks_a_site_on_the_page(app, client, auth, api, sites):
    auth.login("inspector1")
    page = client.get(f"/inspections/new?site={sites['alley']}").get_data(as_text=True)
    assert "点位督查" in page and "路面平整、墙面无乱贴乱画" in page and "达标" in page
    form = {"result_clean": "pass", "result_road": "fail", "result_wires": "pass", "title_road": "墙面小广告"}
    refused = client.post(f"/inspections/new?site={sites['alley']}", data=form, content_type="multipart/form-data")
    assert refused.status_code == 422 and "照片" in refused.get_data(as_text=True)
    r = client.post(f"/inspections/new?site={sites['alley']}",
                    data={**form, "photos_road": (io.BytesIO(jpeg()), "road.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 302
    assert "交办问题 1 个" in client.get(r.headers["Location"]).get_data(as_text=True)
    filed = api("dept1").get("/cases?campaign=rectification").get_json()["cases"]
    assert [(c["title"], c["category"]) for c in filed] == [("墙面小广告", "back_alley")]
    auth.logout()
    auth.login("group1")
    assert client.get("/inspections/new").status_code == 403     # the grand visit inspects no sites


def test_the_unit_asks_for_more_days_and_the_office_grants_them(api, sites):
    from casetrack.services.workdays.calendar import add_working_days, today
    case = api("inspector1").post("/cases", json=problem(sites, category="compound")).get_json()
    case = fire(api("dept1"), case, "sign")
    assert case["deadline"] == add_working_days(today(), 10).isoformat()       # 小区治理: 10 working days
    r = api("dept1").post(f"/cases/{case['id']}/extensions", json={"days": 5, "reason": "需业委会表决"})
    assert r.status_code == 201, r.get_json()
    decided = api("county").post(f"/extensions/{r.get_json()['id']}/decision", json={"approve": True})
    assert decided.status_code == 200
    assert api("dept1").get(f"/cases/{case['id']}").get_json()["deadline"] == add_working_days(today(), 15).isoformat()
    assert api("inspector1").post(f"/cases/{case['id']}/extensions",
                                  json={"days": 5, "reason": "x"}).status_code == 403   # the inspector does not hold it


def test_the_office_pairs_units_with_a_community_and_the_week_names_them(api, sites):
    county = api("county")

    def put(who, body):
        client = api(who)
        return client.client.put("/api/v1/campaigns/rectification/pairs", headers=client.headers, json=body)
    r = put("county", {"community": "解放社区", "units": ["D2", "T1"]})
    assert r.status_code == 200, r.get_json()
    assert put("dept1", {"community": "城东社区", "units": ["D1"]}).status_code == 403
    assert put("county", {"community": "城东社区", "units": ["D13"]}).status_code == 422   # another county's unit
    assert county.get("/campaigns/rectification/pairs").get_json()["items"] == [
        {"community": "解放社区", "units": ["D2", "T1"]}]
    assert api("county12").get("/campaigns/rectification/pairs").get_json()["items"] == []
    api("inspector1").post("/cases", json=problem(sites, target=sites["alley"]))
    week = county.get("/campaigns/rectification/week").get_json()
    assert week["communities"] == [{"community": "解放社区", "paired": ["D2", "T1"],
                                    "paired_names": ["环保局", "东山镇工作队"], "problems": 1}]
