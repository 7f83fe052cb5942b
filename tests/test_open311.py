"""Open311 GeoReport v2: a published client (georeport) files and follows cases over real HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from defusedxml import ElementTree
from georeport import GeoReport

from casetrack.extensions import db
from casetrack.models import ApiToken, Case
from casetrack.services import calendar
from casetrack.services.accounts import create_token, revoke_token
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
                                                      "description": "路灯不亮"})
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
                                                       "description": "x"})
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
    form = {"service_code": "infrastructure", "description": "路面塌陷"}
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
    assert got["agency_responsible"] == world.units["T1"].name  # a shared problem goes to the team


def test_a_revoked_token_stops_at_once(client, world, token):
    key = token("group1")
    assert client.get(f"/open311/v2/requests.json?api_key={key}").status_code == 200
    row = db.session.query(ApiToken).filter_by(user_id=world.users["group1"].id).one()
    revoke_token(row.id, world.users["group1"])
    db.session.commit()
    assert client.get(f"/open311/v2/requests.json?api_key={key}").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
