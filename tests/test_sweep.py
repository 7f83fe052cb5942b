"""The deadline sweep: pre-warnings, overdue flags, auto-escalation; idempotent; one JSON line."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Notification
from casetrack.services.workdays import calendar
from casetrack.services.casework.cases import fire
from casetrack.services.deadlines.extension_requests import request_extension
from casetrack.services.deadlines.sweep import sweep_deadlines
from tests.test_deadlines import on


def sweep(runner, day: str) -> dict:
    with on(day):
        result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    done = json.loads(lines[0])
    done.pop("revisits")  # explained cases brought back: tests/test_rule_as_written.py
    return done


def events(case: Case, trigger: str) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.trigger == trigger).order_by(CaseEvent.id)))


def notices(kind: str, unit) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == kind, Notification.unit_id == unit.id))


def digests() -> set[tuple]:
    """The sweep's digests as (kind, recipient, unit counted or None, count)."""
    db.session.expire_all()
    return {(n.kind, n.unit.code, n.about_unit.code if n.about_unit else None, n.count)
            for n in db.session.scalars(select(Notification).where(Notification.count.is_not(None)))}


def test_warn_then_flag_overdue_then_escalate_each_once(world, runner):
    with on("2026-06-01"):  # due Mon Jun 8, pre-warning from Fri Jun 5
        case = world.file("group1")
        db.session.commit()
    nothing = {"escalated": 0, "warned": 0, "overdue": 0}
    assert sweep(runner, "2026-06-04") == nothing
    assert sweep(runner, "2026-06-05") == {**nothing, "warned": 1}
    assert sweep(runner, "2026-06-05") == nothing
    assert digests() == {("pre_warning", "G1", None, 1)}

    assert sweep(runner, "2026-06-09") == {**nothing, "overdue": 1}  # 1 working day late
    assert sweep(runner, "2026-06-09") == nothing
    assert ("overdue", "T1", "G1", 1) in digests()  # the group's superior hears of it

    assert sweep(runner, "2026-06-10") == {**nothing, "escalated": 1}  # 2 working days late
    assert sweep(runner, "2026-06-10") == nothing
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    assert (case.state, case.unit.code) == ("team", "T1")
    [escalation] = events(case, "escalate")
    assert escalation.actor_id is None and "系统自动上报" in escalation.data["reason"]
    assert notices("escalation", world.units["T1"]) == 1
    assert [len(events(case, t)) for t in ("pre_warning", "overdue")] == [1, 1]


def test_weekend_and_holidays_do_not_count_towards_escalation(world, runner):
    with on("2026-09-23"):  # Sep 24; Mid-autumn Sep 25-27; Sep 28, 29, 30; National Day; Oct 8
        case = world.file("group1")
        db.session.commit()
    assert case.deadline.isoformat() == "2026-10-08"
    assert sweep(runner, "2026-10-07")["overdue"] == 0     # National Day: not late yet
    assert sweep(runner, "2026-10-09")["escalated"] == 0   # 1 working day late
    assert sweep(runner, "2026-10-10")["escalated"] == 1   # Saturday Oct 10 is a make-up workday


def test_paused_linked_and_pending_cases_are_left_alone(world, runner):
    with on("2026-06-01"):
        explained = world.file("group1")
        fire(explained, "explain", world.users["group1"], explanation="暂不具备条件",
             revisit_on="2026-12-01")
        pending = world.file("group1")
        request_extension(world.users["group1"], pending, 5, "等待资金")
        db.session.commit()
    assert sweep(runner, "2026-07-01") == {"escalated": 0, "warned": 0, "overdue": 0}


def test_the_sweep_service_counts_and_the_cli_commits(world, app):
    with on("2026-06-01"):
        for _ in range(3):
            world.file("group1")
        db.session.commit()
    with on("2026-06-09"):
        assert sweep_deadlines(batch=2) == {"escalated": 0, "warned": 0, "overdue": 3}


def test_the_sweep_acts_on_a_deadline_changed_earlier_in_its_transaction(world, app):
    """The service reads its batches past the session: what the session still holds unwritten
    must reach the database first, or the sweep would judge the case by its old deadline."""
    with on("2026-06-01"):
        moved, kept = world.file("group1"), world.file("group1")
        db.session.commit()
    moved.deadline, moved.warn_on = date(2026, 6, 19), date(2026, 6, 17)  # not flushed
    with on("2026-06-09"):
        assert sweep_deadlines() == {"escalated": 0, "warned": 0, "overdue": 1}
    assert events(moved, "overdue") == [] and len(events(kept, "overdue")) == 1


