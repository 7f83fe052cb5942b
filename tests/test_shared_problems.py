"""Shared problems (共性问题): link, resolve through the parent, unlink; detection proposals."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from casetrack.extensions import db
from casetrack.services.workdays import calendar
from casetrack.services.casework.shared import ngrams, similarity, village_of

WATER = [("G1", "村东头自来水管破裂，停水三天", "自来水管道老化破裂，全组停水"),
         ("G2", "自来水管道破裂，村里停水多日", "水管破裂后一直没有人来修，停水"),
         ("G1", "自来水管破裂漏水，群众停水", "水管破裂，村民吃水困难")]


def file(world, group: str, title: str, description: str = "", category: str = "infrastructure",
         address: str = "") -> int:
    user = {"G1": "group1", "G2": "group2", "G3": "group3"}[group]
    case = world.file(user, title=title, description=description, category=category,
                      resident={"name": "村民", "phone": "", "address": address})
    db.session.commit()
    return case.id


def test_link_resolve_through_the_parent(world, api):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    r = api("team1").post("/shared-problems", json={"title": "王家片区自来水管网老化", "cases": ids})
    assert r.status_code == 201, r.get_json()
    parent = r.get_json()
    assert (parent["state"], parent["unit"], parent["kind"]) == ("team", "T1", "shared")
    assert [m["id"] for m in parent["members"]] == ids
    member = api("group1").get(f"/cases/{ids[0]}").get_json()
    assert member["parent"]["id"] == parent["id"] and member["parent"]["state"] == "team"
    assert member["paused"] is True and member["events"][-1]["trigger"] == "link"

    r = api("team1").post(f"/cases/{parent['id']}/transitions",
                          json={"trigger": "resolve", "version": parent["version"],
                                "resolution": "更换主管道2公里", "funds": "12.5"})
    assert r.status_code == 200, r.get_json()
    for case_id in ids:
        body = api("county").get(f"/cases/{case_id}").get_json()
        assert body["state"] == "resolved" and body["funds"] is None  # the money counts once
        assert body["parent"]["state"] == "resolved"
        resolve = body["events"][-1]
        assert (resolve["trigger"], resolve["actor"]) == ("resolve", None)
        assert resolve["data"]["resolution"] == "更换主管道2公里"
        assert "verify" in body["allowed"]  # each reporter still gets a call-back
    r = api("team1").post(f"/shared-problems/{parent['id']}/unlink", json={"case": ids[0]})
    assert r.status_code == 409


def test_unlink_before_the_parent_is_resolved(world, api):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    parent = api("team1").post("/shared-problems", json={"title": "水管", "cases": ids}).get_json()
    r = api("team1").post(f"/shared-problems/{parent['id']}/unlink", json={"case": ids[1]})
    assert r.status_code == 200, r.get_json()
    assert [m["id"] for m in r.get_json()["members"]] == [ids[0], ids[2]]
    body = api("group2").get(f"/cases/{ids[1]}").get_json()
    assert body["parent"] is None and body["paused"] is False
    r = api("team1").post(f"/shared-problems/{parent['id']}/unlink", json={"case": ids[1]})
    assert r.status_code == 422


def test_who_may_link_and_what(world, api):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    other_team = file(world, "G3", "自来水管破裂")
    assert api("group1").post("/shared-problems", json={"title": "x", "cases": ids}).status_code == 403
    r = api("team1").post("/shared-problems", json={"title": "x", "cases": ids[:1]})
    assert r.status_code == 422 and "cases" in r.get_json()["errors"]
    r = api("team1").post("/shared-problems", json={"title": "x", "cases": ids + [other_team]})
    assert r.status_code == 404
    assert api("team1").post("/shared-problems", json={"title": "x", "cases": ids}).status_code == 201
    r = api("team1").post("/shared-problems", json={"title": "again", "cases": ids})
    assert r.status_code == 422
    # the county office links across teams
    fresh = [file(world, "G1", "路灯坏了"), other_team]
    r = api("county").post("/shared-problems", json={"title": "路灯", "cases": fresh})
    assert r.status_code == 201 and r.get_json()["state"] == "county"


def test_detection_proposes_similar_chinese_reports_from_two_groups(world, api):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    file(world, "G2", "低保申请三个月没有批复", category="social_security")
    file(world, "G1", "村小学门口没有红绿灯", "学生上学过马路危险")  # same category, other text
    file(world, "G2", "村里道路破损没有人来修", "雨天积水")  # shares a phrase, not the problem
    [proposal] = api("team1").get("/shared-problems/proposals").get_json()["proposals"]
    assert sorted(proposal["cases"]) == ids
    assert proposal["groups"] == ["G1", "G2"] and proposal["category"] == "infrastructure"
    assert {r["rule"] for r in proposal["reasons"]} == {"text"}
    assert "内容相近" in proposal["why"]   # in the reader's language
    assert api("group1").get("/shared-problems/proposals").status_code == 403


def test_detection_by_village_and_what_does_not_match(world, api):
    same_village = [file(world, g, t, address="东山镇王家村3组")
                    for g, t in [("G1", "桥面裂缝"), ("G2", "排水沟堵塞"), ("G2", "路灯不亮")]]
    [proposal] = api("team1").get("/shared-problems/proposals").get_json()["proposals"]
    assert sorted(proposal["cases"]) == same_village
    assert "王家村" in proposal["why"] and proposal["title"].startswith("王家村")


def test_no_proposal_from_one_group_alone_or_outside_the_window(world, api):
    for title, desc in [(t, d) for _g, t, d in WATER]:
        file(world, "G1", title, desc)  # three similar reports, but one group
    assert api("team1").get("/shared-problems/proposals").get_json()["proposals"] == []
    with calendar.at(datetime.now(timezone.utc) - timedelta(days=40)):
        file(world, "G2", WATER[1][1], WATER[1][2])  # similar, other group, but too old
    assert api("team1").get("/shared-problems/proposals").get_json()["proposals"] == []


def test_proposals_respect_scope_and_linked_cases(world, api):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    assert api("team2").get("/shared-problems/proposals").get_json()["proposals"] == []
    assert len(api("county").get("/shared-problems/proposals").get_json()["proposals"]) == 1
    api("team1").post("/shared-problems", json={"title": "水管", "cases": ids[:2]})
    assert api("team1").get("/shared-problems/proposals").get_json()["proposals"] == []


def test_text_helpers_on_chinese():
    a = ngrams("自来水管破裂，停水三天", 2)
    assert "自来" in a and "，停" not in a
    assert similarity(a, ngrams("自来水管道破裂，村里停水", 2)) > 0.3
    assert similarity(a, ngrams("低保申请没有批复", 2)) == 0
    assert village_of(None, "东山镇王家村3组") == "王家村"
    assert village_of("李家村", "东山镇王家村") == "李家村"
    assert village_of(None, "王家组3号") == ""


def test_a_team_leader_links_a_proposal_from_the_page_and_unlinks(world, auth, client):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    auth.login("team1")
    html = client.get("/shared-problems/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "alike in wording to case" in html and all(f'value="{i}"' in html for i in ids)
    r = client.post("/shared-problems/", data={"title": "自来水管网改造", "cases": [str(i) for i in ids]})
    assert r.status_code == 302
    parent_id = int(r.headers["Location"].rsplit("/", 1)[1])
    html = client.get(f"/cases/{parent_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Cases of this shared problem" in html and "Unlink" in html
    client.post(f"/shared-problems/{parent_id}/unlink/{ids[0]}")
    html = client.get(f"/cases/{ids[0]}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Part of the shared problem" not in html
    html = client.get(f"/cases/{ids[1]}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Part of the shared problem" in html and "自来水管网改造" in html
    auth.logout()
    auth.login("group1")
    assert client.get("/shared-problems/").status_code == 403


def test_a_shared_problem_shows_each_member_only_to_who_may_see_it(world, api, auth, client):
    """The parent lives at the level that linked it; a member case is shown only to a user who
    may see that case on its own (its resident's name and phone above all)."""
    g1 = world.file("group1", title="村道坑洼", category="infrastructure",
                    resident={"name": "王一", "phone": "13800000001", "address": "王家村"}).id
    g2 = world.file("group2", title="村道坑洼积水", category="infrastructure",
                    resident={"name": "李二", "phone": "13900000002", "address": "李家村"}).id
    g3 = world.file("group3", title="村道坑洼难行", category="infrastructure",
                    resident={"name": "赵三", "phone": "13700000003", "address": "赵家村"}).id
    db.session.commit()
    team = api("team1").post("/shared-problems", json={"title": "东山片区村道", "cases": [g1, g2]}).get_json()
    assert (team["group"], team["members_total"]) == ("T1", 2)
    county = api("county").post("/shared-problems", json={"title": "全县村道", "cases": [g3, g2 + 0]})
    assert county.status_code == 422  # g2 is already linked
    county = api("county").post("/shared-problems", json={"title": "全县村道", "cases": [g3, world.file(
        "group1", title="村道塌方", category="infrastructure",
        resident={"name": "王四", "phone": "13600000004", "address": "王家村"}).id]}).get_json()
    assert county["group"] == "C"
    for parent in (team, county):
        for user in ("group1", "group2", "group3"):
            assert api(user).get(f"/shared-problems/{parent['id']}").status_code == 404
            assert api(user).get(f"/cases/{parent['id']}").status_code == 404
    assert api("team1").get(f"/shared-problems/{county['id']}").status_code == 404
    assert api("team2").get(f"/shared-problems/{county['id']}").status_code == 404
    seen = api("county").get(f"/shared-problems/{county['id']}").get_json()
    assert [m["id"] for m in seen["members"]] == [g3, county["members"][1]["id"]]

    auth.login("group1")
    html = client.get(f"/cases/{g1}").get_data(as_text=True)
    assert "东山片区村道" in html and f'href="/cases/{team["id"]}"' not in html
    assert client.get(f"/cases/{team['id']}").status_code == 404
    for leaked in ("李二", "13900000002", "赵三", "13700000003"):
        assert leaked not in html
    auth.logout()
    auth.login("team1")
    html = client.get(f"/cases/{team['id']}").get_data(as_text=True)
    assert "李二" not in html and f'href="/cases/{g2}"' in html and f'href="/cases/{g1}"' in html


def test_members_a_viewer_may_not_see_are_counted_not_shown(world, api, auth, client):
    ids = [file(world, g, t, d) for g, t, d in WATER]
    parent = api("team1").post("/shared-problems", json={"title": "水管", "cases": ids}).get_json()
    r = api("team1").post(f"/cases/{parent['id']}/transitions", json={
        "trigger": "send_back", "version": parent["version"], "reason": "请王家村组牵头", "group": "G1"})
    assert r.status_code == 200, r.get_json()
    held = api("group1").get(f"/shared-problems/{parent['id']}").get_json()
    assert [m["id"] for m in held["members"]] == [ids[0], ids[2]] and held["members_total"] == 3
    auth.login("group1")
    html = client.get(f"/cases/{parent['id']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "1 more case, of another unit, is not shown to you." in html and f'href="/cases/{ids[1]}"' not in html


def test_the_proposals_page_speaks_the_office_s_words_and_pages(world, auth, client, app):
    """A candidate reads as a heading (category, how many, from which groups), each case by its
    title with why it joined (a percentage), every box with its own label; five to a page."""
    codes = ["infrastructure", "environment", "housing", "education", "employment", "land"]
    clusters = {code: [file(world, g, t, d, category=code) for g, t, d in WATER] for code in codes}
    auth.login("county")
    html = client.get("/shared-problems/").get_data(as_text=True)
    assert "Dice" not in html and "~#" not in html
    assert re.search(r"<h2>[^<]*类 · 3 个未办结问题 · 来自 G1 等 2 个工作组</h2>", html)
    assert re.search(r"与问题 \d+ 内容相似度 \d+%", html)
    assert "村东头自来水管破裂，停水三天</a>" in html
    boxes = re.findall(r'<input type="checkbox" name="cases" value="(\d+)" id="([^"]+)" checked>', html)
    assert len(boxes) == 15 and all(f'<label for="{box_id}">' in html for _v, box_id in boxes)
    shown = {int(v) for v, _id in boxes}
    assert 'rel="next"' in html and "共 6 条" in html
    more = re.search(r'<a class="button" rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    rest = client.get(more).get_data(as_text=True)
    second = {int(v) for v in re.findall(r'name="cases" value="(\d+)"', rest)}
    assert len(second) == 3 and not second & shown and 'rel="next"' not in rest
    assert shown | second == {i for ids in clusters.values() for i in ids}
    assert client.get("/shared-problems/?after=x").status_code == 400
