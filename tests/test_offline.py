"""The installable field app (issue 25): manifest and service worker, the API used with the page
session by the offline queue, photo uploads that a retry does not duplicate, and filing a problem
from a visit with what the visit already says."""
from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Attachment, Case
from casetrack.services.workdays.calendar import today
from casetrack.services.fieldwork.targets import create_target
from casetrack.services.fieldwork.visits import record_visit
from tests.test_attachments import photo
from tests.test_idempotency import CASE


def page_token(client, path="/cases/new") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_the_app_installs_from_a_manifest_and_a_root_service_worker(client, auth, world):
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    assert manifest.json["scope"] == "/" and manifest.json["display"] == "standalone"
    sizes = {icon["sizes"]: icon["src"] for icon in manifest.json["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for src in sizes.values():
        icon = client.get(src)
        assert icon.mimetype == "image/png"
        icon.close()
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
    script = worker.get_data(as_text=True)
    for page in ("/cases/new", "/visits/new", "/targets", "/static/offline.js"):
        assert f'"{page}"' in script
    auth.login("member1")
    page = client.get("/cases/new").get_data(as_text=True)
    assert 'rel="manifest"' in page and "offline.js" in page and 'data-offline="case"' in page
    assert "待上传 {n} 条" in page  # the queue's count, in Chinese
    assert 'data-offline="visit"' in client.get("/visits/new").get_data(as_text=True)


def test_the_page_session_files_over_the_api_only_with_its_csrf_token(client, auth, api, world):
    auth.login("member1")
    token = page_token(client)
    assert client.post("/api/v1/cases", json=CASE).status_code == 401           # a cookie alone: no
    assert client.post("/api/v1/cases", json=CASE, headers={"X-CSRFToken": "forged"}).status_code == 400
    foreign = client.post("/api/v1/cases", json=CASE, headers={"X-CSRFToken": token,
                                                               "Origin": "https://evil.example"})
    assert foreign.status_code == 400 and foreign.json["error"] == "csrf"
    filed = client.post("/api/v1/cases", json=CASE, headers={"X-CSRFToken": token, "Idempotency-Key": "s-1",
                                                             "Origin": "http://localhost"})
    assert filed.status_code == 201 and filed.json["group"] == "G1"
    again = client.post("/api/v1/cases", json=CASE, headers={"X-CSRFToken": token, "Idempotency-Key": "s-1"})
    assert again.json == filed.json and db.session.scalar(select(func.count()).select_from(Case)) == 1
    auth.logout()
    assert client.post("/api/v1/cases", json=CASE, headers={"X-CSRFToken": token}).status_code in (400, 401)
    assert api("group1").post("/cases", json=CASE).status_code == 201            # tokens still work


def upload(token, case_id, data, key, stage="before"):
    return token.client.post(f"/api/v1/cases/{case_id}/attachments", headers={**token.headers, "Idempotency-Key": key},
                             data={"file": (io.BytesIO(data), "p.jpg"), "stage": stage},
                             content_type="multipart/form-data")


def test_a_photo_sent_again_with_its_key_is_stored_once(api, world):
    token = api("group1")
    case_id = token.post("/cases", json=CASE).json["id"]
    first = upload(token, case_id, photo(), "p-1")
    assert first.status_code == 201
    again = upload(token, case_id, photo(), "p-1")
    assert again.status_code == 201 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
    other = upload(token, case_id, photo(size=(60, 20)), "p-1")
    assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
    assert upload(token, case_id, photo(size=(60, 20)), "p-2").status_code == 201
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 2


def test_filing_from_a_visit_starts_with_what_the_visit_says(client, auth, api, world):
    member = world.users["member1"]
    target = create_target(world.users["group1"], kind="farm_household", name="赵六户", address="王家组12号", group="G1")
    other = create_target(world.users["group2"], kind="farm_household", name="孙七户", group="G2")
    visit, _cases = record_visit(member, target=target.id, date=today(), cadres=["member1"],
                                 location={"lat": 31.2, "long": 121.4, "accuracy": 15})
    foreign, _cases = record_visit(world.users["group2"], target=other.id, date=today())
    db.session.commit()
    # The group files environment twice, last as a shared problem, and housing once.
    group = api("group1")
    for category, kind in (("environment", "individual"), ("housing", "individual"), ("environment", "shared")):
        assert group.post("/cases", json={**CASE, "category": category, "kind": kind}).status_code == 201
    auth.login("member1")
    assert f'href="/cases/new?visit={visit.id}"' in client.get(f"/targets/{target.id}").get_data(as_text=True)
    page = client.get(f"/cases/new?visit={visit.id}").get_data(as_text=True)
    assert f'<option selected value="{target.id}">赵六户' in page
    assert 'value="赵六户"' in page and 'value="王家组12号"' in page and 'value="31.2"' in page
    codes = re.findall(r'<option data-kind="(\w+)"[^>]* value="(\w+)"', page)
    assert codes[:2] == [("shared", "environment"), ("individual", "housing")]
    assert client.get(f"/cases/new?visit={foreign.id}").status_code == 404
    assert client.get(f"/cases/new?target={other.id}").status_code == 404
    assert client.get("/cases/new?visit=99999999999999999999").status_code == 404
    filed = client.post("/cases/new", data={"category": "environment", "kind": "shared", "title": "垃圾堆放",
                                            "target": str(target.id), "visit": str(visit.id)})
    assert filed.status_code == 302
    case = db.session.scalars(select(Case).where(Case.title == "垃圾堆放")).one()
    assert (case.visit_id, case.target_id, case.address) == (visit.id, target.id, "王家组12号")
