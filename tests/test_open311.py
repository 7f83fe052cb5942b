"""Open311 GeoReport v2: a published client (georeport) files and follows cases over real HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from defusedxml import ElementTree
from georeport import GeoReport

from casetrack.extensions import db
from casetrack.models import ApiToken, Case
from casetrack.services.workdays import calendar
from casetrack.services.organisation.accounts import create_token, revoke_token
from casetrack.web import open311
from tests.factories import USERS
from tests.helpers import act, serving
from tests.test_access_matrix import may_see


@pytest.fixture
def live(app, world):
    """The app on a real socket (127.0.0.1), for clients that speak HTTP themselves."""
    with serving(app) as base:
        yield f"{base}/open311/v2"


@pytest.fixture
def token(world):
    def make(username: str) -> str:
        value = create_token(world.users[username], "open311")
        db.session.commit()
        return value
    return make


def netrc(tmp_path, monkeypatch, key: str) -> None:
    """The client's own way to send credentials (requests reads $NETRC): HTTP Basic, token as password."""
    path = tmp_path / "netrc"
    path.write_text(f"machine 127.0.0.1 login open311 password {key}\n")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))


def test_an_outside_system_files_a_case_and_follows_it_to_closed(live, world, token, tmp_path, monkeypatch):
    key = token("group1")
    netrc(tmp_path, monkeypatch, key)
    client = GeoReport(live)
    services = client.get_service_list()
    assert {"service_code": "infrastructure"}.items() <= next(
        s for s in services if s["service_code"] == "infrastructure").items()
    assert len(client.__class__(live, output_format="xml").get_service_list()) == len(services)

    posted = requests.post(f"{live}/requests.json", data={
        "api_key": key, "service_code": "infrastructure", "description": "村道坑洼，雨天无法通行",
        "first_name": "三", "last_name": "张", "phone": "13800000000", "address_string": "王家组3号"},
        timeout=10)
    assert posted.status_code == 200
    case_id = posted.json()[0]["service_request_id"]

    got = client.get_service_request(str(case_id))
    assert got["status"] == "open" and got["status_notes"].startswith("group:")
    assert got["agency_responsible"] == world.units["G1"].name
    case = db.session.get(Case, case_id)
    assert got["expected_datetime"].startswith(case.deadline.isoformat())
    assert got["address"] == "王家组3号"
    assert [r["service_request_id"] for r in client.get_service_requests(status="open")] == [case_id]
    assert client.get_service_requests(status="closed") == []

    act(world, case, "group1", "escalate")
    db.session.commit()
    got = client.get_service_request(str(case_id))
    assert got["status_notes"].startswith("team:") and got["agency_responsible"] == world.units["T1"].name
    act(world, case, "team1", "resolve")
    act(world, case, "county", "verify")
    db.session.commit()
    xml = GeoReport(live, output_format="xml").get_service_request(str(case_id))
    assert xml["status"] == "closed" and xml["status_notes"].startswith("closed:")
    assert [r["service_request_id"] for r in client.get_service_requests(status="closed")] == [case_id]
    assert requests.get(f"{live}/tokens/{case_id}.json", timeout=10).json() == [
        {"service_request_id": case_id, "token": str(case_id)}]


def test_xml_answers_and_errors_as_the_spec_gives_them(client, world, token):
    key = token("group1")
    r = client.post("/open311/v2/requests.xml", data={"api_key": key, "service_code": "infrastructure",
                                                      "description": "路灯不亮", "lat": "31.2", "long": "121.4"})
    root = ElementTree.fromstring(r.data)
    assert root.tag == "service_requests"
    case_id = int(root.find("request/service_request_id").text)
    one = ElementTree.fromstring(client.get(f"/open311/v2/requests/{case_id}.xml?api_key={key}").data)
    assert one.find("request/status").text == "open"
    assert one.find("request/service_code").text == "infrastructure"

    services = ElementTree.fromstring(client.get("/open311/v2/services.xml").data)
    assert services.tag == "services" and services.find("service/service_code") is not None

    r = client.get("/open311/v2/requests.xml")
    assert r.status_code == 401
    error = ElementTree.fromstring(r.data).find("error")
    assert error.find("code").text == "401" and error.find("description").text
    r = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "nope",
                                                       "description": "x", "address_id": "A-17"})
    assert r.status_code == 400 and r.json[0]["code"] == 400 and "category" in r.json[0]["description"]
    assert client.get(f"/open311/v2/requests.json?api_key={key}&status=pending").status_code == 400
    assert client.get("/open311/v2/services.csv").status_code == 404


