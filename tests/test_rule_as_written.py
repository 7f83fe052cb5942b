"""Issue 22: the escalation rule as the county wrote it, through the API: urgency and category
deadlines, a team referring straight to a department, the office sending a case down or taking it
over, members' proposals confirmed by the leader, every call-back outcome, a delegated call-back
and explained cases coming back on their date."""
from __future__ import annotations

import json
import re
from datetime import date

from casetrack.services.reports import bulletin as bl
from tests.helpers import FUTURE
from tests.test_api import file, step
from tests.test_deadlines import on


def post(client_, case, trigger, **fields):
    return client_.post(f"/cases/{case['id']}/transitions",
                        json={"trigger": trigger, "version": case["version"], **fields})


def at_county(group, team, **over):
    """A case of G1 reported up to the county office."""
    case = file(group, kind="individual", **over)
    case = step(group, case, "escalate", reason="本组无力解决")
    return step(team, case, "escalate", reason="需县里协调")


def resolved(api_, **over):
    """A case of G1 resolved by its group leader, awaiting the office's call-back."""
    group = api_("group1")
    return step(group, file(group, kind="individual", **over), "resolve", resolution="已修复路面")


def test_an_urgent_or_environmental_case_gets_the_days_the_county_set(api):
    group = api("group1")
    with on("2026-06-01"):   # a Monday
        normal = file(group, kind="individual", category="infrastructure")
        urgent = file(group, kind="individual", category="infrastructure", urgency="urgent")
        polluted = file(group, kind="individual", category="environment")
        assert (normal["urgency"], urgent["urgency"]) == ("normal", "urgent")
        assert [normal["deadline"], urgent["deadline"], polluted["deadline"]] == [
            "2026-06-08", "2026-06-03", "2026-06-04"]      # 5, 2 (urgent) and 3 (environment) days
        urgent = step(group, urgent, "escalate", reason="本组无力解决")
        assert urgent["deadline"] == "2026-06-04"          # the team has 3 days for an urgent case
        bad = group.post("/cases", json={"title": "路灯坏了", "category": "infrastructure",
                                         "kind": "individual", "urgency": "very"})
    assert bad.status_code == 422 and "urgency" in bad.json["errors"]


def test_a_team_refers_straight_to_a_department_and_the_office_may_take_it_over(api, auth, client):
    group, team, county, dept = api("group1"), api("team1"), api("county"), api("dept1")
    case = step(group, file(group, kind="shared"), "escalate", reason="共性问题，本组无力解决")
    case = step(team, case, "refer", department="D1", due_date=FUTURE, departments=["D2"])
    assert (case["state"], case["unit"], case["deadline"]) == ("department", "D1", FUTURE)
    assert dept.get(f"/cases/{case['id']}").json["allowed"] == ["resolve", "explain", "return"]
    assert "take_over" in county.get(f"/cases/{case['id']}").json["allowed"]
    assert "take_over" not in team.get(f"/cases/{case['id']}").json["allowed"]
    auth.login("county")
    board = client.get("/boards/county").text
    section = re.search(r'<section id="team_referred">(.*?)</section>', board, re.S).group(1)
    assert f'data-case="{case["id"]}"' in section and FUTURE in section
    auth.logout()
    case = step(county, case, "take_over", reason="部门久拖未办，县活动办提级办理")
    assert (case["state"], case["unit"]) == ("county", "C")
    assert dept.get(f"/cases/{case['id']}").json["allowed"] == []   # no longer the department's to move


def test_the_office_sends_a_case_down_to_the_team_or_group_of_the_place(api):
    group, team, county = api("group1"), api("team1"), api("county")
    case = at_county(group, team)
    refused = post(county, case, "send_down", unit="G14", reason="属地问题")
    assert refused.status_code == 422 and "unit" in refused.json["errors"]   # another county's group
    assert post(county, case, "send_down", unit="G2").json["errors"].keys() == {"reason"}
    case = step(county, case, "send_down", unit="G2", reason="属地问题，请李家村组办理")
    assert (case["state"], case["unit"]) == ("group", "G2")
    assert "resolve" in api("group2").get(f"/cases/{case['id']}").json["allowed"]
    other = step(county, at_county(group, team), "send_down", unit="T2", reason="请西河镇工作队办理")
    assert (other["state"], other["unit"]) == ("team", "T2")
    assert api("team2").get(f"/cases/{other['id']}").status_code == 200


