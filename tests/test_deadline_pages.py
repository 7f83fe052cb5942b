"""The case page shows the clock and lets each person do their part of it."""
from __future__ import annotations

from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Extension
from tests.test_deadlines import on

EN = {"Accept-Language": "en"}


def page(client, case_id: int) -> str:
    return client.get(f"/cases/{case_id}", headers=EN).get_data(as_text=True)


def test_ask_decide_and_supervise_from_the_case_page(world, auth, client, api):
    case = world.file("group1")
    db.session.commit()
    auth.login("group1")
    assert "Ask for an extension" in page(client, case.id)
    client.post(f"/notices/cases/{case.id}/extension", data={"days": "99", "reason": "x"}, headers=EN)
    assert "A whole number from 1 to 30" in page(client, case.id)
    client.post(f"/notices/cases/{case.id}/extension", data={"days": "4", "reason": "等待材料"})
    assert "Extension of 4 working days asked: 等待材料" in page(client, case.id)
    assert "Approve" not in page(client, case.id)

    auth.logout()
    auth.login("county")
    html = page(client, case.id)
    assert "Approve" in html and "Add a supervision note" in html
    ext = db.session.scalars(select(Extension).where(Extension.case_id == case.id)).one()
    client.post(f"/notices/extensions/{ext.id}/decision", data={"approve": "yes"})
    client.post(f"/notices/cases/{case.id}/supervise", data={"text": "请尽快办理"})
    html = page(client, case.id)
    assert "Extension of" not in html and "请尽快办理" in html and "not yet acknowledged" in html
    assert api("group1").get(f"/cases/{case.id}").get_json()["events"][-2]["trigger"] == "extension_approved"


def test_the_page_says_when_the_fallback_calendar_was_used(world, auth, client):
    with on("2027-03-01"):
        case = world.file("group1")
        db.session.commit()
        auth.login("group1")
        assert "official holidays are not known yet" in page(client, case.id)
    with on("2026-03-02"):
        other = world.file("group1")
        db.session.commit()
        assert "official holidays are not known yet" not in page(client, other.id)


def test_a_pending_extension_keeps_the_overdue_badge_off(world, auth, client):
    with on("2026-06-01"):
        case = world.file("group1")
        waiting = world.file("group1")
        db.session.commit()
    with on("2026-06-10"):
        auth.login("group1")
        client.post(f"/notices/cases/{waiting.id}/extension", data={"days": "5", "reason": "等待资金"})
        assert 'class="badge overdue"' in page(client, case.id)
        html = page(client, waiting.id)
        assert 'class="badge overdue"' not in html and "clock paused" in html
