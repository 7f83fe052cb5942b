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