def test_the_sweeps_events_keep_the_audit_chain_whole(world, runner):
    from casetrack.services.integrity.audit import verify_chain
    with on("2026-06-01"):
        world.file("group1")
        db.session.commit()
    for day in ("2026-06-05", "2026-06-09", "2026-06-10"):
        sweep(runner, day)
    checked, findings = verify_chain()
    assert checked == 4 and findings == []  # file, pre-warning, overdue, escalate


def test_one_batch_flags_overdue_and_pre_warning_cases_each_in_its_own_column(world, runner):
    with on("2026-06-01"):  # due Mon Jun 8: one working day late on Jun 9
        late = world.file("group1")
    with on("2026-06-03"):  # due Wed Jun 10, pre-warned from Jun 9
        soon = world.file("group1")
    db.session.commit()
    versions = (late.version, soon.version)
    assert sweep(runner, "2026-06-09") == {"escalated": 0, "warned": 1, "overdue": 1}
    db.session.expire_all()
    late, soon = db.session.get(Case, late.id), db.session.get(Case, soon.id)
    assert (late.overdue_for, late.warned_for) == (late.deadline, None)
    assert (soon.warned_for, soon.overdue_for) == (soon.deadline, None)
    # A flag moves the case's sealed head on: an edit begun before it is refused as stale (and
    # asked again), rather than chaining to the head it read.
    assert (late.version, soon.version) == (versions[0] + 1, versions[1] + 1)
    [overdue], [warning] = events(late, "overdue"), events(soon, "pre_warning")
    assert overdue.data == {"deadline": late.deadline.isoformat()} and overdue.actor_id is None
    assert (warning.from_state, warning.to_state, warning.to_unit_id) == ("group", "group", soon.unit_id)
    assert digests() == {("overdue", "G1", None, 1), ("overdue", "T1", "G1", 1), ("pre_warning", "G1", None, 1)}


def late_cases(world, counts: dict[str, int]) -> dict[str, list[int]]:
    """Cases due Mon Jun 8 (one working day late on Jun 9), by filing user."""
    with on("2026-06-01"):
        filed = {user: [world.file(user).id for _ in range(n)] for user, n in counts.items()}
    db.session.commit()
    return filed


def test_a_sweep_tells_each_unit_once_per_kind_however_many_cases_and_batches(world, app):
    late = late_cases(world, {"group1": 3, "group2": 1, "group3": 2})
    with on("2026-06-03"):  # due Wed Jun 10, pre-warned from Jun 9
        world.file("group1"), world.file("group1")
    db.session.commit()
    with on("2026-06-09"):
        assert sweep_deadlines(batch=2, after_batch=db.session.commit) == \
            {"escalated": 0, "warned": 2, "overdue": 6}
        db.session.commit()
    expected = {("overdue", "G1", None, 3), ("overdue", "T1", "G1", 3), ("pre_warning", "G1", None, 2),
                ("overdue", "G2", None, 1), ("overdue", "T1", "G2", 1),
                ("overdue", "G3", None, 2), ("overdue", "T2", "G3", 2)}
    assert digests() == expected  # 4 batches, 7 notices: no case has a notice of its own
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.case_id.in_(
        [i for ids in late.values() for i in ids]))) == 1 * 6  # each case's own "new case" notice only
    with on("2026-06-09"):
        assert sweep_deadlines(after_batch=db.session.commit) == {"escalated": 0, "warned": 0, "overdue": 0}
        db.session.commit()
    assert digests() == expected  # the same day again: nothing new, no count moved