def test_the_90_day_window_and_the_1000_limit(client, world, token, monkeypatch):
    key = token("group1")
    with calendar.at(datetime.now(timezone.utc) - timedelta(days=100)):
        old = world.file("group1")
    new = [world.file("group1") for _ in range(4)]
    db.session.commit()
    ids = lambda q="": [r["service_request_id"] for r in  # noqa: E731
                        client.get(f"/open311/v2/requests.json?api_key={key}{q}").json]
    assert ids() == [c.id for c in reversed(new)]  # the default: the last 90 days
    start = (datetime.now(timezone.utc) - timedelta(days=110)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"&start_date={start}&end_date={end}") == [old.id]
    assert ids(f"&start_date={start}") == [old.id]  # 90 days from the start
    r = client.get(f"/open311/v2/requests.json?api_key={key}&start_date={start}"
                   f"&end_date={datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}")
    assert r.status_code == 400 and "90" in r.json[0]["description"]
    assert ids(f"&service_request_id={old.id},{new[0].id}") == [new[0].id, old.id]
    assert ids("&service_code=infrastructure,education") == [c.id for c in reversed(new)]
    assert ids("&service_code=education") == []
    monkeypatch.setattr(open311, "LIMIT", 3)
    assert ids() == [c.id for c in reversed(new)][:3]


def test_every_user_sees_exactly_their_scope(client, world, token):
    cases = [world.file("group1"), world.file("group2"), world.file("group3"), world.file("member1")]
    for who, trigger in [("group1", "escalate"), ("team1", "escalate"), ("county", "refer")]:
        act(world, cases[3], who, trigger)
    db.session.commit()
    for username in USERS:
        key = token(username)
        listed = {r["service_request_id"] for r in client.get(f"/open311/v2/requests.json?api_key={key}").json}
        assert listed == {c.id for c in cases if may_see(username, c)}, username
        for case in cases:
            for path in (f"requests/{case.id}.json", f"tokens/{case.id}.json"):
                r = client.get(f"/open311/v2/{path}?api_key={key}")
                assert r.status_code == (200 if may_see(username, case) else 404), (username, path)
                if r.status_code == 404:
                    assert case.resident_address not in r.get_data(as_text=True)


def test_filing_acts_with_the_users_role_and_group(client, world, token):
    form = {"service_code": "infrastructure", "description": "路面塌陷", "address_string": "王家组"}
    assert client.post("/open311/v2/requests.json", data={**form, "api_key": token("county")}).status_code == 403
    key = token("group1")
    r = client.post("/open311/v2/requests.json", data={**form, "api_key": key, "attribute[group]": "G2"})
    assert r.status_code == 403
    r = client.post("/open311/v2/requests.json", data={**form, "api_key": key, "attribute[group]": "X9"})
    assert r.status_code == 400
    r = client.post("/open311/v2/requests.json", data={**form, "api_key": key, "attribute[group]": "G1",
                                                       "attribute[kind]": "shared"})
    assert r.status_code == 200
    got = client.get(f"/open311/v2/requests/{r.json[0]['service_request_id']}.json?api_key={key}").json[0]
    # a shared problem stays with the group that found it until it reports it up (issue 22)
    assert got["agency_responsible"] == world.units["G1"].name


def test_a_revoked_token_stops_at_once(client, world, token):
    key = token("group1")
    assert client.get(f"/open311/v2/requests.json?api_key={key}").status_code == 200
    row = db.session.query(ApiToken).filter_by(user_id=world.users["group1"].id).one()
    revoke_token(row.id, world.users["group1"])
    db.session.commit()
    assert client.get(f"/open311/v2/requests.json?api_key={key}").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401


# -- issue 25: the spec's discovery, service definitions, locations, errors and public reads --

SPEC_REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                       "description", "agency_responsible", "service_notice", "requested_datetime",
                       "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                       "lat", "long", "media_url"}
FILED = {"service_code": "infrastructure", "description": "村道坑洼，雨天无法通行", "lat": "31.2",
         "long": "121.4", "address_string": "王家组村道", "media_url": "https://img.example.cn/p/1.jpg",
         "email": "zhangsan@example.cn", "first_name": "三", "last_name": "张", "phone": "13800000000"}