def test_a_members_resolution_and_explanation_wait_for_the_group_leader(api):
    member, leader = api("member1"), api("group1")
    case = step(member, file(member, kind="individual"), "resolve", resolution="已修复路面")
    assert (case["state"], case["unit"]) == ("proposed", "G1")
    assert member.get(f"/cases/{case['id']}").json["allowed"] == []
    assert set(leader.get(f"/cases/{case['id']}").json["allowed"]) == {"confirm", "reject"}
    case = step(leader, case, "confirm")
    assert (case["state"], case["unit"]) == ("resolved", "C")
    other = step(member, file(member, kind="individual"), "explain", explanation="资金暂缺",
                 revisit_on=FUTURE)
    assert other["state"] == "explain_proposed"
    assert post(leader, other, "reject").json["errors"].keys() == {"reason"}   # the reason is kept
    other = step(leader, other, "reject", reason="请先查清资金来源")
    assert (other["state"], other["unit"]) == ("group", "G1")
    last = leader.get(f"/cases/{other['id']}").json["events"][-1]
    assert (last["trigger"], last["data"]) == ("reject", {"reason": "请先查清资金来源"})


def test_call_back_outcomes_close_reopen_or_count_apart(api, world):
    county = api("county")
    with on("2026-06-01"):
        kind = step(county, resolved(api), "verify", outcome="basically_satisfied")
        words = post(county, resolved(api), "verify", outcome="dissatisfied")
        assert words.status_code == 422 and words.json["errors"].keys() == {"words"}
        back = step(county, resolved(api), "verify", outcome="dissatisfied", words="路面又坏了")
        far = resolved(api)
        far = step(county, far, "verify", outcome="unreachable")
        far = step(county, far, "verify", outcome="unreachable", note="再打一次")   # the same day
    assert kind["state"] == "closed" and (back["state"], back["unit"]) == ("group", "G1")
    assert far["state"] == "resolved"
    with on("2026-06-02"):
        far = step(county, far, "verify", outcome="unreachable")
    assert far["state"] == "resolved"           # two days tried so far
    with on("2026-06-03"):
        far = step(county, far, "verify", outcome="unreachable")
    assert far["state"] == "closed"             # the third day: closed as unreachable
    last = county.get(f"/cases/{far['id']}").json["events"][-1]
    assert last["data"] == {"outcome": "unreachable", "unreachable": True}
    with on("2026-06-04"):
        figures = bl.bulletin(world.units["C"], date.fromisoformat("2026-06-01"), date.fromisoformat("2026-06-03"))
    problems = figures["problems"]
    assert (problems["solved"], problems["closed"], problems["flagged"]) == (1, 2, {"unreachable": 1})
    # satisfied or basically satisfied / call-backs that reached the resident: the unreachable
    # closure is in neither
    assert figures["rate_parts"]["satisfaction"] == [1, 2]


def test_the_office_delegates_a_call_back_to_the_residents_group(api, world):
    county, group = api("county"), api("group1")
    case = resolved(api)
    refused = post(county, case, "delegate_callback", callback_unit="G2")
    assert refused.status_code == 422 and "callback_unit" in refused.json["errors"]
    case = step(county, case, "delegate_callback", callback_unit="G1", note="请组里回访")
    assert (case["state"], case["unit"]) == ("callback", "G1")
    assert group.get(f"/cases/{case['id']}").json["allowed"] == ["verify"]
    assert county.get(f"/cases/{case['id']}").json["allowed"] == []
    case = step(group, case, "verify", outcome="satisfied", note="已上门回访")
    assert case["state"] == "closed"
    figures = bl.bulletin(world.units["C"], date.fromisoformat("2026-01-01"), date.fromisoformat("2099-12-31"))
    assert (figures["problems"]["solved"], figures["rate_parts"]["satisfaction"]) == (1, [1, 1])


def test_an_explained_case_comes_back_on_its_date(api, runner, auth, client):
    group = api("group1")
    with on("2026-06-01"):
        case = step(group, file(group, kind="individual"), "explain", explanation="资金暂缺，列入明年计划",
                    revisit_on="2026-06-10")
    auth.login("county")
    section = re.search(r'<section id="explained">(.*?)</section>', client.get("/boards/county").text,
                        re.S).group(1)
    assert f'data-case="{case["id"]}"' in section and "2026-06-10" in section
    auth.logout()

    def sweep(day: str) -> dict:
        with on(day):
            result = runner.invoke(args=["sweep"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])

    def notices() -> list:
        return [n for n in group.get("/notifications").json["notifications"]
                if n["kind"] == "revisit" and n["case"] == case["id"]]

    assert sweep("2026-06-09")["revisits"] == 0 and notices() == []
    assert sweep("2026-06-10")["revisits"] == 1
    assert sweep("2026-06-10")["revisits"] == 0             # once per revisit day
    assert len(notices()) == 1 and "2026-06-10" in notices()[0]["message"]
    events = group.get(f"/cases/{case['id']}").json["events"]
    assert events[-1]["data"] == {"revisit_on": "2026-06-10"} and events[-1]["to_state"] == "explained"
    with on("2026-06-10"):
        auth.login("group1")
        assert f'/cases/{case["id"]}"' in client.get("/").text       # back on the group's inbox
