"""The JSON API: tokens, filing, lists in scope, the timeline, transitions and every error code."""
import pytest

from casetrack.extensions import db
from tests.helpers import FUTURE

BODY = {"title": "垃圾焚烧气味扰民", "description": "每晚八点后", "category": "environment",
        "kind": "shared", "resident": {"name": "王五", "phone": "13900000000", "address": "东村5号"}}


def file(client_, **over):
    r = client_.post("/cases", json={**BODY, **over})
    assert r.status_code == 201, r.json
    return r.json


def step(client_, case, trigger, **fields):
    r = client_.post(f"/cases/{case['id']}/transitions",
                     json={"trigger": trigger, "version": case["version"], **fields})
    assert r.status_code == 200, r.json
    return r.json


def test_token_from_username_and_password(client, world):
    r = client.post("/api/v1/tokens", json={"username": "group1", "password": "secret"})
    assert r.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json['token']}"})
    assert me.json["username"] == "group1" and me.json["unit"] == "G1"
    bad = client.post("/api/v1/tokens", json={"username": "group1", "password": "nope"})
    assert bad.status_code == 401 and bad.json["error"] == "unauthorized"


def test_no_or_bad_token_is_401(client, world):
    assert client.get("/api/v1/me").status_code == 401
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and set(r.json) == {"error", "message"}


def test_the_whole_journey_through_the_api_alone(api):
    group, team, county, dept = api("member1"), api("team1"), api("county"), api("dept1")
    depts = county.get("/units?kind=department").json["units"]
    assert {"D1", "D2"} <= {u["code"] for u in depts}
    assert "environment" in {c["code"] for c in group.get("/categories").json["categories"]}

    case = file(group)
    assert (case["state"], case["unit"], case["version"]) == ("group", "G1", 1)   # the group's first
    assert case["deadline"] and case["resident"]["name"] == "王五"
    case = step(group, case, "escalate", reason="多个组共同反映，本组无力解决")
    assert team.get(f"/cases/{case['id']}").json["allowed"] == ["resolve", "explain", "escalate",
                                                                 "send_back", "refer"]
    case = step(team, case, "escalate", reason="需县里协调")
    case = step(county, case, "refer", department="D1", due_date=FUTURE)
    assert (case["state"], case["unit"], case["deadline"]) == ("department", "D1", FUTURE)
    case = step(dept, dept.get(f"/cases/{case['id']}").json, "resolve", resolution="已关停", funds=10)
    case = step(county, case, "verify", satisfied=True, note="回访满意")
    assert case["state"] == "closed" and case["allowed"] == []

    full = group.get(f"/cases/{case['id']}").json
    assert [e["trigger"] for e in full["events"]] == ["file", "escalate", "escalate", "refer", "resolve",
                                                      "verify"]
    assert full["events"][4]["data"] == {"resolution": "已关停", "funds": "10.00"}
    assert full["events"][2]["actor"] == "team1"


