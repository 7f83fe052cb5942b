"""The rectification campaign's sites (点位) come from a sheet like the grand visit's targets: by the
page, the API and `flask import-targets --campaign rectification`, all or nothing, each bad row
named in Chinese (issue 26.3)."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Target
from tests.factories import add_rectification

HEADER = "名称,点位类型,地址,所属社区/村,责任单位,编号,纬度,经度"
GOOD = [
    "城西农贸市场,农贸市场,西街1号,城西社区,住建局,S-001,30.1,120.2",
    "和平里老旧小区,老旧小区,和平里,和平社区,D2,,,",
    "西街公厕,公厕,西街8号,城西社区,环保局,,,",
]


def csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode("utf-8-sig")   # as Excel on Chinese Windows saves it


def upload(api, data: bytes, name: str = "点位.csv", campaign: str = "rectification"):
    return api.client.post(f"/api/v1/targets/import?campaign={campaign}", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def site_count() -> int:
    return db.session.scalar(select(func.count(Target.id)).where(Target.campaign == "rectification"))


@pytest.fixture
def county_sites(world):
    add_rectification(world)
    db.session.commit()
    return site_count()


def test_the_office_imports_sites_by_kind_label_and_unit_name_or_code_and_again_adds_nothing(api, county_sites):
    r = upload(api("county"), csv(*GOOD))
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"imported": 3, "updated": 0}
    listed = {t["name"]: t for t in api("county").get("/targets?campaign=rectification").get_json()["targets"]}
    assert listed["城西农贸市场"]["kind"] == "farm_market" and listed["城西农贸市场"]["group"] == "D1"
    assert listed["城西农贸市场"]["village"] == "城西社区" and listed["城西农贸市场"]["lat"] == 30.1
    assert listed["和平里老旧小区"]["group"] == "D2" and listed["西街公厕"]["group"] == "D2"
    assert all(t["campaign"] == "rectification" for t in listed.values())
    # the grand visit's target list does not hold them
    visit = {t["name"] for t in api("county").get("/targets").get_json()["targets"]}
    assert not visit & set(listed)
    # the same sheet again changes nothing; a changed unit moves the site
    assert upload(api("county"), csv(*GOOD)).get_json() == {"imported": 0, "updated": 3}
    moved = GOOD[2].replace("环保局", "D1")
    assert upload(api("county"), csv(moved)).get_json() == {"imported": 0, "updated": 1}
    assert site_count() == county_sites + 3
    toilet = db.session.scalars(select(Target).where(Target.name == "西街公厕")).one()
    assert toilet.group.code == "D1"
    # the responsible unit sees its sites; a problem filed there goes to it by default
    assert "西街公厕" in {t["name"] for t in api("dept1").get("/targets?campaign=rectification").get_json()["targets"]}


def test_each_bad_row_is_named_in_chinese_and_nothing_is_written(api, county_sites, world):
    from casetrack.services.organisation.campaigns import campaigns, set_units
    set_units(campaigns().get("rectification"), [world.units["D1"], world.units["I"]])   # D2 does not take part
    db.session.commit()
    rows = [GOOD[0],
            "城北菜场,菜场,北街,城北社区,住建局,,,",                 # 3: no such kind
            "王家农户,农户,王家村,王家村,住建局,,,",                 # 4: a visit target's kind, not a site's
            "东街公厕,公厕,东街,城东社区,不存在局,,,",               # 5: no such unit
            "南街公厕,公厕,南街,城南社区,南湖县住建局,,,",           # 6: another county's unit
            "和平里老旧小区,老旧小区,和平里,和平社区,环保局,,,",     # 7: a unit not taking part
            "北街公厕,公厕,北街,城北社区,T1,,,",                     # 8: a work team, not a county unit
            "城西农贸市场,农贸市场,西街2号,城西社区,住建局,,,",       # 9: the same site as row 2
            "西街广场,公园广场,西街,,住建局,S-001,,",               # 10: no community, code of row 2
            ]
    r = upload(api("county"), csv(*rows))
    assert r.status_code == 422
    body = r.get_json()
    assert "未导入" in body["message"] or "没有导入" in body["message"], body["message"]
    by_row = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "不是本活动的点位类型" in by_row[3, "点位类型"] and "农贸市场" in by_row[3, "点位类型"]
    assert "不是本活动的点位类型" in by_row[4, "点位类型"]
    assert "本县没有这个单位" in by_row[5, "责任单位"]
    assert "本县没有这个单位" in by_row[6, "责任单位"]
    assert "没有参加本活动" in by_row[7, "责任单位"]
    assert "县直单位" in by_row[8, "责任单位"]
    assert "与第 2 行是同一点位" in by_row[9, "名称"]
    assert "请填写" in by_row[10, "所属社区/村"] and "与第 2 行是同一点位" in by_row[10, "编号"]
    assert not any(e["row"] == 2 for e in body["errors"])
    assert site_count() == county_sites
    # a code another target (a grand-visit target) holds is refused too, nothing written
    db.session.add(Target(kind="village", name="王家村", group_id=world.units["G1"].id, code="S-009"))
    db.session.commit()
    r = upload(api("county"), csv("东街公厕,公厕,东街,城东社区,D1,,,", GOOD[0].replace("S-001", "S-009")))
    assert r.status_code == 422 and r.get_json()["errors"] == [
        {"row": 3, "column": "编号", "message": "已有其他走访对象使用这个编号。"}]
    assert site_count() == county_sites


def test_only_the_office_imports_sites_and_an_unknown_campaign_is_refused(api, county_sites):
    for who in ("dept1", "team1", "inspector1"):
        assert upload(api(who), csv(*GOOD)).status_code == 403, who
    r = upload(api("county"), csv(*GOOD), campaign="nosuch")
    assert r.status_code == 422 and r.get_json()["errors"]["campaign"]
    assert site_count() == county_sites


def test_the_template_and_an_xlsx_through_the_page_and_the_command_line(app, client, auth, api, county_sites,
                                                                       runner, tmp_path):
    r = api("county").get("/targets/import-template?campaign=rectification")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADER.split(",")
    notes = [[c.value for c in row] for row in book.worksheets[1].iter_rows()]
    assert ["农贸市场", "Farmers' market"] in notes and ["D1", "住建局"] in notes
    assert ["农户", "Farm household"] not in notes   # only the campaign's kinds
    sheet.append(GOOD[0].split(",")[:5])
    out = io.BytesIO()
    book.save(out)
    auth.login("county")
    page = client.get("/targets/import?campaign=rectification")
    assert page.status_code == 200 and "点位" in page.get_data(as_text=True)
    assert "/targets/import-template?campaign=rectification" in page.get_data(as_text=True)
    r = client.post("/targets/import?campaign=rectification",
                    data={"file": (io.BytesIO(out.getvalue()), "点位.xlsx")}, content_type="multipart/form-data")
    assert r.status_code == 302 and "campaign=rectification" in r.headers["Location"]
    assert site_count() == county_sites + 1
    path = tmp_path / "sites.csv"
    path.write_bytes(csv(GOOD[1]))
    result = runner.invoke(args=["import-targets", str(path), "--as", "county", "--campaign", "rectification"])
    assert result.exit_code == 0, result.output
    assert "1 sites imported, 0 updated" in result.output
    path.write_bytes(csv("北街公厕,公厕,北街,城北社区,T1,,,"))
    result = runner.invoke(args=["import-targets", str(path), "--as", "county", "--campaign", "rectification"])
    assert result.exit_code == 1 and "row 2, 责任单位" in result.output
    assert site_count() == county_sites + 2
