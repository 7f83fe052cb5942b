"""The pages of each kind of user, through the Flask test client."""
from __future__ import annotations

import re

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Case, Category
from casetrack.services.casework.cases import fire

EN = {"Accept-Language": "en"}


def login(client, username):
    client.post("/lang/en")
    r = client.post("/login", data={"username": username, "password": "secret"})
    assert r.status_code == 302, username
    return client


def test_every_page_of_every_user_renders(client, world):
    world.file("group1", title="村道坑洼")
    db.session.commit()
    pages = {"group1": ["/", "/cases", "/cases/new"], "team1": ["/", "/boards/team"],
             "county": ["/", "/boards/county", "/cases?state=county&overdue=true&q=路"],
             "dept1": ["/", "/boards/department"],
             "admin": ["/admin/users", "/admin/units", "/admin/departments", "/admin/categories"]}
    for username, paths in pages.items():
        login(client, username)
        for path in paths:
            assert client.get(path).status_code == 200, (username, path)
        client.post("/logout")


def test_inbox_lists_what_waits_for_me_overdue_first_with_counts(client, world):
    old = world.file("group1", title="旧问题")
    new = world.file("group1", title="新问题")
    world.file("group2", title="别组的问题")
    escalated = world.file("group1", title="已上报")
    fire(escalated, "escalate", world.users["group1"], reason="解决不了")
    old.deadline = old.deadline.replace(year=old.deadline.year - 1)
    db.session.commit()
    page = login(client, "group1").get("/").text
    ids = [int(i) for i in re.findall(r'data-case="(\d+)"', page)]
    assert ids == [old.id, new.id]
    assert 'data-figure="total">2 in all<' in page and ">1 overdue<" in page
    page = login(client, "team1").get("/").text
    assert re.findall(r'data-case="(\d+)"', page) == [str(escalated.id)]


def test_case_list_filters_search_chinese_text_and_pages_by_keyset(client, app, world):
    app.config["PAGE_SIZE"] = 2
    for title in ("路灯坏了", "水渠淤堵", "村道坑洼", "村道积水"):
        world.file("group1", title=title)
    world.file("group3", title="村道塌方")
    db.session.commit()
    c = login(client, "team1")
    page = c.get("/cases?q=村道").text
    assert "村道积水" in page and "村道坑洼" in page and "水渠" not in page and "塌方" not in page
    assert 'rel="next"' not in page
    first = c.get("/cases").text
    assert first.count("data-case=") == 2 and "路灯坏了" not in first
    more = re.search(r'href="([^"]+)">More<', first).group(1).replace("&amp;", "&")
    second = c.get(more).text
    assert second.count("data-case=") == 2 and "路灯坏了" in second
    assert "路灯坏了" not in c.get("/cases?unit=G2").text
    assert c.get("/cases?kind=nonsense").status_code == 422


def test_case_page_keeps_typed_values_and_marks_the_missing_field(client, world):
    case = world.file("group1")
    db.session.commit()
    c = login(client, "group1")
    r = c.post(f"/cases/{case.id}/resolve", data={"version": case.version, "resolution": "",
                                                 "funds": "2.5"})
    assert r.status_code == 422
    assert 'value="2.5"' in r.text
    assert re.search(r'<div class="field-error">\s*<label for="resolve-resolution"', r.text)
    assert 'name="resolution" aria-invalid=true' in r.text


def test_stale_case_says_so_and_offers_a_reload(client, world):
    case = world.file("group1")
    db.session.commit()
    version = case.version
    fire(case, "resolve", world.users["member1"], resolution="修好了")   # a member proposes
    db.session.commit()
    r = login(client, "group1").post(f"/cases/{case.id}/escalate",
                                     data={"version": version, "reason": "太难"})
    assert r.status_code == 409
    assert 'id="stale"' in r.text and f'href="/cases/{case.id}"' in r.text
    assert db.session.get(Case, case.id).state == "proposed"


