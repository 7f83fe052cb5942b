"""The civilized-city campaign's life of a problem through the pages on a 360 px phone, in
Chinese: the inspector files at a site with a photo, the responsible unit signs and rectifies
with its photo, the inspector sends it back (退回重改), the unit redoes it, the inspector strikes
it off with a photo taken on the spot."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.browser.test_phone_width import check
from tests.test_rectification import jpeg

PHONE = {"width": 360, "height": 740}
WIDTH = "document.scrollingElement.scrollWidth"
PHOTO = {"name": "现场.jpg", "mimeType": "image/jpeg"}


def test_a_shortfall_from_the_inspection_to_its_strike_off_on_a_phone(session):
    inspector = session("inspector1", **PHONE)
    page = inspector.page
    inspector.go("/cases/new")
    assert "创城督查整改" in page.inner_text("h1")
    page.select_option("#target", label="解放路背街小巷")
    page.select_option("#category", "sanitation")
    page.fill("#title", "解放路小巷垃圾堆放未清运")
    page.set_input_files("#photos", {**PHOTO, "buffer": jpeg()})
    assert page.evaluate(WIDTH) <= 360
    inspector.shot("rectification-filing-360")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    case_id = int(re.search(r"/cases/(\d+)$", page.url).group(1))
    assert inspector.state() == "assigned" and "待签收" in page.inner_text(".case-sheet .facts")
    assert page.locator("img").count() >= 1            # the photo of the shortfall (整改前)

    dept = session("dept1", **PHONE)
    dept.act(case_id, "sign")
    assert dept.state() == "rectifying" and "已完成：签收。" in dept.page.inner_text(".flash.success")
    dept.act(case_id, "ask_check", measures="已清运垃圾", photos=jpeg((30, 200, 30)))
    assert dept.state() == "checking"

    inspector.go(f"/cases/{case_id}")   # the inspector's page, opened before the unit moved it
    inspector.act(case_id, "redo", reason="巷口仍有垃圾，请彻底清理")
    assert inspector.state() == "rectifying"
    timeline = inspector.page.locator("ol.timeline > li .badge").all_inner_texts()
    assert timeline[-1] == "退回重改"

    dept.go(f"/cases/{case_id}")
    dept.act(case_id, "ask_check", measures="再次清理并安排专人保洁", photos=jpeg((40, 190, 40)))
    inspector.go(f"/cases/{case_id}")
    inspector.act(case_id, "strike_off", photos=jpeg((50, 180, 50)))
    assert inspector.state() == "cleared" and "已销号" in inspector.page.inner_text(".case-sheet .facts")
    assert inspector.page.evaluate(WIDTH) <= 360
    inspector.shot("rectification-struck-off-360")


def test_an_inspector_ticks_a_sites_checklist_on_a_phone(session):
    inspector = session("inspector1", **PHONE)
    page = inspector.page
    inspector.go("/")
    page.click("header details summary")            # the menu
    with page.expect_navigation():
        page.click("text=点位督查")
    page.select_option("#site", label="城东农贸市场")
    with page.expect_navigation():
        page.click("text=打开测评要素")
    for item in ("clean", "stalls", "posters"):
        page.check(f'[name=result_{item}][value=pass]')
    page.check('[name=result_wires][value=fail]')
    page.set_input_files("#photos_wires", {**PHOTO, "buffer": jpeg()})
    page.fill("#title_wires", "市场东门空中飞线杂乱")
    assert page.evaluate(WIDTH) <= 360
    inspector.shot("rectification-inspection-360")
    with page.expect_navigation():
        page.click("form.inspection button[type=submit]")
    assert "交办问题 1 个" in page.inner_text(".flash.success")
    assert "市场东门空中飞线杂乱" in page.inner_text("main")


def test_the_office_publishes_the_weekly_circular_on_a_phone(session):
    """After the journeys above: the county office publishes this week's 创城督查通报 at 360 px,
    picking the struck-off case's photos, and reads it with before and after side by side."""
    county = session("county", **PHONE)
    page = county.page
    county.go("/boards/campaign/rectification/circulars")
    assert "创城督查整改" in page.inner_text("header .brand") and "创城督查通报" in page.inner_text("h1")
    page.fill("#c-date", page.evaluate("new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10)"))
    page.locator("input[name=cases]").first.check()    # the case struck off above, its photos
    assert page.evaluate(WIDTH) <= 360
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "第1期" in page.inner_text(".doc-number") and "各责任单位整改情况" in page.inner_text("main")
    assert page.locator(".pair figure img").count() == 2
    assert page.locator(".pair figcaption").all_inner_texts() == ["整改前", "整改后"]
    assert page.evaluate(WIDTH) <= 360
    county.shot("rectification-circular-360")
    issue = urlparse(page.url).path
    pages = [issue, "/boards/campaign/rectification/circulars", "/boards/campaign/rectification/week"]
    problems = [p for path in pages for p in check(county, path, 360)]   # width and contrast (axe-core)
    page.set_viewport_size({"width": 1366, "height": 900})
    problems += [p for path in pages for p in check(county, path, 1366)]
    assert problems == []
    county.go(issue)
    county.shot("rectification-circular-1366")
