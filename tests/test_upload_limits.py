"""Uploaded sheets past a kind's limits are refused before they are read in full (issue 21)."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl.worksheet._reader import WorkSheetParser
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, Target, Visit
from casetrack.services.casework import case_sheets
from casetrack.services.integration import sheets

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CELL = b'<c t="inlineStr"><is><t>x</t></is></c>'


def text_row(*values: str) -> bytes:
    return ("<row>" + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values) + "</row>").encode()


CASE_HEADER = text_row("问题标题", "问题类别")
CASE_ROW = text_row("井盖缺失", "道路水利设施")


def handmade_xlsx(sheet_data: bytes, dimension: str | None = None) -> bytes:
    """The smallest .xlsx openpyxl opens, its one sheet's rows written as given (fast for millions)."""
    def part(xml: str) -> str:
        return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + xml

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", part(
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'))
        z.writestr("_rels/.rels", part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", part(
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'))
        dim = f'<dimension ref="{dimension}"/>' if dimension else ""
        z.writestr("xl/worksheets/sheet1.xml", part(f'<worksheet xmlns="{MAIN}">{dim}<sheetData>').encode()
                   + sheet_data + b"</sheetData></worksheet>")
    return out.getvalue()


MILLION_ROWS = handmade_xlsx((b"<row>" + CELL + b"</row>") * 1_000_001)  # 49 MB unpacked, 140 KB sent


@pytest.fixture
def opened(monkeypatch):
    """How often openpyxl opened a workbook and parsed a row."""
    seen = {"workbooks": 0, "rows": 0}
    load, parse_row = openpyxl.load_workbook, WorkSheetParser.parse_row

    def counting_load(*args, **kw):
        seen["workbooks"] += 1
        return load(*args, **kw)

    def counting_parse_row(self, row):
        seen["rows"] += 1
        return parse_row(self, row)

    monkeypatch.setattr(openpyxl, "load_workbook", counting_load)
    monkeypatch.setattr(WorkSheetParser, "parse_row", counting_parse_row)
    return seen


def send(api, path: str, data: bytes, name: str = "bomb.xlsx"):
    return api.client.post(f"/api/v1{path}", headers=api.headers, data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Case, Target, Visit))


@pytest.mark.parametrize(("user", "path", "message"), [
    ("group1", "/cases/import", "Excel 文件解压后过大。"),
    ("county", "/targets/import", "一次最多导入 200000 行，请拆分文件。"),
    ("group1", "/visits/import", "一次最多导入 20000 行，请拆分文件。"),
], ids=["cases", "targets", "visits"])
def test_a_million_row_sheet_is_refused_before_openpyxl_opens_it(world, api, opened, user, path, message):
    before = counts()
    res = send(api(user), path, MILLION_ROWS)
    assert res.status_code == 422
    assert [e["message"] for e in res.json["errors"]] == [message]
    assert opened["workbooks"] == 0
    assert counts() == before


def test_rows_are_counted_while_streaming_and_reading_stops_at_the_limit(world, api, opened):
    res = send(api("group1"), "/cases/import", handmade_xlsx(CASE_HEADER + CASE_ROW * 1_500))
    assert res.status_code == 422
    assert [e["message"] for e in res.json["errors"]] == ["一次最多导入 1000 行，请拆分文件。"]
    assert opened["rows"] <= case_sheets.MAX_IMPORT + 2  # the header, the limit and one more
    assert counts()[0] == 0


def test_a_declared_dimension_past_the_limit_is_refused_unread(world, api, opened):
    res = send(api("group1"), "/cases/import", handmade_xlsx(CASE_HEADER + CASE_ROW, "A1:B1048576"))
    assert res.status_code == 422
    assert [e["message"] for e in res.json["errors"]] == ["一次最多导入 1000 行，请拆分文件。"]
    res = send(api("group1"), "/cases/import", handmade_xlsx(CASE_HEADER + CASE_ROW, "A1:XFD2"))
    assert [e["message"] for e in res.json["errors"]] == ["文件超过 100 列。"]
    assert opened["rows"] == 0 and counts()[0] == 0


def test_a_row_of_a_million_cells_is_refused_before_openpyxl_opens_it(world, api, opened):
    one_row = handmade_xlsx(b"<row>" + b"<c/>" * 1_000_000 + b"</row>")
    res = send(api("county"), "/targets/import", one_row)
    assert res.status_code == 422
    assert [e["message"] for e in res.json["errors"]] == ["文件超过 100 列。"]
    assert opened["workbooks"] == 0 and counts()[1] == 0


def test_a_csv_is_read_row_by_row_up_to_the_limit(world, api, monkeypatch):
    read = []
    reader = sheets.csv.reader

    def counting_reader(*args, **kw):
        for row in reader(*args, **kw):
            read.append(1)
            yield row

    monkeypatch.setattr(sheets.csv, "reader", counting_reader)
    # under 500 KB: the test client leaves the spool file of a bigger body open
    data = ("问题标题,问题类别\n" + "x,y\n" * 100_000).encode("utf-8-sig")
    res = send(api("group1"), "/cases/import", data, "bomb.csv")
    assert res.status_code == 422
    assert [e["message"] for e in res.json["errors"]] == ["一次最多导入 1000 行，请拆分文件。"]
    assert len(read) <= case_sheets.MAX_IMPORT + 2
    res = send(api("group1"), "/cases/import", ("问题标题,问题类别" + ",x" * 200 + "\n").encode(), "wide.csv")
    assert [e["message"] for e in res.json["errors"]] == ["文件超过 100 列。"]
    assert counts()[0] == 0


def test_a_sheet_at_the_limit_with_formatted_empty_rows_still_imports(world, api):
    blank = b'<row><c s="0"/><c s="0"/></row>'
    res = send(api("group1"), "/cases/import", handmade_xlsx(CASE_HEADER + CASE_ROW * 3 + blank * 5_000),
               "meeting.xlsx")
    assert res.status_code == 201, res.json
    assert res.json["filed"] == 3