def test_a_user_without_the_trigger_gets_no_button_and_a_friendly_403(client, world):
    case = world.file("group1", kind="shared")
    fire(case, "escalate", world.users["member1"], reason="本组无力解决")
    db.session.commit()
    c = login(client, "group1")
    page = c.get(f"/cases/{case.id}").text
    assert 'data-trigger=' not in page and "张三" in page
    r = c.post(f"/cases/{case.id}/escalate", data={"version": case.version, "reason": "x"})
    assert r.status_code == 403 and "You may not do this on this case." in r.text
    assert "Traceback" not in r.text


def test_out_of_scope_case_and_its_resident_stay_hidden(client, world):
    case = world.file("group1")
    db.session.commit()
    for username in ("group3", "team2", "dept1"):
        r = login(client, username).get(f"/cases/{case.id}")
        assert r.status_code == 404 and "张三" not in r.text
        assert "张三" not in client.get("/cases").text
        client.post("/logout")


def test_boards_count_by_group_and_state(client, world):
    for _ in range(2):
        world.file("group2")
    fire(world.file("group1", kind="shared"), "escalate", world.users["group1"], reason="本组无力解决")
    referred = world.file("group1", kind="shared")
    fire(referred, "escalate", world.users["group1"], reason="本组无力解决")
    fire(referred, "escalate", world.users["team1"], reason="需要县里协调")
    fire(referred, "refer", world.users["county"], department="D1", due_date="2099-01-01")
    db.session.commit()
    page = login(client, "team1").get("/boards/team").text
    g2 = re.search(r'<tr data-group="G2">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-state="group"><a [^>]*>2</a>', g2)
    g1 = re.search(r'<tr data-group="G1">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-state="team"><a [^>]*>1</a>', g1)
    assert re.search(r'data-state="department"><a [^>]*>1</a>', g1)
    client.post("/logout")
    page = login(client, "county").get("/boards/county").text
    referred_section = re.search(r'<section id="referred">(.*?)</section>', page, re.S).group(1)
    assert f'data-case="{referred.id}"' in referred_section and "2099-01-01" in referred_section
    client.post("/logout")
    page = login(client, "dept1").get("/boards/department").text
    assert f'data-case="{referred.id}"' in page
    assert login(client, "group1").get("/boards/county").status_code == 403


def test_admin_creates_resets_and_deactivates_users(app, world):
    admin, victim = app.test_client(), app.test_client()
    login(victim, "dept2")
    assert victim.get("/").status_code == 200
    login(admin, "admin")
    r = admin.post("/admin/users", data={"username": "new.cadre", "name": "李四",
                                         "role": "group_member", "unit": "G1", "password": "pw1234"})
    assert r.status_code == 302
    r = admin.post("/admin/users", data={"username": "bad", "role": "group_member", "unit": "D1",
                                         "password": "pw1234"})
    assert r.status_code == 422 and "This role belongs in a unit of kind: group." in r.text
    assert 'value="bad"' in r.text
    assert app.test_client().post("/login", data={"username": "new.cadre",
                                                  "password": "pw1234"}).status_code == 302
    found = admin.get("/admin/users?q=住建").text
    assert 'data-user="dept1"' in found and 'data-user="dept2"' not in found
    dept2 = world.users["dept2"]
    admin.post(f"/admin/users/{dept2.id}/active", data={"active": "0"})
    assert victim.get("/").status_code == 302  # sent to the login page: the session ended
    assert app.test_client().post("/login", data={"username": "dept2",
                                                  "password": "secret"}).status_code == 200
    admin.post(f"/admin/users/{dept2.id}/active", data={"active": "1"})
    admin.post(f"/admin/users/{dept2.id}/password", data={"password": "fresh"})
    assert app.test_client().post("/login", data={"username": "dept2",
                                                  "password": "fresh"}).status_code == 302


