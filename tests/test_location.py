"""Where a problem or a visit is: WGS-84 points and addresses, a target's as the default, and a
link that opens the point where a Chinese map app (GCJ-02) shows it."""
from __future__ import annotations

import csv
import io

import pytest

from casetrack.extensions import db
from casetrack.models import Case, Visit
from casetrack.services.common.location import amap_url, wgs84_to_gcj02
from casetrack.services.fieldwork.targets import create_target

PROBLEM = {"title": "桥面裂缝", "category": "infrastructure", "kind": "individual"}


def test_tiananmen_in_gcj02():
    lat, lng = wgs84_to_gcj02(39.9087, 116.3975)
    assert abs(lat - 39.9101) < 1e-3 and abs(lng - 116.4037) < 1e-3
    assert (lat, lng) != (39.9087, 116.3975)
    assert wgs84_to_gcj02(48.8584, 2.2945) == (48.8584, 2.2945)  # outside China: no shift
    assert amap_url(39.9087, 116.3975).startswith("https://uri.amap.com/marker?position=116.40")


def test_a_case_keeps_its_point_and_address_and_reads_them_back(api):
    group1 = api("group1")
    r = group1.post("/cases", json={**PROBLEM, "address": "东山镇王家村桥头",
                                    "location": {"lat": 31.2, "long": 121.4, "accuracy": 12.5}})
    assert r.status_code == 201, r.json
    got = group1.get(f"/cases/{r.json['id']}").json
    assert got["location"] == {"lat": 31.2, "long": 121.4, "accuracy": 12.5}
    assert got["address"] == "东山镇王家村桥头"
    plain = group1.post("/cases", json=PROBLEM).json
    assert plain["location"] is None and plain["address"] == ""


@pytest.mark.parametrize("location, field, words", [
    ({"lat": 91, "long": 121.4}, "location.lat", "-90"),
    ({"lat": 31.2, "long": -180.5}, "location.long", "-180"),
    ({"lat": 31.2, "long": 121.4, "accuracy": -3}, "location.accuracy", "location.accuracy"),
    ({"lat": "north", "long": 121.4}, "location.lat", "location.lat"),
    ({"lat": 31.2}, "location.long", "location.long"),
    ({"lat": 31.2, "long": 121.4, "altitude": 5}, "location.altitude", ""),
    ([31.2, 121.4], "location", ""),
])
def test_a_point_out_of_range_is_refused_naming_the_field(api, location, field, words):
    r = api("group1").post("/cases", json={**PROBLEM, "location": location})
    assert r.status_code == 422
    assert field in r.json["errors"] and words in r.json["errors"][field]
    assert db.session.query(Case).count() == 0


def test_the_targets_point_is_the_default_of_its_cases_and_visits(api, world):
    county = api("county")
    target = county.post("/targets", json={"kind": "farm_household", "name": "钱七户", "group": "G1",
                                           "address": "王家组9号", "lat": 31.25, "long": 121.45}).json
    assert (target["lat"], target["long"]) == (31.25, 121.45)
    assert county.post("/targets", json={"kind": "farm_household", "name": "无", "group": "G1",
                                         "lat": 31.25}).status_code == 422
    group1 = api("group1")
    case = group1.post("/cases", json={**PROBLEM, "target": target["id"]}).json
    assert case["location"] == {"lat": 31.25, "long": 121.45, "accuracy": None}
    assert case["address"] == "王家组9号"
    own = group1.post("/cases", json={**PROBLEM, "target": target["id"], "address": "村口",
                                      "location": {"lat": 31.3, "long": 121.5}}).json
    assert own["location"]["lat"] == 31.3 and own["address"] == "村口"

    from casetrack.services.workdays.calendar import today as day
    r = group1.post("/visits", json={"target": target["id"], "date": day().isoformat(),
                                     "problems": [PROBLEM]})
    assert r.status_code == 201, r.json
    assert r.json["location"] == {"lat": 31.25, "long": 121.45, "accuracy": None}
    assert r.json["cases"][0]["location"]["lat"] == 31.25
    r = group1.post("/visits", json={"target": target["id"], "date": day().isoformat(), "address": "田头",
                                     "location": {"lat": 31.26, "long": 121.46, "accuracy": 30},
                                     "problems": [PROBLEM]})
    assert r.json["location"]["accuracy"] == 30 and r.json["address"] == "田头"
    assert r.json["cases"][0]["location"] == {"lat": 31.26, "long": 121.46, "accuracy": 30}
    r = group1.post("/visits", json={"target": target["id"], "date": day().isoformat(),
                                     "location": {"lat": 200, "long": 0}})
    assert r.status_code == 422 and "location.lat" in r.json["errors"]


