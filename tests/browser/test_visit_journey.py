"""In a real browser: a team imports its target list, a cadre records a visit on a phone, the
county office sees the coverage and downloads the unvisited list."""
from __future__ import annotations

import io

import openpyxl

from casetrack.services.workdays.calendar import today
from casetrack.services.integration.sheets import set_text

WIDTH = "document.scrollingElement.scrollWidth"


def target_list() -> bytes:
    book = openpyxl.Workbook()
    rows = [["类型", "名称", "地址", "村/社区", "责任工作组(code)", "责任干部(username)", "编号"],
            ["农户", "浏览器王户", "王家组8号", "王家村", "G1", "member1", "BR-1"],
            ["企业", "浏览器砖厂", "工业路1号", "王家村", "G1", "", "BR-2"]]
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            set_text(book.active.cell(row=r, column=c), value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_visit_on_a_phone_and_coverage(session, tmp_path):
    team = session("team1")
    team.go("/targets/import")
    team.page.set_input_files("input[type=file]", files=[{
        "name": "名单.xlsx", "buffer": target_list(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    with team.page.expect_navigation():
        team.page.click("main form button[type=submit]")
    assert "导入走访对象 2 个" in team.page.inner_text(".flash.success")

    phone = session("member1", width=360, height=740)
    phone.go("/visits/new")
    assert phone.page.evaluate(WIDTH) <= 360
    phone.page.select_option("#target", label=phone.page.locator(
        "#target option", has_text="浏览器王户").inner_text())
    phone.page.fill("#notes", "老人反映村道难走")
    phone.page.fill("#suggestions", "1")
    phone.page.fill("#problems-0-title", "村道坑洼")
    phone.page.select_option("#problems-0-category", "infrastructure")
    phone.shot("visit-form-phone")
    with phone.page.expect_navigation():
        phone.page.click("main form button[type=submit]")
    assert "走访已录入，登记问题 1 件。" in phone.page.inner_text(".flash.success")
    assert "村道坑洼" in phone.page.inner_text("main")  # the problem filed, on the target's page
    assert phone.page.evaluate(WIDTH) <= 360

    county = session("county")
    county.go(f"/coverage?unit=G1&as_of={today().isoformat()}")
    assert "浏览器砖厂" not in county.page.inner_text("main")
    with county.page.expect_navigation():
        county.page.click("#summary a:has-text('尚未走访')")
    assert "浏览器砖厂" in county.page.inner_text("main")
    assert "浏览器王户" not in county.page.inner_text("main")
    with county.page.expect_download() as download:
        county.page.click("text=导出 Excel")
    path = tmp_path / "unvisited.xlsx"
    download.value.save_as(path)
    names = [row[1] for row in openpyxl.load_workbook(path).worksheets[0].iter_rows(
        min_row=2, values_only=True)]
    assert "浏览器砖厂" in names and "浏览器王户" not in names
    county.go("/coverage")
    county.shot("coverage-county")
