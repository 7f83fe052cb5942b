"""End-to-end in a real browser: four users carry a shared problem from filing to closing."""
from __future__ import annotations

import re
from datetime import timedelta

from casetrack.services.workdays.calendar import today


def file_problem(s, title: str, kind: str = "individual") -> int:
    s.go("/cases/new")
    s.page.select_option("#category", "infrastructure")
    s.page.select_option("#kind", kind)
    s.page.fill("#title", title)
    s.page.fill("#description", "王家组到李家组的三公里村道，雨天无法通行，影响孩子上学。")
    s.page.fill("#resident_name", "张三")
    s.page.fill("#resident_phone", "13800000000")
    s.page.fill("#resident_address", "王家村王家组3号")
    with s.page.expect_navigation():
        s.page.click("main form button[type=submit]")
    return int(re.search(r"/cases/(\d+)$", s.page.url).group(1))


def test_escalation_journey_through_the_pages_by_four_users(session):
    group = session("group1")
    case_id = file_problem(group, "村道坑洼，三个组共同反映", kind="shared")
    assert group.state() == "group"   # a shared problem is the group's until it reports it up
    assert "问题 %d 已登记。" % case_id in group.page.inner_text(".flash.success")
    group.act(case_id, "escalate", reason="三个组共同反映，本组无力解决")
    assert group.state() == "team"

    team = session("team1")
    team.go("/")
    assert team.page.locator(f'tr[data-case="{case_id}"]').count() == 1
    team.go("/boards/team")
    team.shot("team-board")
    assert int(team.page.locator('tr[data-group="G1"] td[data-state="team"] a').inner_text()) >= 1
    with team.page.expect_navigation():
        team.page.click(f'tr[data-case="{case_id}"] a')
    team.act(case_id, "escalate", reason="涉及三个村，工作队无力解决，需县里协调资金")
    assert team.state() == "county"

    county = session("county")
    county.go("/boards/county")
    assert county.page.locator(f'#incoming tr[data-case="{case_id}"]').count() == 1
    county.shot("county-board")
    due = (today() + timedelta(days=20)).isoformat()
    county.act(case_id, "refer", department="D1", due_date=due, note="请于期限内修复")
    assert county.state() == "department"
    county.go("/boards/county")
    county.page.click("#referred summary")          # each list but the first opens from its heading
    referred = county.page.locator(f'#referred tr[data-case="{case_id}"]')
    assert due in referred.inner_text()

    dept = session("dept1")
    dept.go("/boards/department")
    assert dept.page.locator(f'tr[data-case="{case_id}"]').count() == 1
    dept.shot("department-page")
    dept.act(case_id, "resolve", resolution="已铺设水泥路面 3 公里", funds="45.5")
    assert dept.state() == "resolved"

    county.go("/boards/county")
    assert county.page.locator(f'#verifying tr[data-case="{case_id}"]').count() == 1
    county.act(case_id, "verify", outcome="satisfied", note="回访张三，表示满意")
    assert county.state() == "closed"
    timeline = county.page.inner_text("ol.timeline")
    for text in ("group1", "team1", "county", "dept1", "涉及三个村", "住建局",
                 "已铺设水泥路面 3 公里", "45.50", "回访张三，表示满意"):
        assert text in timeline, text
    steps = county.page.locator("ol.timeline > li .badge").all_inner_texts()
    assert steps == ["登记", "上报工作队", "上报县活动办", "交办部门", "办结", "回访核实"]
    assert county.page.locator("#actions").count() == 0
    county.shot("case-closed")


def test_a_refused_action_shows_no_button_and_a_friendly_page(session):
    group = session("group1")
    case_id = file_problem(group, "共性问题交给工作队", kind="shared")
    group.act(case_id, "escalate", reason="本组无力解决")
    assert group.page.locator("#actions").count() == 0  # the team holds it now
    assert "张三" in group.page.inner_text(".facts")
    response = group.go("/boards/county")
    assert response.status == 403
    assert "这个页面属于其他类型的单位。" in group.page.inner_text("main")
    group.shot("forbidden")
    other = session("group3")
    response = other.go(f"/cases/{case_id}")
    assert response.status == 404
    assert "张三" not in other.page.content() and "Traceback" not in other.page.content()


def test_a_form_error_keeps_what_was_typed_and_marks_the_field(session):
    group = session("group1")
    case_id = file_problem(group, "路灯损坏")
    group.act(case_id, "resolve", resolution="", funds="3")
    page = group.page
    form = page.locator('form[data-trigger="resolve"]')
    assert form.is_visible()
    assert form.locator("[name=funds]").input_value() == "3"
    assert form.locator("[name=resolution]").get_attribute("aria-invalid") == "true"
    assert "请填写此项。" in form.inner_text()
    assert "请修改标出的栏目。" in page.inner_text(".flash.error")
    group.shot("form-error")
    # Fixing the field is enough: the typed amount is still there.
    form.locator("[name=resolution]").fill("已更换路灯")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert group.state() == "resolved"


def test_the_language_switch(session):
    s = session(None)
    s.go("/login")
    assert s.page.inner_text("h1") == "登录"
    with s.page.expect_navigation():
        s.page.click("header button[lang=en]")
    assert s.page.inner_text("h1") == "Log in"
    s.login("group1")
    s.page.click("details.menu > summary")  # the links are in the header's menu
    assert "File a problem" in s.page.inner_text("header")
    s.shot("inbox-en")
    with s.page.expect_navigation():
        s.page.click("header button[lang=zh-CN]")
    s.page.click("details.menu > summary")
    assert "登记问题" in s.page.inner_text("header")
    s.shot("inbox-zh")


def test_phone_width_has_no_horizontal_scrolling(session):
    phone = session("group1", width=360, height=740)
    phone.go("/cases/new")
    with phone.page.expect_navigation():
        phone.page.click("header button[lang=en]")  # this cadre works in English
    width = "document.scrollingElement.scrollWidth"
    assert phone.page.evaluate(width) <= 360
    phone.shot("file-form-phone")
    case_id = file_problem(phone, "一个很长的标题：" + "村道坑洼雨天无法通行" * 6)
    assert f"Case {case_id} filed." in phone.page.inner_text(".flash.success")
    phone.act(case_id, "escalate", reason="需要工作队统筹")
    assert "Done: Escalate to team." in phone.page.inner_text(".flash.success")
    for path in (f"/cases/{case_id}", "/", "/cases"):
        phone.go(path)
        if path == f"/cases/{case_id}":
            phone.shot("case-phone")
        assert phone.page.evaluate(width) <= 360, path
    team = session("team1", width=360, height=740)
    team.go("/boards/team")
    assert team.page.evaluate(width) <= 360
    team.go(f"/cases/{case_id}")
    team.page.click("details.action > summary >> nth=0")
    assert team.page.evaluate(width) <= 360
    team.shot("case-actions-phone")


def test_a_stale_case_says_so_and_offers_a_reload(session):
    group = session("group1")
    case_id = file_problem(group, "两人同时办理")
    other = session("member1")
    other.go(f"/cases/{case_id}")
    group.act(case_id, "resolve", resolution="组长已解决")
    other.act(case_id, "escalate", reason="组员想上报")
    assert "已有其他人办理过" in other.page.inner_text(".flash.error")
    assert "在你之前已有人办理了这个问题" in other.page.inner_text("#stale")
    assert other.state() == "resolved"
    with other.page.expect_navigation():
        other.page.click("#stale a")
    assert other.page.url.endswith(f"/cases/{case_id}")
    assert "组员想上报" not in other.page.inner_text("ol.timeline")
