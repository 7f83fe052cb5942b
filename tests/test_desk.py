"""The office's desk: finding a resident's cases, and what the list pages show of them."""
from casetrack.extensions import db
from casetrack.models import Target


def _found(client_, q: str) -> set[str]:
    return {c["title"] for c in client_.get("/cases", query_string={"q": q}).json["cases"]}


def test_a_resident_is_found_by_name_phone_address_or_village_in_scope_only(api, world):
    village = Target(kind="farm_household", name="李四家", village="桃源村", group_id=world.units["G1"].id)
    db.session.add(village)
    db.session.flush()
    world.file("group1", title="李家屋顶漏雨", resident={"name": "李四", "phone": "138 0000 0001",
                                                   "address": "东山镇上街7号"}, target=village.id)
    world.file("group3", title="赵家门前积水", resident={"name": "赵六", "phone": "13900000002",
                                                   "address": "西河镇下街9号"})
    db.session.commit()
    county, team1 = api("county"), api("team1")
    assert _found(county, "李四") == {"李家屋顶漏雨"}
    assert _found(county, "13800000001") == {"李家屋顶漏雨"}  # typed without the spaces
    assert _found(county, "0001") == {"李家屋顶漏雨"}
    assert _found(county, "上街") == {"李家屋顶漏雨"}
    assert _found(county, "桃源") == {"李家屋顶漏雨"}
    assert _found(county, "赵六") == {"赵家门前积水"}
    assert _found(team1, "赵六") == set()  # another team's resident stays out of sight
    assert _found(team1, "0002") == set()


def test_the_list_masks_a_phone_the_case_page_shows_it_whole(client, auth, world):
    case = world.file("group1", title="屋顶漏雨", resident={"name": "李四", "phone": "13800000001",
                                                        "address": "上街7号"})
    db.session.commit()
    auth.login("county")
    listed = client.get("/cases?q=李四").get_data(as_text=True)
    assert "138****0001" in listed and "13800000001" not in listed
    assert "13800000001" in client.get(f"/cases/{case.id}").get_data(as_text=True)


def test_an_empty_search_says_nothing_matches(client, auth, world):
    auth.login("county")
    page = client.get("/cases?q=没有这个人", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "没有符合条件的问题" in page


def _kinds_seen(api, username: str) -> list:
    return [(n["kind"], n["case"]) for n in api(username).get("/notifications").get_json()["notifications"]]


def test_a_filing_tells_the_units_other_users_not_the_one_who_filed(api, world):
    by_leader, by_member = world.file("group1"), world.file("member1")
    db.session.commit()
    assert _kinds_seen(api, "group1") == [("new_case", by_member.id)]
    assert _kinds_seen(api, "member1") == [("new_case", by_leader.id)]


def test_notices_are_one_line_per_kind_and_day_and_read_by_the_line(client, auth, api, world):
    for i in range(30):
        world.file("group1", title=f"第{i}号漏雨")
    db.session.commit()
    auth.login("member1")
    page = client.get("/notices/").get_data(as_text=True)
    assert page.count('<details class="digest') == 1
    assert "30 条通知" in page and "30 条未读" in page
    assert page.count("data-notice=") == 5  # the newest few inside; the rest one link away
    day = page.split('data-day="')[1].split('"')[0]
    whole = client.get(f"/notices/?kind=new_case&day={day}").get_data(as_text=True)
    assert whole.count("data-notice=") == 30 and "第0号漏雨" in whole
    assert client.get("/notices/?kind=nonsense&day=2026-02-30").status_code == 422
    client.post("/notices/read-group", data={"kind": "new_case", "day": day})
    assert api("member1").get("/notifications").get_json()["unread"] == 0


def test_a_board_lists_the_most_urgent_few_and_counts_them_all(client, auth, world):
    from casetrack.services.casework.cases import fire
    for i in range(14):   # a shared problem stays with the group until it escalates (issue 22)
        case = world.file("group1", kind="shared", title=f"第{i}号共性问题")
        fire(case, "escalate", world.users["group1"], reason="本组无力解决")
        fire(case, "escalate", world.users["team1"], reason="需县里协调")
    db.session.commit()
    auth.login("county")
    page = client.get("/boards/county").get_data(as_text=True)
    incoming = page.split('id="incoming"')[1].split("</section>")[0]
    assert incoming.count("data-case=") == 10
    assert "共 14 件" in incoming and "本周到期" in incoming
    assert "/cases?held_by=C&amp;state=county" in incoming and "查看全部 14 个问题" in incoming
    assert 'data-label="办理期限"' in incoming  # a date on a phone's card says which date it is
    listed = client.get("/cases?held_by=C&state=county").get_data(as_text=True)
    assert listed.count("data-case=") == 14


def test_api_tokens_live_under_my_settings_not_in_every_header(client, auth, world):
    auth.login("group1")
    page = client.get("/").get_data(as_text=True)
    header = page.split("</header>")[0]
    assert "API 令牌" not in header and '<details class="menu">' in header and "/settings/" in header
    assert 'rel="icon"' in page
    assert "/settings/tokens" in client.get("/settings/").get_data(as_text=True)


def test_a_downloaded_list_is_named_in_chinese_with_its_unit_and_day(client, auth, world):
    from urllib.parse import quote

    from casetrack.services.workdays.calendar import today
    auth.login("team1")
    disposition = client.get("/cases/export.xlsx").headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote(f'问题清单-东山镇工作队-{today().isoformat()}.xlsx')}" in disposition
    disposition = client.get("/coverage/unvisited.xlsx").headers["Content-Disposition"]
    assert f"filename*=UTF-8''{quote(f'未走访对象-东山镇工作队-{today().isoformat()}.xlsx')}" in disposition


def test_a_resident_is_found_by_the_end_of_the_id_card_in_scope_only(api, client, auth, world):
    """The group files the last digits of the resident's ID card (not the whole number); the
    office finds the case by them, another team does not; a wrong tail is refused with a message."""
    auth.login("group1")
    r = client.post("/cases/new", data={"title": "王家危房", "description": "", "category": "housing",
                                        "kind": "individual", "urgency": "normal", "resident_name": "王五",
                                        "resident_id_tail": "02x"})
    assert r.status_code == 422 and "身份证号的后 4 至 6 位" in r.get_data(as_text=True)
    r = client.post("/cases/new", data={"title": "王家危房", "description": "", "category": "housing",
                                        "kind": "individual", "urgency": "normal", "resident_name": "王五",
                                        "resident_id_tail": "30102x"})
    assert r.status_code == 302
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert "身份证号后几位：30102X" in client.get(f"/cases/{case_id}").get_data(as_text=True)
    world.file("group1", title="李家漏雨", resident={"name": "李四", "phone": "13800001020"})
    db.session.commit()
    county = api("county")
    assert _found(county, "102X") == {"王家危房"} and _found(county, "102x") == {"王家危房"}
    assert _found(county, "0102X") == {"王家危房"}
    assert _found(county, "1020") == {"李家漏雨"}          # the end of a phone, not of an ID card
    assert _found(api("team2"), "102X") == set()
    assert county.get(f"/cases/{case_id}").json["resident"]["id_tail"] == "30102X"