def test_admin_manages_units_departments_and_categories(client, world):
    c = login(client, "admin")
    assert c.post("/admin/departments", data={"code": "D3", "name": "教育局", "kind": "department",
                                              "parent": "C"}).status_code == 302
    assert "教育局" in c.get("/admin/departments").text
    r = c.post("/admin/units", data={"code": "G9", "name": "错位组", "kind": "group", "parent": "C"})
    assert r.status_code == 422 and "A unit of this kind cannot sit there." in r.text
    assert c.post("/admin/categories", data={"code": "water", "name_zh": "饮水安全",
                                             "name_en": "Drinking water"}).status_code == 302
    water = db.session.scalars(select(Category).where(Category.code == "water")).one()
    c.post(f"/admin/categories/{water.id}/active", data={"active": "0"})
    d2 = world.units["D2"]
    c.post(f"/admin/units/{d2.id}/active", data={"active": "0"})
    c.post("/logout")
    form = login(client, "group1").get("/cases/new").text
    assert "Drinking water" not in form and "Housing" in form
    case = world.file("group1", kind="shared")
    fire(case, "escalate", world.users["group1"], reason="本组无力解决")
    fire(case, "escalate", world.users["team1"], reason="需要县里协调")
    db.session.commit()
    refer = login(client, "county").get(f"/cases/{case.id}").text
    assert 'value="D1"' in refer and 'value="D2"' not in refer
    assert client.get("/admin/users").status_code == 403


def test_times_are_shown_in_shanghai_time(client, world):
    from datetime import datetime, timezone

    from casetrack.services.workdays import calendar
    with calendar.at(datetime(2026, 6, 30, 17, 30, tzinfo=timezone.utc)):
        case = world.file("group1")
    db.session.commit()
    page = login(client, "group1").get(f"/cases/{case.id}").text
    assert "2026-07-01 01:30" in page and "2026-06-30 17:30" not in page


def form_fields(page: str) -> dict[str, set[str]]:
    """{trigger: the names of the fields its form asks for} on a case page."""
    forms = re.findall(r'data-trigger="(\w+)"[^>]*novalidate>(.*?)</form>', page, re.S)
    return {t: set(re.findall(r'name="(\w+)"', body)) - {"csrf_token", "version"} for t, body in forms}


def test_every_other_action_works_through_its_form(client, world):
    case = world.file("group1", kind="shared")
    db.session.commit()

    def act(username, trigger, expected_fields, **data):
        c = login(client, username)
        page = c.get(f"/cases/{case.id}").text
        assert form_fields(page)[trigger] == expected_fields
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        r = c.post(f"/cases/{case.id}/{trigger}", data={"version": version, **data})
        assert r.status_code == 302, r.text
        client.post("/logout")
        return db.session.get(Case, case.id)

    act("group1", "escalate", {"reason"}, reason="本组无力解决")   # a shared problem stays until then
    assert form_fields(login(client, "team1").get(f"/cases/{case.id}").text) == {
        "resolve": {"resolution", "funds", "donations", "photos"}, "explain": {"explanation", "revisit_on"},
        "escalate": {"reason"}, "send_back": {"reason", "group"},
        "refer": {"department", "due_date", "note", "departments"}}
    client.post("/logout")
    assert act("team1", "send_back", {"reason", "group"}, reason="请李家村组核实",
               group="G2").group_id == world.units["G1"].id
    assert db.session.get(Case, case.id).unit.code == "G2"
    act("group2", "explain", {"explanation", "revisit_on"}, explanation="资金明年到位",
        revisit_on="2099-03-01")
    assert act("group2", "resume", {"note"}, note="资金已到").state == "group"
    act("group2", "escalate", {"reason"}, reason="需要工作队")
    act("team1", "escalate", {"reason"}, reason="需要县里")
    referral = {"department", "due_date", "note", "departments"}
    act("county", "refer", referral, department="D2", due_date="2099-01-01")
    assert act("dept2", "return", {"reason"}, reason="不归我局管").state == "county"
    act("county", "refer", referral, department="D1", due_date="2099-01-01")
    act("dept1", "resolve", {"resolution", "funds", "donations", "photos"}, resolution="已修复",
        donations="1.5")
    reopened = act("county", "verify", {"outcome", "note", "words"}, outcome="dissatisfied",
                   words="仍有积水")
    assert reopened.state == "department" and reopened.unit.code == "D1"


def test_a_deadline_beyond_the_known_calendar_says_how_it_was_counted(client, world):
    known = world.file("group1")
    later = world.file("group1", title="明年的问题")
    later.deadline = known.deadline.replace(year=2099)
    db.session.commit()
    c = login(client, "group1")
    note = "Counted Monday to Friday"
    assert note not in c.get(f"/cases/{known.id}").text
    assert note in c.get(f"/cases/{later.id}").text
