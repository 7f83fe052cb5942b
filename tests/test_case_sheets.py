"""Cases to and from Excel: export by scope and filter, text never a formula, all-or-nothing import."""
from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case
from casetrack.services.casework.case_sheets import IMPORT_COLUMNS
from tests.helpers import act

HEADERS = [h for h, _en in IMPORT_COLUMNS.values()]
FORMULAS = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def sheet(data: bytes):
    """The first sheet of an .xlsx as read by Excel-like software (formulas not evaluated)."""
    return openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]


def rows_of(data: bytes) -> list[dict]:
    ws = sheet(data)
    header = [c.value for c in ws[1]]
    return [dict(zip(header, (c.value for c in row))) for row in ws.iter_rows(min_row=2)]


def xlsx(rows: list[list], headers=HEADERS) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    for r, values in enumerate([headers, *rows], 1):
        for c, value in enumerate(values, 1):
            ws.cell(row=r, column=c, value=value).data_type = "s" if isinstance(value, str) else "n"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cases_count() -> int:
    return db.session.scalar(select(func.count(Case.id)))


def test_export_holds_exactly_the_users_scope_and_filters(client, auth, api, world):
    mine = world.file("group1", resident={"name": "张三", "phone": "13800000000", "address": "王家组3号"})
    escalated = world.file("group1")
    act(world, escalated, "group1", "escalate")
    other = world.file("group3", resident={"name": "赵六", "phone": "13900000000", "address": "赵家组1号"})
    db.session.commit()
    got = rows_of(api("group1").get("/cases.xlsx").data)
    assert [r["编号"] for r in got] == [escalated.id, mine.id]
    assert got[1]["群众姓名"] == "张三" and got[1]["联系电话"] == "13800000000"
    assert [r["编号"] for r in rows_of(api("group1").get("/cases.xlsx?state=team").data)] == [escalated.id]
    assert [r["编号"] for r in rows_of(api("team2").get("/cases.xlsx").data)] == [other.id]
    for username in ("group3", "team2", "dept1", "admin"):
        data = api(username).get("/cases.xlsx").data
        text = repr([c.value for row in sheet(data).iter_rows() for c in row])
        assert "张三" not in text and "13800000000" not in text, username
    assert api("county").get("/cases.xlsx?overdue=maybe").status_code == 422

    auth.login("team1")
    page = client.get("/cases?kind=individual").get_data(as_text=True)
    assert "/cases/export.xlsx?kind=individual" in page
    r = client.get("/cases/export.xlsx?kind=individual")
    assert r.headers["Content-Disposition"].startswith("attachment") and ".xlsx" in r.headers["Content-Disposition"]
    assert {row["编号"] for row in rows_of(r.data)} == {mine.id, escalated.id}


@pytest.mark.parametrize("title", FORMULAS)
def test_a_title_that_looks_like_a_formula_stays_text(api, world, title):
    case = world.file("group1", title=title)
    db.session.commit()
    ws = sheet(api("group1").get("/cases.xlsx").data)
    cell = next(row[1] for row in ws.iter_rows(min_row=2) if row[0].value == case.id)
    assert cell.value == title and cell.data_type == "s"
    # and imported back, it files the same text
    r = api("group1").post("/cases/import", data={"file": (io.BytesIO(xlsx([[title, "道路水利设施", "个性"]])), "p.xlsx")},
                           content_type="multipart/form-data")
    assert r.status_code == 201
    assert db.session.get(Case, r.json["ids"][0]).title == title


def test_import_files_every_row_or_none_and_names_row_column_and_why(api, world):
    client = api("group1")
    good = [["村道坑洼", "道路水利设施", "个性", "王家组到李家组", "张三", "13800000000", "王家组3号"],
            ["低保申请未批", "social_security", "共性", "", "李四", "", ""]]
    bad = good + [["", "道路水利设施", "个性"], ["路灯", "不存在的类别", "个性"], ["水管", "道路水利设施", "不知道"],
                  ["电话太长", "道路水利设施", "个性", "", "王五", "1" * 40]]
    r = client.post("/cases/import", data={"file": (io.BytesIO(xlsx(bad)), "meeting.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and cases_count() == 0
    assert {(e["row"], e["column"]) for e in r.json["errors"]} == {
        (4, "问题标题"), (5, "问题类别"), (6, "问题类型(个性/共性)"), (7, "联系电话")}
    r = client.post("/cases/import", data={"file": (io.BytesIO(xlsx(good)), "meeting.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 201 and r.json["filed"] == 2
    first, second = (db.session.get(Case, i) for i in r.json["ids"])
    assert (first.title, first.category.code, first.kind, first.resident_phone) == (
        "村道坑洼", "infrastructure", "individual", "13800000000")
    assert (second.kind, second.unit.code) == ("shared", "G1")   # the group's until it escalates


def test_an_exported_sheet_is_an_import_template_and_bad_files_are_refused(api, world):
    world.file("group1", title="已登记的问题")
    db.session.commit()
    client = api("group1")
    exported = client.get("/cases.xlsx").data
    r = client.post("/cases/import", data={"file": (io.BytesIO(exported), "back.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 201 and cases_count() == 2
    for name, data in [("x.xlsx", b"not a zip"), ("x.txt", b"hello"), ("x.xlsx", xlsx([], ["谁", "问题标题"]))]:
        r = client.post("/cases/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        assert r.status_code == 422 and r.json["errors"], name
    assert client.post("/cases/import").status_code == 422
    r = api("team1").post("/cases/import", data={"file": (io.BytesIO(exported), "back.xlsx")},
                          content_type="multipart/form-data")
    assert r.status_code == 403 and cases_count() == 2


def test_the_import_page_lists_the_problems_and_files_a_good_sheet(client, auth, world):
    auth.login("group1")
    assert client.get("/cases/import").status_code == 200
    r = client.post("/cases/import", data={"file": (io.BytesIO(xlsx([["", "道路水利设施"]])), "m.xlsx")},
                    content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="import-errors"' in page and "问题标题" in page and cases_count() == 0
    r = client.post("/cases/import", data={"file": (io.BytesIO(xlsx([["井盖缺失", "道路水利设施"]])), "m.xlsx")},
                    content_type="multipart/form-data")
    assert r.status_code == 302 and cases_count() == 1
    assert rows_of(client.get("/cases/import/template.xlsx").data) == []
