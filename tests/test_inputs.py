"""Inputs no one typed: deep JSON, lone surrogates, Infinity, huge ids, empty dates, and the
HTTP details around them (Allow on a 405). Each is a clear 4xx, never a 500."""
from __future__ import annotations

import re

import pytest

from casetrack.extensions import db
from casetrack.services.organisation.accounts import create_token

DEEP = "[" * 100_000 + "]" * 100_000
REFUSED_BODIES = {
    "deep": DEEP,
    "deep_in_a_field": '{"title": ' + DEEP + "}",
    "surrogate": '{"title": "\\ud800", "category": "infrastructure", "kind": "individual"}',
    "surrogate_key": '{"\\udfff": "x"}',
    "infinity": '{"target": Infinity}',  # int(inf): OverflowError in the filing
    "nan": '{"version": NaN, "case": NaN}',
    "minus_infinity": '{"days": -Infinity}',
    "overflowing_float": '{"target": 1e400}',
    "control": '{"title": "a\\u0001b", "reason": "x\\u0002", "text": "\\u001f"}',
}


def body_operations(client) -> list[tuple[str, str]]:
    """(method, path) of every API operation the description says takes a JSON body."""
    spec = client.get("/api/v1/openapi.json").json
    return [(method, path) for path, ops in spec["paths"].items() for method, op in ops.items()
            if "application/json" in op.get("requestBody", {}).get("content", {})]


@pytest.mark.parametrize("name", REFUSED_BODIES)
def test_a_body_no_one_typed_is_a_clear_4xx_on_every_operation(client, world, name):
    case = world.file("group1")
    token = create_token(world.users["group1"])
    db.session.commit()
    operations = body_operations(client)
    assert ("post", "/api/v1/cases") in operations and len(operations) >= 12
    for method, path in operations:
        url = re.sub(r"\{\w+\}", str(case.id), path)
        r = client.open(url, method=method.upper(), data=REFUSED_BODIES[name],
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        assert 400 <= r.status_code < 500 and r.is_json and r.json["message"], (name, method, path, r.status_code)
    r = client.post("/api/v1/cases", data=REFUSED_BODIES[name], headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": "zh-CN"})
    assert r.status_code in (400, 422) and re.search("[\u4e00-\u9fff]", r.json["message"]), r.json


def test_refusals_say_what_is_wrong(api, world):
    group = api("group1")
    post = lambda text: group.client.post("/api/v1/cases", data=text, headers={  # noqa: E731
        **group.headers, "Content-Type": "application/json", "Accept-Language": "en"})
    assert "deep" in post(DEEP).json["message"]
    assert "Infinity" in post('{"target": Infinity}').json["message"]
    r = post('{"title": "\\ud800", "category": "infrastructure", "kind": "individual"}')
    assert r.status_code == 422 and "title" in r.json["errors"]
    assert "resident.name" in post('{"resident": {"name": "\\udbff"}}').json["errors"]
    assert group.get("/cases").json["cases"] == []


@pytest.mark.parametrize("ident", [2**31, 2**63, 2**64])
def test_an_id_beyond_any_row_is_404_on_every_route(app, client, auth, world, ident):
    token = create_token(world.users["county"])
    db.session.commit()
    auth.login("county")
    seen = 0
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = re.sub(r"<[^>]+>", "json", re.sub(r"<int:\w+>", str(ident), rule.rule))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = client.open(url, method=method, json={},
                            headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 404, (method, url, r.status_code)
            seen += 1
    assert seen >= 30


def test_open311_dates_and_ids_that_would_overflow(client, world):
    key = create_token(world.users["group1"])
    db.session.commit()
    for query in ("end_date=9999-12-31T23:59:59-12:00", "start_date=9999-12-31T23:59:59",
                  "end_date=0001-01-01T00:00:00%2B14:00", "start_date=0001-01-01T00:00:00Z"):
        r = client.get(f"/open311/v2/requests.json?api_key={key}&{query}")
        assert r.status_code == 400 and r.json[0]["description"], (query, r.status_code)
    r = client.get(f"/open311/v2/requests.json?api_key={key}&service_request_id={2**31},{10**17}")
    assert r.status_code == 200 and r.json == []


# -- HTTP details --------------------------------------------------------------------------

def test_405_names_the_allowed_methods(client, api, world):
    group = api("group1")
    r = group.client.put("/api/v1/cases", headers=group.headers)
    assert r.status_code == 405 and r.is_json
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "POST"}
    r = client.put("/login")
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
    r = client.delete("/open311/v2/requests.json")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/coverage?as_of=", "/api/v1/targets?as_of=",
                                  "/api/v1/cases?date_from=", "/api/v1/cases.xlsx?date_to=",
                                  "/api/v1/reports/bulletin?from=",
                                  "/open311/v2/requests.json?start_date="])
def test_an_empty_date_parameter_is_a_400_not_absent(client, world, path):
    token = create_token(world.users["county"])
    db.session.commit()
    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400, r.status_code
    name = path.split("?")[1].split("=")[0]
    assert name in r.get_data(as_text=True)
