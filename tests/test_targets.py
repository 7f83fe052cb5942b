"""Visit targets: the import (xlsx and csv, all or nothing, re-import), the template, scope."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Target
from casetrack.services.integration.sheets import set_text
from casetrack.services.fieldwork.targets import holders_of

HEADER = ["类型", "名称", "地址", "村/社区", "责任工作组(code)", "责任干部(username)", "编号"]
GOOD = [
    ["农户", "王大户", "王家组1号", "王家村", "G1", "member1", "H001"],
    ["企业", "=HYPERLINK(\"http://x\")", "工业园", "王家村", "G1", "", "E001"],
    ["farm_household", "李二户", "李家组2号", "李家村", "G2", "group2", "H002"],
    ["学校", "赵家小学", "", "赵家村", "G3", None, None],
]


def xlsx(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate([header, *rows], 1):
        for c, value in enumerate(row, 1):
            set_text(sheet.cell(row=r, column=c), value)  # text that starts with = stays text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER) -> bytes:
    import csv
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def upload(api, data: bytes, name: str = "targets.xlsx"):
    return api.client.post("/api/v1/targets/import", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Target))


def test_good_xlsx_import_creates_every_target(world, api):
    res = upload(api("county"), xlsx(GOOD))
    assert res.status_code == 200, res.json
    assert res.json == {"imported": 4, "updated": 0}
    rows = {t.name: t for t in db.session.scalars(select(Target))}
    assert rows["王大户"].kind == "farm_household" and rows["王大户"].cadre.username == "member1"
    assert rows["王大户"].group.code == "G1" and rows["王大户"].code == "H001"
    assert rows["李二户"].group.code == "G2"
    assert rows["赵家小学"].kind == "school" and rows["赵家小学"].code is None
    assert '=HYPERLINK("http://x")' in rows  # a formula-looking name stays the text it was


def test_reimport_updates_instead_of_duplicating(world, api):
    client = api("county")
    assert upload(client, xlsx(GOOD)).json == {"imported": 4, "updated": 0}
    changed = [list(r) for r in GOOD]
    changed[0][2] = "王家组9号"  # H001 moved house
    res = upload(client, xlsx(changed + [["村", "王家村委会", "", "王家村", "G1", "", "V001"]]))
    assert res.json == {"imported": 1, "updated": 4}
    assert count() == 5
    assert db.session.scalars(select(Target).where(Target.code == "H001")).one().address == "王家组9号"


def test_csv_import_with_bom_and_reimport(world, api):
    client = api("team1")
    rows = [r for r in GOOD if r[4] in ("G1", "G2")]
    assert upload(client, csv_bytes(rows), "list.csv").json == {"imported": 3, "updated": 0}
    assert upload(client, csv_bytes(rows), "list.csv").json == {"imported": 0, "updated": 3}
    assert count() == 3


def test_every_bad_row_is_reported_and_nothing_imported(world, api):
    bad = [
        GOOD[0],
        ["飞船", "外星户", "", "", "G1", "", "X1"],             # 3: unknown kind
        ["农户", "", "", "", "G1", "", "X2"],                   # 4: no name
        ["农户", "某户", "", "", "G9", "", "X3"],               # 5: no such group
        ["农户", "某户", "", "", "G1", "group2", "X4"],          # 6: cadre of another group
        ["农户", "重号户", "", "", "G1", "", "H001"],           # 7: code repeated (row 2)
        ["农户", "长名" * 100, "", "", "G1", "", "X5"],          # 8: name too long
        ["农户", "某户", "", "", "", "", "X6"],                 # 9: no group
    ]
    res = upload(api("county"), xlsx(bad))
    assert res.status_code == 422
    assert res.json["error"] == "invalid"
    got = {(e["row"], e["column"]) for e in res.json["errors"]}
    assert got == {(3, "类型"), (4, "名称"), (5, "责任工作组(code)"), (6, "责任干部(username)"),
                   (7, "编号"), (8, "名称"), (9, "责任工作组(code)")}
    assert all(e["message"] for e in res.json["errors"])
    assert count() == 0


def test_a_group_cannot_import_into_another_group(world, api):
    res = upload(api("group1"), xlsx(GOOD))
    assert res.status_code == 422
    assert {(e["row"], e["column"]) for e in res.json["errors"]} == {
        (4, "责任工作组(code)"), (5, "责任工作组(code)")}
    assert count() == 0


def test_a_code_held_outside_my_scope_is_refused(world, api):
    upload(api("county"), xlsx([["农户", "赵户", "", "", "G3", "", "Z1"]]))
    res = upload(api("team1"), xlsx([["农户", "冒名户", "", "", "G1", "", "Z1"]]))
    assert res.status_code == 422
    assert res.json["errors"][0]["row"] == 2 and res.json["errors"][0]["column"] == "编号"
    assert db.session.scalars(select(Target).where(Target.code == "Z1")).one().name == "赵户"


def test_bad_headers_and_bad_files(world, api):
    client = api("county")
    res = upload(client, xlsx([["农户", "全角户", "G1"]], header=["类型", "名称", "责任工作组（code）"]))
    assert res.json == {"imported": 1, "updated": 0}  # full-width brackets as Excel users type them
    res = upload(client, xlsx(GOOD[:1], header=["类型", "名称", "电话"]))
    assert res.status_code == 422
    assert {(e["row"], e["column"]) for e in res.json["errors"]} == {
        (1, "电话"), (1, "责任工作组(code)")}
    assert upload(client, b"not a zip", "x.xlsx").status_code == 422
    assert upload(client, b"hello", "x.txt").status_code == 422
    assert upload(client, xlsx([]), "x.xlsx").json == {"imported": 0, "updated": 0}
    assert count() == 1


def test_an_archive_with_too_many_entries_is_refused_unread(world, api):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(600):
            archive.writestr(f"x/{i}.xml", "<a/>")
    res = upload(api("county"), out.getvalue(), "bomb.xlsx")
    assert res.status_code == 422
    assert res.json["errors"][0]["row"] is None


def test_template_has_the_chinese_headers_and_imports_back(world, api):
    client = api("team1")
    res = client.get("/targets/import-template")
    assert res.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(res.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == [*HEADER, "纬度", "经度"]  # the coordinates are optional
    notes = [c.value for row in book["说明"].iter_rows() for c in row]
    assert "G1" in notes and "G3" not in notes  # the groups in this team's scope
    sheet.append(["农户", "样例户", "", "", "G1", "", ""])
    out = io.BytesIO()
    book.save(out)
    assert upload(client, out.getvalue()).json == {"imported": 1, "updated": 0}


def test_create_list_filter_and_scope(world, api):
    county = api("county")
    for body in ({"kind": "farm_household", "name": "一户", "group": "G1"},
                 {"kind": "enterprise", "name": "二厂", "group": "G2", "code": "E2"},
                 {"kind": "farm_household", "name": "三户", "group": "G3"}):
        assert county.post("/targets", json=body).status_code == 201
    assert county.post("/targets", json={"kind": "x", "name": "", "group": "G1"}).status_code == 422
    res = county.post("/targets", json={"kind": "enterprise", "name": "重", "group": "G1", "code": "E2"})
    assert res.json["errors"] == {"code": "已有其他走访对象使用这个编号。"}

    def names(client, query=""):
        return sorted(t["name"] for t in client.get(f"/targets{query}").json["targets"])

    assert names(county) == ["一户", "三户", "二厂"]
    assert names(api("team1")) == ["一户", "二厂"]
    assert names(api("group1")) == ["一户"]
    assert names(api("dept1")) == []
    assert names(county, "?unit=T1&kind=enterprise") == ["二厂"]
    assert api("group1").get("/targets?unit=G2").status_code == 404
    assert county.get("/targets?kind=spaceship").status_code == 422
    other = db.session.scalars(select(Target).where(Target.name == "三户")).one()
    assert api("group1").get(f"/targets/{other.id}").status_code == 404
    assert api("group1").post("/targets", json={"kind": "farm_household", "name": "x",
                                                "group": "G3"}).status_code == 422
    assert api("member1").post("/targets", json={"kind": "farm_household", "name": "x",
                                                 "group": "G1"}).status_code == 403


def test_edit_a_target(world, api):
    client = api("group1")
    tid = client.post("/targets", json={"kind": "farm_household", "name": "一户",
                                        "group": "G1"}).json["id"]
    res = client.client.patch(f"/api/v1/targets/{tid}", headers=client.headers,
                              json={"address": "新址", "active": False})
    assert res.status_code == 200, res.json
    assert res.json["address"] == "新址" and res.json["active"] is False
    assert [t["name"] for t in client.get("/targets").json["targets"]] == []
    assert [t["name"] for t in client.get("/targets?active=false").json["targets"]] == ["一户"]


@pytest.mark.parametrize("name", ["targets.xlsx", "targets.csv"])
def test_the_same_target_twice_in_one_file_is_reported(world, api, name):
    rows = [["农户", "同户", "一号", "", "G1", "", ""], ["农户", "同户", "一号", "", "G1", "", ""]]
    data = xlsx(rows) if name.endswith("xlsx") else csv_bytes(rows)
    res = upload(api("county"), data, name)
    assert res.status_code == 422
    assert [(e["row"], e["column"]) for e in res.json["errors"]] == [(3, "名称")]
    assert count() == 0


# -- pages ---------------------------------------------------------------------------------

def test_import_page_shows_each_bad_row_and_imports_nothing(world, auth, client):
    auth.login("county")
    assert client.get("/targets/import").status_code == 200
    bad = [GOOD[0], ["飞船", "外星户", "", "", "G1", "", "X1"], ["农户", "", "", "", "G9", "", ""]]
    res = client.post("/targets/import", data={"file": (io.BytesIO(xlsx(bad)), "list.xlsx")},
                      content_type="multipart/form-data")
    assert res.status_code == 422
    page = res.get_data(as_text=True)
    assert 'id="import-errors"' in page
    for cell in ("<td>3</td><td>类型</td>", "<td>4</td><td>名称</td>", "<td>4</td><td>责任工作组(code)</td>"):
        assert cell in page
    assert count() == 0
    res = client.post("/targets/import", data={"file": (io.BytesIO(xlsx(GOOD)), "list.xlsx")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert res.status_code == 200 and count() == 4
    assert "王大户" in res.get_data(as_text=True)
    assert client.get("/targets/import-template").headers["Content-Type"].startswith(
        "application/vnd.openxmlformats")


def test_target_pages_add_edit_and_scope(world, auth, client):
    auth.login("group1")
    res = client.post("/targets/new", data={"kind": "enterprise", "name": "王家砖厂", "group": "G1",
                                            "cadre": "nobody"})
    assert res.status_code == 422 and "该工作组没有这名干部。" in res.get_data(as_text=True)
    res = client.post("/targets/new", data={"kind": "enterprise", "name": "王家砖厂", "group": "G1",
                                            "cadre": "member1", "code": "E9"})
    assert res.status_code == 302
    target = db.session.scalars(select(Target).where(Target.code == "E9")).one()
    assert target.cadre.username == "member1"
    res = client.post(f"/targets/{target.id}/edit", data={
        "kind": "enterprise", "name": "王家新砖厂", "group": "G1", "cadre": "", "code": "E9"})
    assert res.status_code == 302
    db.session.expire_all()
    assert target.name == "王家新砖厂" and target.cadre is None and target.active is False
    assert "王家新砖厂" in client.get("/targets?active=all").get_data(as_text=True)
    auth.logout()
    auth.login("group2")
    assert client.get(f"/targets/{target.id}").status_code == 404
    assert "王家新砖厂" not in client.get("/targets?active=all").get_data(as_text=True)
    auth.logout()
    auth.login("member1")
    assert client.get("/targets/new").status_code == 403


def test_a_code_added_by_a_concurrent_import_gives_409_not_a_crash(world, api, monkeypatch):
    client = api("county")
    upload(client, xlsx(GOOD[:1]))
    import casetrack.services.fieldwork.targets as targets
    monkeypatch.setattr(targets, "_existing", lambda *a: ({}, {}, set()))  # as if read before it
    res = upload(client, xlsx(GOOD[:2]))
    assert res.status_code == 409 and res.json["error"] == "conflict"
    assert count() == 1


def test_after_a_large_import_the_next_finds_its_codes_by_index(world, api):
    """The next import looks its codes up in chunks of 500 through the unique index, even by
    the generic plan PostgreSQL keeps once psycopg has prepared the lookup; a plan made while
    the table was taken for empty scanned it per chunk (re-importing 100k rows: minutes)."""
    rows = [["农户", f"户{i}", f"{i}号", "王家村", "G1", "", f"H{i:05d}"] for i in range(1_500)]
    assert upload(api("county"), csv_bytes(rows), "t.csv").json == {"imported": 1_500, "updated": 0}
    conn = db.session.connection()
    lookup = holders_of([f"H{i:05d}" for i in range(500)])
    if conn.dialect.name == "postgresql":
        sql = str(lookup.compile(conn, compile_kwargs={"render_postcompile": True}))
        names = re.findall(r"%\((\w+)\)s", sql)
        for i, name in enumerate(names, 1):
            sql = sql.replace(f"%({name})s", f"${i}")
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        conn.exec_driver_sql(f"PREPARE lookup ({', '.join(['varchar'] * len(names))}) AS {sql}")
        codes = ", ".join(f"'H{i:05d}'" for i in range(500))   # a generic plan: values unseen
        plan = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN EXECUTE lookup({codes})")]
        conn.exec_driver_sql("DEALLOCATE lookup")
    else:
        compiled = lookup.compile(conn, compile_kwargs={"render_postcompile": True})
        plan = [r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}",
                                                   tuple(compiled.params[k] for k in compiled.positiontup))]
    assert any("uq_targets_code" in step or "sqlite_autoindex_targets" in step for step in plan), plan
    assert not any(step.lstrip("-> ").startswith(("Seq Scan on targets", "SCAN targets")) for step in plan), plan