def test_a_key_less_client_reads_the_discovery_services_and_their_definitions(live, world):
    root = live.rsplit("/", 1)[0]
    client, xml = GeoReport(live), GeoReport(live, output_format="xml")
    services = client.get_service_list()
    assert {s["service_code"] for s in services} >= {"infrastructure", "education"}
    assert set(services[0]) == {"service_code", "service_name", "description", "metadata", "type",
                                "keywords", "group"}
    assert all(s["metadata"] == "true" and s["type"] == "realtime" for s in services)
    definition = client.get_service_definition("infrastructure")
    assert definition["service_code"] == "infrastructure"
    kind = next(a for a in definition["attributes"] if a["code"] == "kind")
    assert kind["datatype"] == "singlevaluelist" and kind["variable"] is True and kind["required"] is False
    assert [v["key"] for v in kind["values"]] == ["individual", "shared"]
    assert all({"variable", "code", "datatype", "required", "datatype_description", "order",
                "description"} <= set(a) for a in definition["attributes"])
    as_xml = xml.get_service_definition("infrastructure")
    assert as_xml["service_code"] == "infrastructure"
    kinds = [a for a in as_xml["attributes"]["attribute"] if a["code"] == "kind"][0]
    assert [v["key"] for v in kinds["values"]["value"]] == ["individual", "shared"]
    with pytest.raises(requests.HTTPError) as missing:
        client.get_service_definition("no-such-service")
    assert missing.value.response.status_code == 404 and missing.value.response.json()[0]["code"] == 404

    found = requests.get(f"{root}/discovery.json", timeout=10).json()
    endpoint = found["endpoints"][0]
    assert endpoint["url"] == live and endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"} and found["changeset"]
    doc = ElementTree.fromstring(requests.get(f"{root}/discovery.xml", timeout=10).content)
    assert doc.tag == "discovery" and doc.find("endpoints/endpoint/url").text == live
    assert {f.text for f in doc.findall("endpoints/endpoint/formats/format")} == {"text/xml", "application/json"}


def test_request_reads_without_a_key_are_told_to_pass_api_key(live, world):
    for fmt in ("json", "xml"):
        with pytest.raises(requests.HTTPError) as refused:
            GeoReport(live, output_format=fmt).get_service_requests()
        r = refused.value.response
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        description = r.json()[0]["description"] if fmt == "json" else \
            ElementTree.fromstring(r.content).find("error/description").text
        assert "api_key" in description
    with pytest.raises(requests.HTTPError) as refused:
        GeoReport(live).get_service_request("1")
    assert refused.value.response.status_code == 401


def test_a_request_keeps_its_location_media_and_resident(live, client, world, token, tmp_path, monkeypatch):
    key = token("group1")
    r = client.post("/open311/v2/requests.json", data={**FILED, "api_key": key})
    assert r.status_code == 200, r.json
    case_id = r.json[0]["service_request_id"]
    case = db.session.get(Case, case_id)
    assert (case.resident_name, case.resident_email, case.lat, case.long) == ("张三", "zhangsan@example.cn", 31.2, 121.4)
    netrc(tmp_path, monkeypatch, key)
    got = GeoReport(live).get_service_request(str(case_id))
    assert SPEC_REQUEST_FIELDS <= set(got)
    assert (got["lat"], got["long"], got["address"]) == (31.2, 121.4, "王家组村道")
    assert got["media_url"] == FILED["media_url"]
    assert (got["name"], got["phone"], got["email"]) == ("张三", "13800000000", "zhangsan@example.cn")
    listed = GeoReport(live).get_service_requests(service_request_id=str(case_id))
    assert listed == [got]
    xml = GeoReport(live, output_format="xml").get_service_request(str(case_id))
    assert (xml["lat"], xml["long"], xml["media_url"]) == ("31.2", "121.4", FILED["media_url"])


@pytest.mark.parametrize("place, field", [
    ({}, "lat"), ({"lat": "31.2"}, "long"), ({"long": "121.4"}, "lat"), ({"lat": "91", "long": "121"}, "lat"),
    ({"lat": "31", "long": "181"}, "long"), ({"lat": "north", "long": "121"}, "lat"),
])
def test_a_request_needs_a_location_in_range(client, world, token, place, field):
    key = token("group1")
    body = {k: v for k, v in FILED.items() if k not in ("lat", "long", "address_string")}
    r = client.post("/open311/v2/requests.json", data={**body, **place, "api_key": key})
    assert r.status_code == 400 and r.json[0]["code"] == 400
    assert r.json[0]["description"].startswith(f"{field}: ")
    assert db.session.query(Case).count() == 0
    r = client.post("/open311/v2/requests.json", data={**body, "address_id": "A-17", "api_key": key})
    assert r.status_code == 200
    r = client.post("/open311/v2/requests.json", data={**FILED, "media_url": "javascript:alert(1)", "api_key": key})
    assert r.status_code == 400 and "media_url" in r.json[0]["description"]


