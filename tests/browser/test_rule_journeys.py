"""Issue 22's routes through the pages, in Chinese, as the people who take them: a team refers
straight to a department, the office sends a case down to the place, a lead department and an
assisting one, a call-back delegated to the filing group, and the group telling the resident."""
from __future__ import annotations

from datetime import timedelta

from casetrack.services.workdays.calendar import today
from tests.browser.test_journeys import file_problem

PHONE = {"width": 360, "height": 740}
WIDTH = "document.scrollingElement.scrollWidth"


def badges(s) -> list[str]:
    return s.page.locator("ol.timeline > li .badge").all_inner_texts()


def facts(s) -> str:
    return s.page.inner_text(".case-sheet .facts")


def at_county(group, team, title: str) -> int:
    case_id = file_problem(group, title)
    group.act(case_id, "escalate", reason="本组无力解决")
    team.act(case_id, "escalate", reason="需县里协调")
    return case_id


def test_a_team_refers_to_a_department_and_the_office_takes_it_over(session):
    group = session("group1")
    case_id = file_problem(group, "河堤塌方，需水利部门处理", kind="shared")
    group.act(case_id, "escalate", reason="本组无力解决")
    team = session("team1", **PHONE)
    due = (today() + timedelta(days=10)).isoformat()
    team.act(case_id, "refer", department="D1", due_date=due, note="请尽快派人查看")
    assert "已完成：交办部门。" in team.page.inner_text(".flash.success")
    assert team.state() == "department" and "住建局" in facts(team)
    assert team.page.evaluate(WIDTH) <= 360
    team.shot("team-refers-phone")

    dept = session("dept1")
    dept.go("/boards/department")
    assert due in dept.page.inner_text(f'tr[data-case="{case_id}"]')

    county = session("county")
    county.go("/boards/county")
    assert "工作队交办部门的问题" in county.page.inner_text("#team_referred h2")
    county.page.click("#team_referred summary")     # each list but the first opens from its heading
    row = county.page.inner_text(f'#team_referred tr[data-case="{case_id}"]')
    assert "住建局" in row and due in row
    county.act(case_id, "take_over", reason="部门久拖未办，县活动办提级办理")
    assert county.state() == "county" and "县活动办办理" in facts(county)
    assert badges(county)[-2:] == ["交办部门", "县活动办提级办理"]
    dept.go(f"/cases/{case_id}")
    assert dept.page.locator("#actions").count() == 0   # no longer the department's to move


def test_the_office_sends_a_case_down_to_the_group_of_the_place(session):
    group, team, county = session("group1"), session("team1"), session("county")
    case_id = at_county(group, team, "李家村桥头路灯不亮")
    county.go(f"/cases/{case_id}")
    offered = county.page.locator('form[data-trigger="send_down"] [name=unit] option').all_text_contents()
    assert any("西河镇工作队" in o for o in offered) and any("李家村工作组" in o for o in offered)
    assert not any("周家村工作组" in o for o in offered)   # another county's group is not offered
    county.act(case_id, "send_down", unit="G2", reason="属地问题，请李家村组办理")
    assert county.state() == "group" and "李家村工作组" in facts(county)
    assert badges(county)[-1] == "退回属地（改派）"
    assert "属地问题，请李家村组办理" in county.page.inner_text("ol.timeline")

    other = session("group2")
    other.go("/")
    assert other.page.locator(f'tr[data-case="{case_id}"]').count() == 1
    other.act(case_id, "resolve", resolution="已更换路灯")
    assert "已完成：办结。" in other.page.inner_text(".flash.success")
    county.go(f"/cases/{case_id}")
    assert county.state() == "resolved" and "李家村工作组" in county.page.inner_text("ol.timeline")


def test_the_lead_department_resolves_and_the_assisting_one_reports(session):
    group, team, county = session("group1"), session("team1"), session("county")
    case_id = at_county(group, team, "污水直排入河，涉及两个部门")
    due = (today() + timedelta(days=15)).isoformat()
    county.act(case_id, "refer", department="D1", due_date=due, departments=["D2"])
    assert "环保局" in facts(county)   # 协办部门

    helper = session("dept2")
    helper.go("/cases")
    assert helper.page.locator(f'tr[data-case="{case_id}"]').count() == 1
    helper.go(f"/cases/{case_id}")
    assert "协办部门" in facts(helper) and helper.page.locator("#actions").count() == 0
    helper.page.click("#progress-form > summary")
    helper.page.fill("#progress-form textarea[name=text]", "已派人现场取样")
    with helper.page.expect_navigation():
        helper.page.click("#progress-form button[type=submit]")
    assert "已完成。" in helper.page.inner_text(".flash.success")
    assert badges(helper)[-1] == "进展反馈" and "已派人现场取样" in helper.page.inner_text("ol.timeline")

    lead = session("dept1")
    lead.go(f"/cases/{case_id}")
    assert "已派人现场取样" in lead.page.inner_text("ol.timeline")
    lead.act(case_id, "resolve", resolution="已封堵排污口")
    assert lead.state() == "resolved"


def test_the_office_delegates_the_call_back_to_the_filing_group(session):
    group = session("group1", **PHONE)
    case_id = file_problem(group, "自来水管破裂")
    group.act(case_id, "resolve", resolution="已更换水管")
    county = session("county")
    county.go("/boards/county")
    assert county.page.locator(f'#verifying tr[data-case="{case_id}"]').count() == 1
    county.act(case_id, "delegate_callback", callback_unit="G1", note="请组里上门回访")
    assert county.state() == "callback" and "王家村工作组" in facts(county)
    assert county.page.locator("#actions").count() == 0

    group.go("/")
    assert group.page.locator(f'tr[data-case="{case_id}"]').count() == 1
    group.go(f"/cases/{case_id}")
    assert "委托回访" in facts(group)
    group.act(case_id, "verify", outcome="basically_satisfied", note="已上门回访")
    assert group.state() == "closed" and "已办结销号" in facts(group)
    assert badges(group)[-2:] == ["委托回访", "回访核实"]
    assert "基本满意" in group.page.inner_text("ol.timeline")
    assert group.page.evaluate(WIDTH) <= 360
    group.shot("delegated-call-back-phone")


def test_the_filing_group_hears_the_answer_and_tells_the_resident(session):
    group, team, county = session("group1", **PHONE), session("team1"), session("county")
    case_id = at_county(group, team, "低保申请迟迟没有答复")
    county.act(case_id, "resolve", resolution="已核定低保，下月起发放")
    group.go("/notices/")
    answers = group.page.locator('details[data-kind="answer"]').first
    assert "反馈群众" in answers.inner_text()
    answers.locator("summary").click()
    line = answers.locator(f'li:has(a[href="/cases/{case_id}"])')
    assert "已核定低保，下月起发放" in line.inner_text()
    with group.page.expect_navigation():
        line.locator("a").click()
    group.page.click("#feedback-form > summary")
    form = group.page.locator("#feedback-form form")
    form.locator("[name=how]").select_option("visit")
    form.locator("[name=text]").fill("已上门告知张三，下月起发放低保")
    with group.page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "已完成。" in group.page.inner_text(".flash.success")
    last = group.page.locator("ol.timeline > li").last
    assert last.locator(".badge").inner_text() == "反馈群众"
    told = last.inner_text()
    assert "上门" in told   # how: in person
    assert "已上门告知张三，下月起发放低保" in told and today().isoformat() in told
    assert group.page.evaluate(WIDTH) <= 360
