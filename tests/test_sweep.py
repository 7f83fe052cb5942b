"""The deadline sweep: pre-warnings, overdue flags, auto-escalation; idempotent; one JSON line."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Notification
from casetrack.services.cases import fire
from casetrack.services.extensions import request_extension
from casetrack.services.sweep import sweep_deadlines
from tests.test_deadlines import on


def sweep(runner, day: str) -> dict:
    with on(day):
        result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def events(case: Case, trigger: str) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.trigger == trigger)))


def notices(kind: str, unit) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.kind == kind, Notification.unit_id == unit.id))


def test_warn_then_flag_overdue_then_escalate_each_once(world, runner):
    with on("2026-06-01"):  # due Mon Jun 8, pre-warning from Fri Jun 5
        case = world.file("group1")
        db.session.commit()
    nothing = {"escalated": 0, "warned": 0, "overdue": 0}
    assert sweep(runner, "2026-06-04") == nothing
    assert sweep(runner, "2026-06-05") == {**nothing, "warned": 1}
    assert sweep(runner, "2026-06-05") == nothing
    assert notices("pre_warning", world.units["G1"]) == 1

    assert sweep(runner, "2026-06-09") == {**nothing, "overdue": 1}  # 1 working day late
    assert sweep(runner, "2026-06-09") == nothing
    assert notices("overdue", world.units["T1"]) == 1  # the group's superior hears of it

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


def test_the_sweeps_events_keep_the_audit_chain_whole(world, runner):
    from casetrack.services.audit import verify_chain
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
    assert (late.version, soon.version) == versions  # no one's edit fails because the sweep passed
    [overdue], [warning] = events(late, "overdue"), events(soon, "pre_warning")
    assert overdue.data == {"deadline": late.deadline.isoformat()} and overdue.actor_id is None
    assert (warning.from_state, warning.to_state, warning.to_unit_id) == ("group", "group", soon.unit_id)
    assert [notices("overdue", world.units[u]) for u in ("G1", "T1")] == [1, 1]
    assert [notices("pre_warning", world.units[u]) for u in ("G1", "T1")] == [1, 0]