def test_a_target_import_takes_optional_coordinates(api, world):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["类型", "名称", "责任工作组(code)", "纬度", "经度"])
    writer.writerow(["农户", "有坐标户", "G1", "31.21", "121.41"])
    writer.writerow(["农户", "无坐标户", "G1", "", ""])
    county = api("county")
    r = county.client.post("/api/v1/targets/import", headers=county.headers,
                           data={"file": (io.BytesIO(out.getvalue().encode()), "t.csv")})
    assert r.status_code == 200, r.json
    got = {t["name"]: (t["lat"], t["long"]) for t in county.get("/targets").json["targets"]}
    assert got == {"有坐标户": (31.21, 121.41), "无坐标户": (None, None)}
    out = io.StringIO()
    csv.writer(out).writerows([["类型", "名称", "责任工作组(code)", "纬度", "经度"], ["农户", "坏", "G1", "95", "121"]])
    r = county.client.post("/api/v1/targets/import", headers=county.headers,
                           data={"file": (io.BytesIO(out.getvalue().encode()), "t.csv")})
    assert r.status_code == 422 and r.json["errors"][0]["column"] == "纬度"


def test_the_case_page_shows_the_point_and_opens_it_in_amap(client, auth, world):
    case = world.file("group1", location={"lat": 39.9087, "long": 116.3975, "accuracy": 8},
                      address="天安门广场")
    db.session.commit()
    auth.login("team1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "39.908700, 116.397500" in page and "天安门广场" in page
    assert "https://uri.amap.com/marker?position=116.4037" in page


def test_the_filing_form_sends_the_browsers_point(client, auth, world):
    auth.login("group1")
    page = client.get("/cases/new").get_data(as_text=True)
    assert "locate.js" in page and "data-locate-button" in page and 'name="location_lat"' in page
    assert "<script>" not in page  # the CSP allows no inline script
    form = {"category": "infrastructure", "kind": "individual", "title": "路灯不亮", "address": "村委会门口",
            "location_lat": "31.2000000", "location_long": "121.4000000", "location_accuracy": "15"}
    r = client.post("/cases/new", data=form)
    assert r.status_code == 302
    case = db.session.query(Case).one()
    assert (case.lat, case.long, case.location_accuracy, case.address) == (31.2, 121.4, 15, "村委会门口")
    r = client.post("/cases/new", data={**form, "location_lat": "123"})
    assert r.status_code == 422 and "location.lat" in r.get_data(as_text=True)
    assert db.session.query(Case).count() == 1
    with client.get("/static/locate.js") as r:
        js = r.get_data(as_text=True)
    assert "navigator.geolocation.getCurrentPosition" in js and "location_accuracy" in js


def test_the_visit_form_sends_the_browsers_point(client, auth, world):
    target = create_target(world.users["group1"], kind="农户", name="钱七户", group="G1")
    db.session.commit()
    auth.login("group1")
    assert "data-locate-button" in client.get("/visits/new").get_data(as_text=True)
    from casetrack.services.workdays.calendar import today
    r = client.post("/visits/new", data={"target": str(target.id), "date": today().isoformat(),
                                         "cadres": "group1", "location_lat": "31.2",
                                         "location_long": "121.4", "location_accuracy": "9",
                                         "address": "田头"})
    assert r.status_code == 302, r.get_data(as_text=True)
    visit = db.session.query(Visit).one()
    assert (visit.lat, visit.long, visit.location_accuracy, visit.address) == (31.2, 121.4, 9, "田头")
