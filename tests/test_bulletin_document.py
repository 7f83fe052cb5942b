"""The bulletin as an official document (issue 24): types, 2026年第N期, the office's text with the
figures filled in, typical cases, the 版记, the .docx after GB/T 9704, and the issues' API."""
from __future__ import annotations

import io

import pytest

from casetrack.extensions import db
from casetrack.models import Bulletin
from casetrack.services.reports import bulletin_issues as bi
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from tests.test_bulletin import P, P2, Week, at


@pytest.fixture
def week(world) -> Week:
    return Week(world)


def published(week, period=P, kind="briefing", **fields) -> Bulletin:
    u = week.w.users
    with at(6, 15):
        issue = bi.publish_period(u["county"], week.w.units["C"], *period, kind, **fields)
        db.session.commit()
    return issue


def test_a_published_briefing_reads_back_as_an_official_document(week, app):
    import docx
    from casetrack.services.reports import bulletin_export as bx
    u, c = week.w.users, week.w.units["C"]
    bi.save_setting(u["county"], c, "briefing", main_to="各镇工作队", copy_to="县委办、县政府办",
                    printed_by="测试县大走访活动办公室")
    issue = published(week, signed_by="王主任", typical=[week.A.id])
    with app.test_request_context():
        document = docx.Document(io.BytesIO(bx.to_docx(issue.figures)))
    lines = [p.text for p in document.paragraphs]
    text = "\n".join(lines)
    masthead = document.paragraphs[0]
    assert masthead.text == "大走访活动简报"
    assert str(masthead.runs[0].font.color.rgb) == "FF0000"
    assert masthead.runs[0]._element.rPr.rFonts.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "方正小标宋简体"
    assert lines[1] == "2026年第1期（总第1期）"
    assert lines[2].startswith("测试县活动办\t2026年6月15日")
    assert "签发：王主任" in text
    # the office's text with the figures of P filled in (4 visits, 6 problems found, 75.0% coverage)
    assert "一、工作动态" in text and "四、下步打算" in text
    assert "共走访4次" in text and "发现问题6个" in text and "核实解决3个" in text and "75.0%" in text
    assert "{{" not in text
    assert "五、典型问题" in text and week.A.title in text and "修好了" in text
    # the 版记, last
    assert lines[-3:] == ["主送：各镇工作队", "抄送：县委办、县政府办", "测试县大走访活动办公室\t2026年6月15日印发"]
    section = document.sections[0]
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(m.mm) for m in margins] == [37, 35, 28, 26]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    footer = section.footer.paragraphs[0]._p.xml
    assert "— " in footer and 'w:instr="PAGE"' in footer
    # the page's charts are in the document as pictures, 150 mm wide, after the text
    with app.test_request_context():
        titles = [c["title"] for c in bx.charts(issue.figures)]
    pictures = [r for r in document.part.rels.values() if r.reltype.endswith("/image")]
    assert len(titles) >= 4 and len(document.inline_shapes) == len(titles) == len(pictures)
    assert all(round(shape.width.mm) == 150 for shape in document.inline_shapes)
    assert all(p.target_part.blob[:8] == b"\x89PNG\r\n\x1a\n" for p in pictures)


def test_issues_are_numbered_per_type_and_year_with_a_running_total(week):
    first = published(week)
    second = published(week, P2)
    express = published(week, kind="express")
    assert (first.year, first.number, first.total) == (2026, 1, 1)
    assert (second.number, second.total) == (2, 2)
    assert (express.number, express.total) == (1, 1)      # each type counts its own
    with pytest.raises(Conflict):
        published(week)                                    # the same period and type twice
    fix = published(week, corrects=first)                  # a correction says what it corrects
    assert fix.number == 3 and fix.figures["corrects"] == {"id": first.id, "year": 2026, "number": 1}


def test_a_published_issue_is_never_changed(week, client, auth):
    issue = published(week)
    with pytest.raises(Conflict):
        bi.edit(week.w.users["county"], issue, narrative={"news": "改过了"})
    auth.login("county")
    r = client.post(f"/reports/issues/{issue.id}", data={"news": "改过了", "signed_by": "某人"})
    assert r.status_code == 409
    assert "已印发" in r.get_data(as_text=True)
    db.session.expire_all()
    assert "改过了" not in str(db.session.get(Bulletin, issue.id).figures["narrative"])


