"""Deadlines on the Chinese working-day calendar, declared days off, pause and resume."""
from __future__ import annotations

from datetime import date, datetime, timezone

from casetrack.extensions import db
from casetrack.services.workdays import calendar
from casetrack.services.casework.cases import fire
from casetrack.services.workdays.days_off import declare_day_off


def on(day: str):
    """Freeze the clock at 10:00 in Shanghai on that day."""
    d = date.fromisoformat(day)
    return calendar.at(datetime(d.year, d.month, d.day, 2, tzinfo=timezone.utc))


def test_group_deadline_skips_national_day_and_counts_the_make_up_saturday(world, api):
    with on("2026-09-29"):  # Tuesday: Sep 30, Oct 8, Oct 9, Sat Oct 10 (调休), Oct 12
        case = world.file("group1")
        db.session.commit()
    assert case.deadline == date(2026, 10, 12)
    with on("2026-10-09"):
        body = api("group1").get(f"/cases/{case.id}").get_json()
    assert body["deadline"] == "2026-10-12"
    assert body["deadline_basis"] == "official"
    assert body["overdue"] is False


def test_make_up_sunday_is_a_working_day(world):
    with on("2026-09-18"):  # Friday; Sunday Sep 20 is a make-up workday in 2026
        assert calendar.add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
        case = world.file("group1")
    assert case.deadline == date(2026, 9, 24)  # Sun 20, Mon 21, 22, 23, Thu 24


def test_a_declared_day_off_moves_deadlines_set_after_it(world, api):
    declare_day_off(world.users["county"], "2026-10-12", "县庆")
    with on("2026-09-29"):
        case = world.file("group1")
    assert case.deadline == date(2026, 10, 13)
    r = api("county").post("/days-off", json={"day": "2026-10-12", "reason": "again"})
    assert r.status_code == 409
    r = api("group1").post("/days-off", json={"day": "2026-10-13", "reason": "mine"})
    assert r.status_code == 403
    assert api("group1").get("/days-off").get_json()["days_off"] == [
        {"day": "2026-10-12", "reason": "县庆"}]


def test_after_the_known_calendar_the_case_says_the_fallback_was_used(world, api):
    with on("2027-03-01"):  # chinese-calendar 1.11 knows nothing of 2027: Monday to Friday
        case = world.file("group1")
        db.session.commit()
        body = api("group1").get(f"/cases/{case.id}").get_json()
    assert body["deadline"] == "2027-03-08"
    assert body["deadline_basis"] == "fallback"


def test_explaining_pauses_the_clock_and_resuming_starts_a_fresh_deadline(world, api):
    with on("2026-06-01"):
        case = world.file("group1")
        fire(case, "explain", world.users["group1"], explanation="资金未到位", revisit_on="2026-09-01")
        db.session.commit()
    with on("2026-08-03"):  # long after the group's 5 days: still not overdue
        body = api("group1").get(f"/cases/{case.id}").get_json()
        assert body["paused"] is True and body["overdue"] is False and body["deadline"] is None
        fire(case, "resume", world.users["group1"])
        db.session.commit()
        body = api("group1").get(f"/cases/{case.id}").get_json()
    assert body["state"] == "group" and body["paused"] is False
    assert body["deadline"] == "2026-08-10"


def test_pre_warning_day_is_the_share_of_the_working_days_from_the_file(world):
    with on("2026-06-01"):  # Monday; 5 working days -> due Jun 8, warned from the 4th: Jun 5
        case = world.file("group1")
    assert (case.deadline, case.warn_on) == (date(2026, 6, 8), date(2026, 6, 5))


def test_removing_a_declared_day_off(world, api):
    county = api("county")
    assert county.post("/days-off", json={"day": "2026-10-12", "reason": "县庆"}).status_code == 201
    assert county.post("/days-off", json={"day": "12 Oct", "reason": ""}).get_json()["errors"].keys() \
        == {"day", "reason"}
    assert county.client.delete("/api/v1/days-off/2026-10-12", headers=county.headers).status_code == 204
    assert county.client.delete("/api/v1/days-off/2026-10-12", headers=county.headers).status_code == 404
    assert county.client.delete("/api/v1/days-off/someday", headers=county.headers).status_code == 404
    with on("2026-09-29"):
        assert world.file("group1").deadline == date(2026, 10, 12)  # counts again
