"""A cadre's speed (issue 25): filing a problem found on a visit, on a 360 px phone, is one
screen and five actions besides typing the title: the link on the visit, the category (open the
list, pick), the title field and the button. Target, visit, resident and address come from the
visit; the kind from the group's last filing of the category."""
from __future__ import annotations

import re

from casetrack.services.workdays.calendar import today


class Counted:
    """A phone user whose taps and keys are counted; the text typed is not."""

    def __init__(self, page):
        self.page, self.actions = page, 0

    def tap(self, selector: str) -> None:
        self.actions += 1
        self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.actions += 2  # open the list, tap the entry
        self.page.select_option(selector, value)

    def write(self, selector: str, text: str) -> None:
        self.tap(selector)
        self.page.keyboard.type(text)


def post(s, path: str, body: dict) -> dict:
    token = s.page.get_attribute("meta[name=csrf-token]", "content")
    r = s.page.request.post(s.base + "/api/v1" + path, data=body, headers={"X-CSRFToken": token})
    assert r.status == 201, r.text()
    return r.json()


def test_filing_from_a_visit_takes_five_actions_on_one_phone_screen(session):
    leader = session("group1")
    target = post(leader, "/targets", {"kind": "farm_household", "name": "速记李户", "address": "李家组5号",
                                       "village": "李家村", "group": "G1"})
    post(leader, "/cases", {"title": "河道漂浮物", "category": "environment", "kind": "shared"})
    phone = session("member1", width=360, height=740)
    post(phone, "/visits", {"target": target["id"], "date": today().isoformat(), "cadres": ["member1"],
                            "notes": "李大爷说河边垃圾多"})
    phone.go(f"/targets/{target['id']}")
    cadre = Counted(phone.page)
    with phone.page.expect_navigation():
        cadre.tap("a.file-from-visit >> nth=0")
    assert phone.page.evaluate("document.scrollingElement.scrollWidth") <= 360
    cadre.choose("#category", "environment")
    assert phone.page.input_value("#kind") == "shared"  # as the group last filed it
    cadre.write("#title", "河边垃圾堆积")
    with phone.page.expect_navigation():
        cadre.tap("main form button[type=submit]")
    assert cadre.actions == 5 and cadre.actions < 10
    assert "已登记" in phone.page.inner_text(".flash.success")
    case_id = int(re.search(r"/cases/(\d+)$", phone.page.url).group(1))
    token = phone.page.get_attribute("meta[name=csrf-token]", "content")
    case = phone.page.request.get(f"{phone.base}/api/v1/cases/{case_id}", headers={"X-CSRFToken": token}).json()
    assert (case["target"], case["kind"], case["address"]) == (target["id"], "shared", "李家组5号")
    assert case["visit"] is not None
    assert case["resident"]["name"] == "速记李户" and case["resident"]["address"] == "李家组5号"
