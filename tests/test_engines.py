"""A case's whole life, the list filters and the optimistic lock behave the same on both engines."""
from __future__ import annotations

from datetime import timedelta

from casetrack.services.workdays.calendar import today


def test_a_case_travels_the_escalation_rule_and_keeps_its_timeline(world, api):
    group, team, county, dept = api("group1"), api("team1"), api("county"), api("dept1")
    case = group.post("/cases", json={"title": "村道坑洼", "category": "infrastructure",
                                      "kind": "individual"}).get_json()
    cid = f"/cases/{case['id']}"

    def step(client, trigger, **fields):
        version = client.get(cid).get_json()["version"]
        r = client.post(f"{cid}/transitions", json={"trigger": trigger, "version": version, **fields})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    step(group, "escalate", reason="需要修路资金")
    step(team, "escalate", reason="镇里解决不了")
    due = (today() + timedelta(days=30)).isoformat()
    assert step(county, "refer", department="D1", due_date=due)["deadline"] == due
    resolved = step(dept, "resolve", resolution="已修复", funds="12.50")
    assert (resolved["state"], resolved["funds"]) == ("resolved", "12.50")
    assert step(county, "verify", satisfied=False)["unit"] == "D1"   # back to the resolver
    step(dept, "resolve", resolution="返工完成", funds="1.25")
    closed = step(county, "verify", satisfied=True)
    assert (closed["state"], closed["funds"]) == ("closed", "13.75")

    events = county.get(cid).get_json()["events"]
    assert [e["trigger"] for e in events] == ["file", "escalate", "escalate", "refer", "resolve",
                                              "verify", "resolve", "verify"]
    assert events[3]["data"] == {"department": "D1", "due_date": due}
    assert events[-1]["at"] >= events[0]["at"]
    assert events[0]["at"].endswith("+00:00")


def test_a_stale_version_is_refused_and_nothing_is_written(world, api):
    group, member = api("group1"), api("member1")
    case = group.post("/cases", json={"title": "路灯不亮", "category": "infrastructure",
                                      "kind": "individual"}).get_json()
    cid = f"/cases/{case['id']}"
    first = group.post(f"{cid}/transitions", json={
        "trigger": "explain", "version": case["version"], "explanation": "暂无资金",
        "revisit_on": (today() + timedelta(days=60)).isoformat()})
    assert first.status_code == 200
    late = member.post(f"{cid}/transitions", json={"trigger": "resume", "version": case["version"]})
    assert (late.status_code, late.get_json()["error"]) == (409, "stale")
    after = api("county").get(cid).get_json()
    assert after["state"] == "explained"
    assert len(after["events"]) == 2


def test_list_filters_by_text_date_and_unit(world, api):
    world.file("group1", title="Road full of potholes")
    world.file("group3", title="排污口异味", category="environment")
    from casetrack.extensions import db
    db.session.commit()
    county = api("county")

    def titles(query):
        r = county.get(f"/cases?{query}")
        assert r.status_code == 200, r.get_json()
        return sorted(c["title"] for c in r.get_json()["cases"])

    assert titles("q=POTHOLES") == ["Road full of potholes"]  # same on both engines
    assert titles("q=异味") == ["排污口异味"]
    assert titles("q=100%25") == []
    assert titles(f"date_from={today().isoformat()}&date_to={today().isoformat()}") == \
        ["Road full of potholes", "排污口异味"]
    assert titles(f"date_to={(today() - timedelta(days=1)).isoformat()}") == []
    assert titles("unit=T2") == ["排污口异味"]
    assert titles("category=environment&kind=individual") == ["排污口异味"]
    assert titles("overdue=true") == []