def test_the_sandbox_refuses_a_template_that_reaches_beyond_the_figures(week, client, auth):
    u, c = week.w.users, week.w.units["C"]
    with pytest.raises(ValidationFailed) as refused:
        bi.publish_period(u["county"], c, *P, narrative={"news": "{{ ''.__class__.__mro__ }}"})
    assert "news" in refused.value.errors
    with at(6, 15):
        draft = bi.draft_bulletin(u["county"], c, "briefing", P)
        db.session.commit()
    auth.login("county")
    with at(6, 15):
        r = client.post(f"/reports/issues/{draft.id}", data={"news": "{{ ''.__class__ }}", "signed_by": "王"})
        assert r.status_code == 422
        assert "文稿只能引用数据" in r.get_data(as_text=True)
        r = client.post(f"/reports/issues/{draft.id}", data={"news": "{{ visits.nothing }}"})
        assert r.status_code == 422 and "没有这个数据" in r.get_data(as_text=True)
        r = client.post(f"/reports/issues/{draft.id}", data={"news": "{% for %}"})
        assert r.status_code == 422 and "占位符格式有误" in r.get_data(as_text=True)
        # a good text is saved, then published from the page with the figures in it
        r = client.post(f"/reports/issues/{draft.id}", data={"news": "本周走访{{ visits.total }}次。",
                                                              "signed_by": "王主任", "publish": "1"})
        assert r.status_code == 302
        page = client.get(f"/reports/issues/{draft.id}").get_data(as_text=True)
    assert "本周走访4次。" in page and "2026年第1期" in page and "签发：王主任" in page


def test_only_the_units_publishers_draft_and_pick_their_own_closed_cases(week, client, auth):
    u, c = week.w.users, week.w.units
    with pytest.raises(Forbidden):
        bi.draft_bulletin(u["group1"], c["G1"], "briefing", P)
    with pytest.raises(ValidationFailed):      # C is explained, not closed
        bi.draft_bulletin(u["county"], c["C"], "briefing", P, typical=[week.C.id])
    with pytest.raises(ValidationFailed):
        bi.draft_bulletin(u["team2"], c["T2"], "briefing", P, typical=[week.A.id])   # T1's case
    with pytest.raises(ValidationFailed):
        bi.draft_bulletin(u["county"], c["C"], "weekly", P)
    auth.login("group1")
    assert client.get("/reports/circulation").status_code == 403
    assert client.post("/reports/bulletin/draft", data={"unit": "G1", "from": "2026-06-01",
                                                        "to": "2026-06-07"}).status_code == 403
    auth.logout()
    auth.login("team1")
    assert client.get("/reports/circulation").status_code == 200
    r = client.post("/reports/circulation", data={"type": "special", "main_to": "县活动办", "news": "{% for %}"})
    assert r.status_code == 422
    r = client.post("/reports/circulation", data={"type": "special", "main_to": "县活动办", "copy_to": "",
                                                  "printed_by": "东山镇工作队"})
    assert r.status_code == 302
    with at(6, 15):
        r = client.post("/reports/bulletin/draft", data={"unit": "T1", "from": "2026-06-01",
                                                         "to": "2026-06-07", "type": "special"})
        assert r.status_code == 302
        page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "大走访活动专报" in page and "主送：县活动办" in page and week.A.title in page   # a closed case to pick
    auth.logout()
    auth.login("county")        # another unit's draft is not found, not forbidden
    assert client.get(r.headers["Location"]).status_code == 404


def test_api_lists_the_issues_of_my_unit_and_below_by_pages(week, api):
    u, c = week.w.users, week.w.units
    county_issue = published(week)
    with at(6, 15):
        team_issues = [bi.publish_period(u["team1"], c["T1"], *period) for period in (P, P2)]
        bi.draft_bulletin(u["team1"], c["T1"], "express", P)          # a draft is never listed
        db.session.commit()
    county = api("county").get("/bulletins?limit=2")
    assert county.status_code == 200
    items = county.json["items"]
    newest = sorted([county_issue.id, *(t.id for t in team_issues)], reverse=True)
    assert [i["id"] for i in items] == newest[:2]
    first = items[0]
    assert set(first) == {"id", "type", "year", "number", "period_from", "period_to", "published_at", "signed_by"}
    rest = api("county").get(f"/bulletins?limit=2&cursor={county.json['cursor']}").json
    assert {i["id"] for i in items + rest["items"]} == {county_issue.id, *(t.id for t in team_issues)}
    assert rest["next"] is None
    team = api("team1").get("/bulletins").json["items"]
    assert {i["id"] for i in team} == {t.id for t in team_issues}            # not the county's
    assert {(i["type"], i["year"], i["number"]) for i in team} == {("briefing", 2026, 1), ("briefing", 2026, 2)}
    for other in ("team2", "group1", "dept1", "admin"):
        assert api(other).get("/bulletins").json["items"] == [], other
    assert api("county").get("/bulletins?type=express").json["items"] == []
    assert api("county").get("/bulletins?type=weekly").status_code == 422
    assert api("county").get("/bulletins?cursor=x").status_code == 422


def test_cli_renders_a_type(week, runner, tmp_path):
    import docx
    out = tmp_path / "b.docx"
    result = runner.invoke(args=["bulletin", "--from", "2026-06-01", "--to", "2026-06-07", "--unit", "C",
                                 "--output", str(out), "--format", "docx", "--type", "circular"])
    assert result.exit_code == 0, result.output
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "大走访活动督查通报" in text and "发现问题6个" in text
    assert db.session.query(Bulletin).count() == 0        # rendered, not published
