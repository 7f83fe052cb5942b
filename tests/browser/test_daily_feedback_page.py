"""The daily feedback (日反馈) on a 360 px phone: the unit picks one of the three choices for its
problem and sends once; the office's 未反馈 page fits the screen too."""
from __future__ import annotations

import re

from tests.test_rectification import jpeg

PHONE = {"width": 360, "height": 740}
WIDTH = "document.scrollingElement.scrollWidth"


def test_a_unit_sends_its_daily_feedback_on_a_phone(session):
    inspector = session("inspector1", **PHONE)
    page = inspector.page
    inspector.go("/cases/new")
    page.select_option("#target", label="城东农贸市场")
    page.select_option("#category", "market")
    page.fill("#title", "城东农贸市场占道经营")
    page.set_input_files("#photos", {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    case_id = int(re.search(r"/cases/(\d+)$", page.url).group(1))

    dept = session("dept1", **PHONE)
    dept.act(case_id, "sign")
    dept.go("/boards/campaign/rectification")
    with dept.page.expect_navigation():
        dept.page.click("text=日反馈")
    form = dept.page.locator(f'fieldset[data-case="{case_id}"]')
    assert "城东农贸市场占道经营" in form.inner_text()
    form.get_by_text("整改中", exact=True).click()
    form.locator(f"#expected_{case_id}").fill("2099-12-31")
    assert dept.page.evaluate(WIDTH) <= 360
    dept.shot("daily-feedback-360")
    with dept.page.expect_navigation():
        dept.page.click("main form button[type=submit]")
    assert "今日反馈已提交" in dept.page.inner_text(".flash.success")
    assert form.locator('input[value="in_progress"]').is_checked()

    office = session("county", **PHONE)
    office.go("/boards/campaign/rectification")
    with office.page.expect_navigation():
        office.page.click("text=未反馈")
    assert "未反馈" in office.page.inner_text("h1")
    assert office.page.evaluate(WIDTH) <= 360
    office.shot("unreported-360")