def case_ids(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-case="(\d+)"', page)}


def test_a_digest_links_to_exactly_the_cases_it_counts(world, app, runner, auth, client, api):
    before = late_cases(world, {"group1": 1})["group1"]
    sweep(runner, "2026-06-09")  # an earlier run flagged this one: old news for the next digest
    late = late_cases(world, {"group1": 2, "group2": 1})
    with on("2026-06-08"):  # with the group too, its deadline not near: in no digest
        world.file("group1")
    db.session.commit()
    with calendar.at(datetime(2026, 6, 9, 3, tzinfo=timezone.utc)):  # the next hour's run
        assert runner.invoke(args=["sweep"]).exit_code == 0
        auth.login("team1")
        body = api("team1").get("/notifications").get_json()["notifications"]
        [g1] = [n for n in body if "03:00" in n["created_at"] and "王家村" in (n["message"] or "")]
        [g2] = [n for n in body if "03:00" in n["created_at"] and "李家村" in (n["message"] or "")]
        assert (g1["count"], g2["count"]) == (2, 1)
        assert case_ids(client.get(g1["cases"]).get_data(as_text=True)) == set(late["group1"])
        assert case_ids(client.get(g2["cases"]).get_data(as_text=True)) == set(late["group2"])
        auth.login("group1")
        [own] = [n for n in api("group1").get("/notifications").get_json()["notifications"]
                 if n["count"] and "03:00" in n["created_at"]]
        assert case_ids(client.get(own["cases"]).get_data(as_text=True)) == set(late["group1"])
        assert set(before).isdisjoint(late["group1"])
        query = own["cases"].split("?", 1)[1]
        assert {c["id"] for c in api("group1").get(f"/cases?{query}").get_json()["cases"]} == set(late["group1"])


def test_a_digest_lists_what_its_unit_held_when_flagged_not_what_came_in_since(world, runner, api):
    late = late_cases(world, {"group1": 2})["group1"]
    run = datetime(2026, 6, 9, 3, tzinfo=timezone.utc)
    with calendar.at(run):
        assert runner.invoke(args=["sweep"]).exit_code == 0
        moved = db.session.get(Case, late[0])
        fire(moved, "escalate", world.users["group1"], version=moved.version, reason="组内无法解决")
        db.session.commit()
        group, team = api("group1"), api("team1")
        [own] = [n for n in group.get("/notifications").get_json()["notifications"] if n["count"]]
        assert own["count"] == 2
        query = own["cases"].split("?", 1)[1]
        # The group's digest counted both; it holds one of them now.
        assert [c["id"] for c in group.get(f"/cases?{query}").get_json()["cases"]] == [late[1]]
        # The team holds the other now, but no digest of the team counted it.
        flagged = f"/cases?held_by=T1&flagged_at={run.isoformat().replace('+', '%2B')}"
        assert team.get(flagged).get_json()["cases"] == []
        assert [c["id"] for c in team.get("/cases?held_by=T1").get_json()["cases"]] == [late[0]]


def test_digests_read_in_the_readers_language(world, runner, auth, client, api):
    late_cases(world, {"group1": 2})
    sweep(runner, "2026-06-09")
    auth.login("team1")
    with on("2026-06-09"):
        english = client.get("/notices/", headers={"Accept-Language": "en"}).get_data(as_text=True)
        chinese = client.get("/notices/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "2 cases of 王家村工作组 newly overdue" in english
    assert "王家村工作组 有 2 个问题新超期" in chinese
    assert "held_by=G1" in chinese and "overdue=true" in chinese
    [notice] = [n for n in api("group1").get("/notifications").get_json()["notifications"] if n["count"]]
    assert (notice["message"], notice["count"], notice["case"]) == ("2 个问题新超期", 2, None)


def test_a_case_that_cannot_climb_does_not_hold_back_the_others_of_its_batch(world, app, monkeypatch):
    from casetrack.services.deadlines import sweep as sweep_module
    with on("2026-06-01"):
        climbs, stuck = world.file("group1"), world.file("group1")
    db.session.commit()
    firing = sweep_module._firing

    def refuse_one(wf, case):
        case, trigger, data = firing(wf, case)
        # refused once the other case's escalation is applied: the savepoint must undo that one
        return case, "verify" if case.id == stuck.id else trigger, data

    monkeypatch.setattr(sweep_module, "_firing", refuse_one)
    with on("2026-06-10"):  # two working days late: both due to climb
        assert sweep_deadlines(after_batch=db.session.commit) == {"escalated": 1, "warned": 0, "overdue": 1}
        db.session.commit()
    db.session.expire_all()
    assert [(c.state, c.unit.code) for c in (db.session.get(Case, stuck.id), db.session.get(Case, climbs.id))] \
        == [("group", "G1"), ("team", "T1")]
    assert [len(events(c, "escalate")) for c in (stuck, climbs)] == [0, 1]
    assert len(events(stuck, "overdue")) == 1


def test_the_notice_filters_refuse_bad_values_and_due_soon_lists_the_pre_warned(world, api, runner):
    with on("2026-06-03"):  # due Wed Jun 10, pre-warned from Jun 9
        soon = world.file("group1")
        unwarned = world.file("group1")
        unwarned.warn_on = None  # a deadline but no pre-warning day: never due soon
    db.session.commit()
    county = api("county")
    for bad in ("flagged_at=yesterday", "flagged_at=2026-06-09T02:00:00", "due_soon=maybe",
                "flagged_at=0001-01-01T00:00:00%2B01:00"):
        r = county.get(f"/cases?{bad}")
        assert r.status_code == 422 and bad.split("=")[0] in r.json["errors"], bad
    with on("2026-06-08"):
        assert county.get("/cases?due_soon=true").json["cases"] == []
    with on("2026-06-09"):
        assert [c["id"] for c in county.get("/cases?due_soon=true&held_by=G1").json["cases"]] == [soon.id]
        not_soon = [c["id"] for c in county.get("/cases?due_soon=false").json["cases"]]
        assert unwarned.id in not_soon and soon.id not in not_soon
        assert county.get("/cases?due_soon=true&held_by=G2").json["cases"] == []


def test_a_case_that_cannot_climb_is_flagged_overdue_once_however_often_the_sweep_runs(world, monkeypatch):
    """A case due to climb whose escalation is refused is flagged overdue instead; the next
    runs that day and the day after (it is still due to climb) flag and tell no one again."""
    from casetrack.services.deadlines import sweep as sweep_module
    with on("2026-06-01"):
        stuck = world.file("group1")
    db.session.commit()
    firing = sweep_module._firing

    def refused(wf, case):
        case, _trigger, data = firing(wf, case)
        return case, "verify", data   # not possible while with the group

    monkeypatch.setattr(sweep_module, "_firing", refused)
    runs = []
    for day in ("2026-06-10", "2026-06-10", "2026-06-11"):
        with on(day):
            runs.append(sweep_deadlines(after_batch=db.session.commit))
            db.session.commit()
    assert runs == [{"escalated": 0, "warned": 0, "overdue": 1}] + [{"escalated": 0, "warned": 0, "overdue": 0}] * 2
    assert len(events(stuck, "overdue")) == 1
    assert notices("overdue", world.units["G1"]) == notices("overdue", world.units["T1"]) == 1


def test_the_deadline_day_warns_and_every_batch_counts(world, app):
    """Two cases due Mon 06-08, swept one per batch: first seen on their deadline day they are
    pre-warned (not overdue), once; overdue the day after; escalated two working days late."""
    with on("2026-06-01"):
        cases = [world.file("group1"), world.file("group2")]
    db.session.commit()
    runs = []
    for day in ("2026-06-08", "2026-06-08", "2026-06-09", "2026-06-10"):
        with on(day):
            runs.append(sweep_deadlines(batch=1, after_batch=db.session.commit))
            db.session.commit()
    nothing = {"escalated": 0, "warned": 0, "overdue": 0}
    assert runs == [{**nothing, "warned": 2}, nothing, {**nothing, "overdue": 2}, {**nothing, "escalated": 2}]
    assert [len(events(c, "pre_warning")) for c in cases] == [1, 1]


def test_a_case_overdue_again_at_its_next_holder_is_flagged_again(world, runner):
    """Flagged overdue at the group, escalated by the sweep, then late at the team too: the
    team's deadline is a new one, so the case is flagged (and the team's superior told) again."""
    with on("2026-06-01"):  # the group's deadline Mon Jun 8
        case = world.file("group1")
        db.session.commit()
    sweep(runner, "2026-06-09")                                 # overdue at the group
    assert sweep(runner, "2026-06-10")["escalated"] == 1        # to the team: 7 working days,
    db.session.expire_all()                                     # the Dragon Boat holiday (Fri Jun 19) off
    assert db.session.get(Case, case.id).deadline == date(2026, 6, 22)
    assert sweep(runner, "2026-06-23")["overdue"] == 1          # one working day late at the team
    assert sweep(runner, "2026-06-23")["overdue"] == 0
    assert [e.from_unit.code for e in events(case, "overdue")] == ["G1", "T1"]
    assert ("overdue", "C", "T1", 1) in digests()               # the county hears of the team's case