def test_every_error_under_open311_in_the_spec_form_and_format(client, world, token, monkeypatch):
    key = token("group1")

    def error_of(r, fmt):
        if fmt == "xml":
            assert r.mimetype == "text/xml"
            node = ElementTree.fromstring(r.data).find("error")
            return int(node.find("code").text), node.find("description").text
        assert r.mimetype == "application/json"
        return r.json[0]["code"], r.json[0]["description"]

    for fmt in ("json", "xml"):
        cases = [
            (client.get(f"/open311/v2/nothing-here.{fmt}"), 404),
            (client.get(f"/open311/v2/services/nope.{fmt}"), 404),
            (client.delete(f"/open311/v2/requests.{fmt}"), 405),
            (client.get(f"/open311/v2/requests.{fmt}"), 401),
            (client.post(f"/open311/v2/requests.{fmt}", data={**FILED, "api_key": token("county")}), 403),
            (client.post(f"/open311/v2/requests.{fmt}", data={"api_key": key}), 400),
            (client.get(f"/open311/v2/services.{fmt}?jurisdiction_id=elsewhere"), 404),
            (client.post(f"/open311/v2/requests.{fmt}", data={**FILED, "api_key": key,
                                                              "description": "x" * (17 * 1024 * 1024)}), 413),
        ]
        for r, status in cases:
            assert r.status_code == status, (fmt, status, r.status_code)
            assert error_of(r, fmt) == (status, error_of(r, fmt)[1]) and error_of(r, fmt)[1]
    assert "GET" in client.delete("/open311/v2/requests.xml").headers["Allow"]

    def broken():
        raise RuntimeError("a bug")
    monkeypatch.setattr(open311, "active_categories", broken)
    for fmt in ("json", "xml"):
        r = client.get(f"/open311/v2/services.{fmt}")
        assert r.status_code == 500 and error_of(r, fmt)[0] == 500
        assert "RuntimeError" not in r.get_data(as_text=True) and "Traceback" not in r.get_data(as_text=True)


def test_public_reads_show_the_jurisdictions_requests_without_anything_personal(app, live, client, world, token):
    key = token("group1")
    ours = client.post("/open311/v2/requests.json", data={**FILED, "api_key": key}).json[0]["service_request_id"]
    theirs = world.file("group14", address="周家村", location={"lat": 30.0, "long": 120.0}).id
    db.session.commit()
    app.config.update(OPEN311_PUBLIC_READS=True, OPEN311_JURISDICTION="C")
    client_ = GeoReport(live)
    listed = client_.get_service_requests()
    assert [r["service_request_id"] for r in listed] == [ours]
    one = client_.get_service_request(str(ours))
    assert one["status"] == "open" and one["service_code"] == "infrastructure"
    for field in ("name", "phone", "email", "address", "media_url"):
        assert one[field] == "", field
    assert one["lat"] is None and one["long"] is None
    page = requests.get(f"{live}/requests.xml", timeout=10).text
    assert "张三" not in page and "13800000000" not in page and "王家组村道" not in page
    with pytest.raises(requests.HTTPError) as foreign:
        client_.get_service_request(str(theirs))
    assert foreign.value.response.status_code == 404
    # a key still reads everything of its scope; a bad key is refused, not read as none
    full = requests.get(f"{live}/requests/{ours}.json", params={"api_key": key}, timeout=10).json()[0]
    assert full["name"] == "张三" and full["lat"] == 31.2
    assert requests.get(f"{live}/requests.json", params={"api_key": "wrong"}, timeout=10).status_code == 401
    # the configured jurisdiction by name; another one is unknown, in Open311's form
    assert len(GeoReport(live, jurisdiction="C").get_service_requests()) == 1
    with pytest.raises(requests.HTTPError) as elsewhere:
        GeoReport(live, jurisdiction="C12").get_service_list()
    assert elsewhere.value.response.status_code == 404
    assert elsewhere.value.response.json()[0]["code"] == 404
