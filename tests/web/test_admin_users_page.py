"""The administrator's list of users, over more than one page."""
from __future__ import annotations

import re

from sqlalchemy import insert

from casetrack.extensions import db
from casetrack.models import User


def test_a_long_user_list_keeps_its_title_plain_and_offers_the_next_page(client, auth, world):
    db.session.execute(insert(User), [{"username": f"cadre{i:03d}", "name": f"干部{i}", "role": "group_member",
                                       "unit_id": world.units["G1"].id, "password_hash": "x"}
                                      for i in range(120)])
    db.session.commit()
    auth.login("admin")
    page = client.get("/admin/users").text
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in title and "after=" not in title, title   # the browser tab shows no markup
    assert page.count('rel="next"') == 1
    total = db.session.query(User).count()
    assert f"共 {total} 条" in page and page.count('<tr data-user=') == 20
    second = client.get(re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")).text
    assert not set(re.findall(r'<tr data-user="([^"]+)"', page)) & set(re.findall(r'<tr data-user="([^"]+)"', second))


def test_the_unit_list_pages_in_tree_order_and_finds_a_unit(client, auth, world, app):
    app.config["LIST_PAGE_SIZE"] = 3
    auth.login("admin")
    codes, url = [], "/admin/units"
    while url:
        page = client.get(url).text
        codes += re.findall(r'<tr data-unit="([^"]+)"', page)
        more = re.search(r'rel="next" href="([^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert sorted(codes) == sorted(world.units) and len(codes) == len(set(codes))
    assert codes.index("T1") < codes.index("G1") < codes.index("T2")    # each team with its groups
    found = client.get("/admin/units?q=G2").text
    assert re.findall(r'<tr data-unit="([^"]+)"', found) == ["G2"]
    departments = client.get("/admin/departments").text
    assert set(re.findall(r'<tr data-unit="([^"]+)"', departments)) == {c for c in world.units if c.startswith("D")}
