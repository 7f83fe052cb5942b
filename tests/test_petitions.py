"""Petitions (信访): receptions filed as cases in one step, cases taken down to the grass roots,
long-standing petition cases owned by a leader (workflows/petition.yaml), the bulletin's counts.

The petition workflow's states and triggers are read from its file, never written here: the
journey follows the file's transitions by what they do (name an owner, report in place, resolve
with or without the signed statement, strike off)."""
from __future__ import annotations

from datetime import timedelta

from casetrack.extensions import db
from casetrack.services.reports.bulletin import bulletin
from casetrack.services.workdays.calendar import today
from casetrack.services.casework.cases import registry
from tests.helpers import FUTURE

TODAY = today().isoformat()


def petition_flow():
    """The petition workflow and its transitions by role in the journey."""
    wf = registry().latest("petition")
    first = wf.filing_states["individual"]
    assign = next(t for t in wf.transitions_from(first) if any(wf.fields[f].type == "user" for f in t.required))
    owned = assign.dest
    report = next(t for t in wf.transitions_from(owned) if t.dest == owned and not t.when)
    keep_open = next(t for t in wf.transitions_from(owned) if t.when and t.dest == owned)
    settle = next(t for t in wf.transitions_from(owned) if t.when and t.dest != owned)
    strike = next(t for t in wf.transitions_from(settle.dest) if wf.states[t.dest].final)
    return wf, first, assign, report, keep_open, settle, strike


def fields(wf, spec, **given):
    values = {}
    for name in spec.required:
        ftype = wf.fields[name].type
        values[name] = {"text": "已约谈信访人", "date": FUTURE, "user": "team1"}.get(ftype)
        if ftype == "bool":
            values[name] = spec.when[name]
    return {**values, **given}


def register(token, title="王某某反映征地补偿款长期未兑现"):
    r = token.post("/cases", json={"title": title, "category": "petition", "kind": "individual",
                                   "workflow": "petition",
                                   "resident": {"name": "王某某", "phone": "13900000001"}})
    assert r.status_code == 201, r.json
    return r.json


def fire_api(token, case, spec, wf, **given):
    return token.post(f"/cases/{case['id']}/transitions",
                      json={"trigger": spec.trigger, "version": case["version"], **fields(wf, spec, **given)})


def test_a_petition_case_is_registered_owned_resolved_and_struck_off(app, api, world):
    wf, first, assign, report, keep_open, settle, strike = petition_flow()
    county, team1, team2, group1 = api("county"), api("team1"), api("team2"), api("group1")
    assert group1.post("/cases", json={"title": "x", "category": "petition", "kind": "individual",
                                       "workflow": "petition"}).status_code == 403
    case = register(county)
    assert (case["state"], case["unit"], case["source"], case["owner"]) == (first, "C", "petition", None)
    assert team1.get(f"/cases/{case['id']}").status_code == 404       # no owner yet: not team1's

    # the owner must be a user of a role the file names, of the case's county
    for wrong in ("group1", "county12", "nobody"):
        r = fire_api(county, case, assign, wf, owner=wrong)
        assert r.status_code == 422 and "owner" in r.json["errors"], wrong
    r = fire_api(county, case, assign, wf)
    assert r.status_code == 200, r.json
    case = r.json
    assert (case["state"], case["owner"], case["deadline"]) == (assign.dest, "team1", FUTURE)
    assert case["allowed"] == []                                        # the owner acts now, not the office
    assert fire_api(county, case, report, wf).status_code == 403
    assert team2.get(f"/cases/{case['id']}").status_code == 404

    seen = team1.get(f"/cases/{case['id']}")
    assert seen.status_code == 200
    assert set(seen.json["allowed"]) == {report.trigger, settle.trigger}
    case = fire_api(team1, case, report, wf, note="已召开协调会").json
    assert (case["state"], case["deadline"]) == (assign.dest, FUTURE)  # a note keeps the deadline
    case = fire_api(team1, case, keep_open, wf, statement="信访人不同意化解方案").json
    assert case["state"] == assign.dest                                 # kept open
    r = fire_api(team1, case, settle, wf, statement="信访人签订息访息诉承诺书")
    assert r.status_code == 200, r.json
    case = r.json
    assert case["state"] == settle.dest
    assert fire_api(team1, case, strike, wf).status_code == 403          # the office strikes it off
    case = fire_api(county, case, strike, wf).json
    assert wf.states[case["state"]].final
    events = county.get(f"/cases/{case['id']}").json["events"]
    assert [e["trigger"] for e in events] == ["file", assign.trigger, report.trigger, keep_open.trigger,
                                             settle.trigger, strike.trigger]
    assert events[1]["data"]["owner"] == "team1"


