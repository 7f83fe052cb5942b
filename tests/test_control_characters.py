"""Control characters: refused at every input by field, and what is already stored still
exports well-formed (xlsx, docx, Open311 XML)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from defusedxml import ElementTree
from sqlalchemy import update

from casetrack.extensions import db
from casetrack.models import Case, Unit
from casetrack.services.organisation.accounts import create_token


def test_control_characters_are_refused_by_field_everywhere(api, client, auth, world):
    group = api("group1")
    base = {"title": "路灯不亮", "category": "infrastructure", "kind": "individual"}
    for body, field in [({**base, "title": "路灯\x01不亮"}, "title"), ({**base, "title": "路灯\t不亮"}, "title"),
                        ({**base, "title": "路灯\n不亮"}, "title"),
                        ({**base, "description": "坏了\x07"}, "description"),
                        ({**base, "resident": {"phone": "138\x0b"}}, "resident.phone"),
                        ({**base, "resident": {"name": "张\u0085三"}}, "resident.name")]:
        r = group.post("/cases", json=body)
        assert r.status_code == 422 and field in r.json["errors"], (body, r.json)
    # tabs and line breaks are fine in long text
    assert group.post("/cases", json={**base, "description": "一、路灯\n二、\t水沟\r\n"}).status_code == 201
    case_id = group.get("/cases").json["cases"][0]["id"]
    r = group.post(f"/cases/{case_id}/transitions", json={"trigger": "escalate", "version": 1,
                                                          "reason": "本组\x1b无法解决"})
    assert r.status_code == 422 and "reason" in r.json["errors"]

    key = create_token(world.users["group1"])
    db.session.commit()
    r = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "infrastructure",
                                                       "description": "路灯\x01不亮"})
    assert r.status_code == 400 and "description" in r.json[0]["description"]
    r = client.post("/open311/v2/requests.json", data={"api_key": key, "service_code": "infrastructure",
                                                       "description": "路灯不亮", "phone": "138\t0000",
                                                       "address_string": "王家组3号"})
    assert r.status_code == 400 and "phone" in r.json[0]["description"]

    auth.login("group1")
    r = client.post("/cases/new", data={**base, "title": "路灯\x01不亮"})
    assert r.status_code in (400, 422) and "Traceback" not in r.get_data(as_text=True)
    assert len(group.get("/cases").json["cases"]) == 1


def test_a_sheet_with_control_characters_is_refused_by_row_and_column(api, world):
    data = "问题标题,问题类别,问题类型(个性/共性)\n路灯\x01不亮,infrastructure,个性\n".encode("utf-8-sig")
    r = api("group1").client.post("/api/v1/cases/import", headers=api("group1").headers,
                                  data={"file": (io.BytesIO(data), "cases.csv")})
    assert r.status_code == 422, r.json
    assert any(e["row"] == 2 and e["column"] == "问题标题" for e in r.json["errors"]), r.json


@pytest.fixture
def stored_controls(world):
    """A case and a unit whose text holds control characters, written past every input check."""
    case = world.file("group1")
    db.session.commit()
    db.session.execute(update(Case).where(Case.id == case.id).values(
        title="=路灯\x01不亮\x0b\x7f", description="描述\x02", resident_name="张\x03三", resident_address="\x1f"))
    db.session.execute(update(Unit).where(Unit.code == "G1").values(name="王家村\x01工作组"))
    db.session.commit()
    db.session.expire_all()
    return case


def test_what_is_already_stored_still_exports_well_formed(client, auth, api, world, stored_controls):
    county = api("county")
    r = county.get("/cases.xlsx")
    assert r.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0].iter_rows(values_only=True))
    assert any(isinstance(v, str) and v.startswith("=路灯") and "不亮" in v for v in rows[1]), rows[1]

    key = create_token(world.users["group1"])
    db.session.commit()
    for path in ("requests.xml", f"requests/{stored_controls.id}.xml"):
        r = client.get(f"/open311/v2/{path}?api_key={key}")
        assert r.status_code == 200
        assert ElementTree.fromstring(r.data).find("request/description").text.startswith("描述")

    auth.login("county")
    for fmt in ("xlsx", "docx"):
        r = client.get(f"/reports/bulletin.{fmt}?unit=T1")
        assert r.status_code == 200, fmt
        with zipfile.ZipFile(io.BytesIO(r.data)) as archive:
            # each part well-formed, and the group's name there with its control character replaced
            text = "".join("".join(ElementTree.fromstring(archive.read(name)).itertext())
                           for name in archive.namelist() if name.endswith(".xml"))
        assert "王家村\ufffd工作组" in text, fmt
    r = client.get("/cases/export.xlsx")
    assert r.status_code == 200 and openpyxl.load_workbook(io.BytesIO(r.data))


