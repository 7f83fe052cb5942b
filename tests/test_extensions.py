"""Extensions (延期): asked by the handling unit, decided by the county office, the ledger."""
from __future__ import annotations

from casetrack.extensions import db
from tests.test_deadlines import on


def ask(api, case, days=3, reason="需要协调资金", user="group1"):
    return api(user).post(f"/cases/{case.id}/extensions", json={"days": days, "reason": reason})


def test_approved_extension_moves_the_deadline_and_keeps_the_case_from_running_overdue(world, api):
    with on("2026-06-01"):
        case = world.file("group1")
        db.session.commit()
        r = ask(api, case)
        assert r.status_code == 201, r.get_json()
        ext = r.get_json()
    with on("2026-06-10"):  # past the deadline of Jun 8, but the request is pending
        body = api("group1").get(f"/cases/{case.id}").get_json()
        assert body["extension_pending"] is True and body["overdue"] is False
        r = api("county").post(f"/extensions/{ext['id']}/decision", json={"approve": True})
        assert r.status_code == 200, r.get_json()
        assert r.get_json()["new_deadline"] == "2026-06-15"  # 3 working days after today
        body = api("group1").get(f"/cases/{case.id}").get_json()
        assert body["deadline"] == "2026-06-15" and body["overdue"] is False
        events = [e["trigger"] for e in body["events"]]
        assert events[-2:] == ["extension_request", "extension_approved"]
    with on("2026-06-16"):
        assert api("group1").get(f"/cases/{case.id}").get_json()["overdue"] is True


def test_refused_extension_leaves_the_deadline_and_the_case_runs_overdue(world, api):
    with on("2026-06-01"):
        case = world.file("group1")
        db.session.commit()
        ext = ask(api, case).get_json()
    with on("2026-06-10"):
        r = api("county").post(f"/extensions/{ext['id']}/decision",
                               json={"approve": False, "note": "理由不充分"})
        assert r.get_json()["status"] == "refused"
        body = api("group1").get(f"/cases/{case.id}").get_json()
    assert body["deadline"] == "2026-06-08" and body["overdue"] is True
    r = api("county").post(f"/extensions/{ext['id']}/decision", json={"approve": True})
    assert r.status_code == 409


def test_who_may_ask_and_decide(world, api):
    case = world.file("member1")
    db.session.commit()
    assert ask(api, case, user="member1").status_code == 403  # a member, not the leader
    assert ask(api, case, user="team1").status_code == 403    # not the handling unit
    assert ask(api, case, user="group2").status_code == 404   # out of scope
    r = ask(api, case, days=31)
    assert r.status_code == 422 and "days" in r.get_json()["errors"]
    ext = ask(api, case).get_json()
    assert ask(api, case).status_code == 409                  # one pending at a time
    r = api("team1").post(f"/extensions/{ext['id']}/decision", json={"approve": True})
    assert r.status_code == 403
    r = api("group3").post(f"/extensions/{ext['id']}/decision", json={"approve": True})
    assert r.status_code == 404


def test_the_ledger_gives_each_units_share_of_extended_cases(world, api):
    cases = [world.file("group1") for _ in range(4)] + [world.file("group2")]
    db.session.commit()
    asked = [ask(api, c).get_json()["id"] for c in cases[:2]]
    api("county").post(f"/extensions/{asked[0]}/decision", json={"approve": True})
    api("county").post(f"/extensions/{asked[1]}/decision", json={"approve": False})
    ask(api, cases[4], user="group2")
    ledger = {row["unit"]: row for row in api("county").get("/extensions/ledger").get_json()["units"]}
    assert ledger["G1"] == {**ledger["G1"], "asked": 2, "approved": 1, "refused": 1, "pending": 0,
                            "days_granted": 3, "extended_cases": 1, "handled_cases": 4,
                            "extended_share": 0.25}
    assert ledger["G2"]["pending"] == 1 and ledger["G2"]["extended_share"] == 0.0
    assert api("team1").get("/extensions/ledger").status_code == 403


def test_the_ledger_page_for_the_county_office(world, api, auth, client):
    case = world.file("group1")
    db.session.commit()
    ask(api, case)
    auth.login("county")
    html = client.get("/extensions/ledger", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "王家村工作组" in html and "Extension ledger" in html
    auth.logout()
    auth.login("team1")
    assert client.get("/extensions/ledger").status_code == 403


def test_the_overdue_filter_leaves_out_cases_waiting_for_an_extension(world, api):
    with on("2026-06-01"):
        late = world.file("group1")
        waiting = world.file("group1")
        db.session.commit()
        ask(api, waiting)
    with on("2026-06-10"):
        got = [c["id"] for c in api("group1").get("/cases?overdue=true").get_json()["cases"]]
        assert got == [late.id]
        got = [c["id"] for c in api("group1").get("/cases?overdue=false").get_json()["cases"]]
        assert got == [waiting.id]


def test_a_request_left_behind_when_the_case_moves_on_holds_no_clock(world, api):
    with on("2026-06-01"):
        case = world.file("group1")
        db.session.commit()
        ext = ask(api, case).get_json()
        r = api("group1").post(f"/cases/{case.id}/transitions",
                               json={"trigger": "escalate", "version": case.version, "reason": "上报"})
        assert r.status_code == 200, r.get_json()
    with on("2026-06-30"):  # long past the team's 7 working days
        body = api("team1").get(f"/cases/{case.id}").get_json()
        assert body["extension_pending"] is False and body["overdue"] is True
        r = api("county").post(f"/extensions/{ext['id']}/decision", json={"approve": True})
        assert r.status_code == 409 and r.get_json()["error"] == "moved_on"
        assert ask(api, case, user="team1").status_code == 201  # the team may ask for its own