def test_a_leader_owns_a_petition_case_and_moves_no_other(app, api, world):
    """A leader (县领导, issue 23) reads the county's cases and never moves them, but for the
    petition cases named as its own (包案): there it acts as their owner."""
    wf, first, assign, report, keep_open, settle, strike = petition_flow()
    county, leader = api("county"), api("leader")
    case = register(county, "孙某某反映拆迁补偿标准不一")
    seen = leader.get(f"/cases/{case['id']}")
    assert seen.status_code == 200 and seen.json["allowed"] == []       # the office's unit, not the leader's to move
    case = fire_api(county, case, assign, wf, owner="leader").json
    assert case["owner"] == "leader"
    assert set(leader.get(f"/cases/{case['id']}").json["allowed"]) == {report.trigger, settle.trigger}
    r = fire_api(leader, case, settle, wf, statement="信访人签订息访息诉承诺书")
    assert r.status_code == 200, r.json
    case = r.json
    assert case["state"] == settle.dest and leader.get(f"/cases/{case['id']}").json["allowed"] == []
    assert fire_api(leader, case, strike, wf).status_code == 403         # the office strikes it off


def test_the_owner_has_a_page_of_its_cases(app, client, auth, api, world):
    wf, _first, assign, *_rest = petition_flow()
    county = api("county")
    case = register(county, "李某某反映宅基地纠纷多年未解决")
    fire_api(county, case, assign, wf)
    other = register(county, "赵某某反映企业改制安置问题")
    auth.login("team1")
    page = client.get("/petitions/mine").get_data(as_text=True)
    assert "李某某反映宅基地纠纷多年未解决" in page and "赵某某反映企业改制安置问题" not in page
    shown = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f'data-trigger="{next(t for t in wf.transitions_from(assign.dest)).trigger}"' in shown
    assert client.get(f"/cases/{other['id']}").status_code == 404
    auth.logout()
    auth.login("team2")
    assert "李某某" not in client.get("/petitions/mine").get_data(as_text=True)


def reception(token, **extra):
    body = {"date": TODAY, "form": "visit", "persons": 3, "subject": "反映村道硬化资金去向",
            "category": "infrastructure", "place": "县信访接待大厅",
            "residents": [{"name": "钱大", "phone": "13700000001"}], **extra}
    r = token.post("/petitions", json=body)
    assert r.status_code == 201, r.json
    return r.json