def test_error_codes(api, client):
    group, team, other = api("group1"), api("team1"), api("group3")
    case = file(group, kind="individual")
    url = f"/cases/{case['id']}/transitions"
    # 400: not JSON
    r = group.client.post(f"/api/v1{url}", data="x", headers={**group.headers, "Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json["error"] == "bad_request"
    # 422: missing fields, nothing changed
    r = group.post(url, json={"trigger": "escalate", "version": 1})
    assert r.status_code == 422 and "reason" in r.json["errors"]
    r = group.post(url, json={"trigger": "escalate", "reason": "x"})
    assert r.status_code == 422 and "version" in r.json["errors"]
    r = group.post(url, json={"trigger": "teleport", "version": 1})
    assert r.status_code == 422
    # 403: in scope, not the holder's role or unit
    assert team.post(url, json={"trigger": "escalate", "version": 1, "reason": "x"}).status_code == 403
    # 404: another team's group cannot see it, nor an unknown id
    assert other.get(f"/cases/{case['id']}").status_code == 404
    r = other.post(url, json={"trigger": "escalate", "version": 1, "reason": "x"})
    assert r.status_code == 404 and "王五" not in r.text
    assert group.get("/cases/999999").status_code == 404
    # 409: not possible from this state, and a stale version
    r = group.post(url, json={"trigger": "verify", "version": 1, "satisfied": True})
    assert r.status_code == 409 and r.json["error"] == "invalid_transition"
    assert group.post(url, json={"trigger": "escalate", "version": 1, "reason": "x"}).status_code == 200
    r = team.post(url, json={"trigger": "escalate", "version": 1, "reason": "x"})
    assert r.status_code == 409 and r.json["error"] == "stale"
    assert group.get(f"/cases/{case['id']}").json["version"] == 2
    # unknown route and method: JSON, not HTML
    assert group.get("/nothing").json["error"] == "not_found"
    assert group.client.delete(f"/api/v1/cases/{case['id']}", headers=group.headers).status_code == 405


@pytest.mark.parametrize("body,field", [
    ({**BODY, "category": "astrology"}, "category"),
    ({**BODY, "kind": "both"}, "kind"),
    ({**BODY, "title": "  "}, "title"),
    ({**BODY, "title": "x" * 201}, "title"),
    ({**BODY, "resident": "王五"}, "resident"),
    ({**BODY, "resident": {"name": "王五", "age": 3}}, "resident.age"),
    ({**BODY, "target": 12345}, "target"),
    ({**BODY, "colour": "red"}, "colour"),
])
def test_bad_case_bodies_are_422_and_file_nothing(api, body, field):
    group = api("group1")
    r = group.post("/cases", json=body)
    assert r.status_code == 422 and field in r.json["errors"]
    assert group.get("/cases").json["cases"] == []


def test_only_group_cadres_file(api):
    r = api("team1").post("/cases", json=BODY)
    assert r.status_code == 403


def test_lists_hold_only_the_callers_scope(api, world):
    g1, g2, g3 = api("group1"), api("group2"), api("group3")
    ids = {name: file(c, kind="individual")["id"] for name, c in [("g1", g1), ("g2", g2), ("g3", g3)]}
    seen = lambda c: {x["id"] for x in c.get("/cases").json["cases"]}  # noqa: E731
    assert seen(g1) == {ids["g1"]} and seen(g3) == {ids["g3"]}
    assert seen(api("team1")) == {ids["g1"], ids["g2"]}
    assert seen(api("county")) == set(ids.values())
    assert seen(api("dept1")) == set()
    assert seen(api("admin")) == set()


def test_filters_and_keyset_paging(api, world):
    group, team, county = api("group1"), api("team1"), api("county")
    made = [file(group, kind="individual", title=f"第{i}号问题") for i in range(5)]
    shared = file(group, category="housing")
    shared = step(group, shared, "escalate", reason="x")
    step(team, shared, "escalate", reason="x")
    assert [c["id"] for c in county.get("/cases?state=county").json["cases"]] == [shared["id"]]
    assert [c["id"] for c in county.get("/cases?category=housing").json["cases"]] == [shared["id"]]
    assert len(county.get("/cases?kind=individual").json["cases"]) == 5
    assert len(county.get("/cases?unit=G1").json["cases"]) == 6
    assert county.get("/cases?unit=G2").json["cases"] == []
    assert county.get("/cases?overdue=true").json["cases"] == []
    assert [c["id"] for c in county.get("/cases?q=第3号").json["cases"]] == [made[3]["id"]]
    assert county.get("/cases?overdue=maybe").status_code == 422
    assert county.get("/cases?cursor=abc").status_code == 422
    pages, url = [], "/cases?limit=2"
    while url:
        r = county.get(url.removeprefix("/api/v1")).json
        pages.append([c["id"] for c in r["cases"]])
        url = r["next"]
    assert sum(pages, []) == sorted([c["id"] for c in made] + [shared["id"]], reverse=True)
    assert [len(p) for p in pages] == [2, 2, 2]


DATE, WHOLE = "请填写日期，例如 2026-07-31。", "请填写整数。"


@pytest.mark.parametrize("path, message", [
    # Year 1 or 9999 would overflow when turned into a moment in UTC.
    ("/cases?date_from=0001-01-01", DATE), ("/cases?date_to=9999-12-31", DATE),
    ("/cases?counted_from=0001-01-01", DATE), ("/reports/bulletin?from=0001-01-01&to=2026-06-07", DATE),
    ("/coverage?as_of=9999-12-31", DATE), ("/targets?visited_from=0001-01-01", DATE),
    # '²' and '٣' pass `str.isdigit`; `int` refuses the first, and more than 4,300 digits.
    ("/cases?cursor=²", WHOLE), ("/cases?limit=²", WHOLE), ("/targets?cursor=²", WHOLE),
    ("/cases?cursor=٣", WHOLE), ("/cases?cursor=" + "1" * 5000, WHOLE),
    ("/targets?cursor=" + "9" * 5000, WHOLE)])
def test_a_value_int_or_date_cannot_take_is_refused_by_name(api, world, path, message):
    """A clear 422 naming the field, not a 500."""
    r = api("county").get(path)
    assert r.status_code == 422, (path, r.status_code)
    field = path.split("?")[1].split("=")[0]
    assert r.json["errors"][field] == message, r.json


def test_cli_token_works_and_revoked_does_not(runner, client, world):
    result = runner.invoke(args=["create-token", "dept1"])
    token = result.output.strip()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json["unit"] == "D1"
    from casetrack.models import ApiToken
    from casetrack.services.organisation.accounts import revoke_token
    row = db.session.query(ApiToken).one()
    revoke_token(row.id, world.users["dept1"])
    db.session.commit()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