def test_a_reception_is_filed_as_a_case_by_the_unit_that_received_it(app, api, world):
    by_group = reception(api("group1"), file_case=True)
    assert (by_group["filed"]["source"], by_group["filed"]["group"], by_group["filed"]["state"]) == \
        ("petition", "G1", "group")
    assert by_group["filed"]["resident"]["name"] == "钱大"
    by_team = reception(api("team1"), file_case=True)["filed"]
    by_office = reception(api("county"), file_case=True)["filed"]
    assert (by_team["unit"], by_team["state"]) == ("T1", "team")
    assert (by_office["unit"], by_office["state"]) == ("C", "county")
    assert reception(api("group2"))["filed"] is None
    assert api("dept1").post("/petitions", json={}).status_code == 403
    bad = api("group1").post("/petitions", json={"date": "2999-01-01", "form": "fax", "persons": 0,
                                                 "subject": "", "category": "nope", "collective": "yes"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"date", "form", "persons", "subject", "category", "collective"}


def test_petitions_are_seen_by_scope_only(app, client, auth, api, world):
    mine = {u: reception(api(u), subject=f"{u}接访")["id"] for u in ("group1", "group2", "group3", "team1",
                                                                      "county", "group14")}
    sees = {"group1": {"group1"}, "member1": {"group1"}, "group2": {"group2"}, "group3": {"group3"},
            "team1": {"group1", "group2", "team1"}, "team2": {"group3"},
            "county": {"group1", "group2", "group3", "team1", "county"}, "county12": {"group14"},
            "group14": {"group14"}, "dept1": set(), "dept2": set(), "admin": set()}
    for username, expected in sees.items():
        token = api(username)
        assert {p["id"] for p in token.get("/petitions").json["petitions"]} == {mine[u] for u in expected}
        for u, pid in mine.items():
            r = token.get(f"/petitions/{pid}")
            assert r.status_code == (200 if u in expected else 404), (username, u)
            if u not in expected:
                assert "钱大" not in r.get_data(as_text=True)
        if username != "admin":
            auth.login(username)
            page = client.get("/petitions").get_data(as_text=True)
            assert {u for u in mine if f"{u}接访" in page} == expected, username
            assert client.get(f"/petitions/{mine['group1']}").status_code == (200 if "group1" in expected else 404)
            auth.logout()
    token, url, pages = api("county"), "/petitions?limit=2", []
    while url:
        page = token.get(url).json
        pages.append([p["id"] for p in page["petitions"]])
        url = page["next"] and page["next"].removeprefix("/api/v1")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(sum(pages, []), reverse=True) == sum(pages, []) and len(set(sum(pages, []))) == 5


def test_the_reception_form_records_and_files(app, client, auth, world):
    auth.login("group1")
    r = client.post("/petitions/new", data={"date": TODAY, "form": "phone", "persons": "2", "collective": "y",
                                             "category": "housing", "subject": "反映危房改造补助未到位",
                                             "residents": "孙二 13600000000\n孙三", "file_case": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "孙二 13600000000" in page and "孙三" in page and "/cases/" in page
    bad = client.post("/petitions/new", data={"date": "", "form": "phone", "persons": "x", "subject": ""})
    assert bad.status_code == 422 and 'aria-invalid' in bad.get_data(as_text=True)


def test_a_case_taken_down_shows_on_its_page_and_timeline(app, client, auth, api, world):
    case = world.file("group1")
    db.session.commit()
    r = api("team1").post(f"/cases/{case.id}/take-down", json={"date": TODAY, "cadres": ["team1", "group1"]})
    assert r.status_code == 201, r.json
    assert r.json["cadres"] == ["group1", "team1"]
    detail = api("group1").get(f"/cases/{case.id}").json
    assert detail["state"] == "group" and detail["events"][-1]["trigger"] == "take_down"
    assert detail["events"][-1]["data"] == {"date": TODAY, "cadres": ["group1", "team1"]}
    assert api("group1").post(f"/cases/{case.id}/take-down",
                              json={"date": TODAY, "cadres": ["county12"]}).status_code == 422
    assert api("team2").post(f"/cases/{case.id}/take-down",
                             json={"date": TODAY, "cadres": ["team2"]}).status_code == 404
    auth.login("group1")
    assert client.post(f"/cases/{case.id}/take-down", data={"date": TODAY, "cadres": "member1"}).status_code == 302
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert page.count("带案下访") >= 2 or page.count("Taken down to the grass roots") >= 2
    assert "member1" in page


def test_the_bulletin_counts_petitions_as_a_hand_count(app, api, world):
    wf, _first, assign, _report, _keep, settle, _strike = petition_flow()
    reception(api("group1"), persons=5, collective=True)
    reception(api("group2"), persons=1, form="letter")
    reception(api("team1"), persons=12, collective=True, file_case=True)
    reception(api("county"), persons=2)
    reception(api("group3"), persons=4, date=(today() - timedelta(days=40)).isoformat())  # before
    reception(api("group14"), persons=9)                                                   # C12's
    case = world.file("group1")
    db.session.commit()
    api("team1").post(f"/cases/{case.id}/take-down", json={"date": TODAY, "cadres": ["team1", "group1"]})
    api("county").post(f"/cases/{case.id}/take-down", json={"date": TODAY, "cadres": ["county"]})
    county = api("county")
    backlog = [register(county, f"积案{i}") for i in range(3)]
    owned = fire_api(county, backlog[0], assign, wf).json
    fire_api(api("team1"), owned, settle, wf, statement="已签订息访息诉承诺书")
    db.session.expire_all()

    start = today() - timedelta(days=7)
    got = bulletin(world.units["C"], start, today())["petitions"]
    assert got == {"batches": 4, "persons": 5 + 1 + 12 + 2, "collective": 2,
                   "cadres_taking_cases_down": 3, "backlog_total": 3, "backlog_resolved": 1}
    team = bulletin(world.units["T1"], start, today())["petitions"]
    assert (team["batches"], team["persons"], team["cadres_taking_cases_down"], team["backlog_total"]) == \
        (3, 18, 3, 0)
    # the backlog cases are not problems found on visits: the reception filed as a case is
    assert bulletin(world.units["C"], start, today())["problems"]["found"] == 2


def test_a_petitioner_is_found_by_name_or_phone_in_scope_only(app, client, auth, api, world):
    """The petitions page finds a reception by a petitioner's name (Chinese) or phone, or its
    subject; another team's petitioners stay out of sight."""
    reception(api("group1"), subject="反映危房补助", residents=[{"name": "孙二娘", "phone": "136 0000 4321"}])
    reception(api("group3"), subject="反映路灯损坏", residents=[{"name": "孙二娘", "phone": "13900004321"}])
    reception(api("group1"), subject="反映低保评定")

    def found(username: str, q: str) -> set[str]:
        auth.login(username)
        page = client.get("/petitions", query_string={"q": q}).get_data(as_text=True)
        auth.logout()
        return {s for s in ("反映危房补助", "反映路灯损坏", "反映低保评定") if s in page}
    assert found("county", "孙二娘") == {"反映危房补助", "反映路灯损坏"}
    assert found("team1", "孙二娘") == {"反映危房补助"}
    assert found("team1", "4321") == {"反映危房补助"}
    assert found("team1", "低保") == {"反映低保评定"}
    assert found("team1", "钱大") == {"反映低保评定"}
    assert found("team1", "50%") == set()
