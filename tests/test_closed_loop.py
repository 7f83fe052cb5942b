"""Issue 22: lead and assisting departments, progress reports, the answer back to the household,
and rates whose denominators hold only what could have counted."""
from __future__ import annotations

from datetime import date, datetime, timezone

from casetrack.extensions import db
from casetrack.models import Notification
from casetrack.services.reports import bulletin as bl
from casetrack.services.workdays import calendar
from casetrack.services.casework.cases import fire
from casetrack.services.deadlines.sweep import sweep_deadlines
from tests.helpers import act


def at(month: int, day: int, hour: int = 2):
    return calendar.at(datetime(2026, month, day, hour, 0, tzinfo=timezone.utc))  # 10:00 in Beijing


def referred(world, assisting=("D2",)):
    """A case of G1 referred to D1 (lead) with assisting departments."""
    case = world.file("group1")
    act(world, case, "group1", "escalate")
    act(world, case, "team1", "escalate")
    act(world, case, "county", "refer", departments=list(assisting))
    db.session.commit()
    return case


def test_an_assisting_department_sees_the_case_and_reports_but_only_the_lead_moves_it(world, api):
    case = referred(world)
    dept2 = api("dept2")
    r = dept2.get(f"/cases/{case.id}")
    assert r.status_code == 200 and r.json["assisting"] == ["D2"] and r.json["allowed"] == []
    assert case.id in {c["id"] for c in dept2.get("/cases").json["cases"]}
    assert dept2.post(f"/cases/{case.id}/transitions", json={"trigger": "resolve", "version": case.version,
                                                             "resolution": "我们修好了"}).status_code == 403
    r = dept2.post(f"/cases/{case.id}/progress", json={"text": "已派人现场查看"})
    assert r.status_code == 201 and r.json["trigger"] == "progress" and r.json["to_state"] == "department"
    assert api("dept1").post(f"/cases/{case.id}/progress", json={"text": "正在协调"}).status_code == 201
    assert api("group1").post(f"/cases/{case.id}/progress", json={"text": "x"}).status_code == 403
    assert api("dept1").post(f"/cases/{case.id}/progress",
                             json={"text": "x", "date": "2099-01-01"}).status_code == 422
    kinds = db.session.scalars(db.select(Notification.kind).where(
        Notification.case_id == case.id, Notification.unit_id == world.units["D2"].id)).all()
    assert kinds == ["referral"]                  # the assisting department is told of the referral
    fire(case, "return", world.users["dept1"], reason="不属于本部门职责")
    fire(case, "refer", world.users["county"], department="D1", due_date="2099-01-01")
    db.session.commit()
    assert dept2.get(f"/cases/{case.id}").status_code == 404   # a new referral without D2
    assert api("dept2").get(f"/cases/{case.id}").status_code == 404


def test_the_filing_group_hears_the_answer_and_records_telling_the_resident(world, api, client, auth):
    case = referred(world, ())
    fire(case, "resolve", world.users["dept1"], resolution="已修复路面")
    db.session.commit()
    told = db.session.scalars(db.select(Notification.message).where(
        Notification.case_id == case.id, Notification.kind == "answer",
        Notification.unit_id == world.units["G1"].id)).all()
    assert told == ["办结：已办结待回访。已修复路面"]
    group = api("group1")
    assert api("dept1").post(f"/cases/{case.id}/feedback", json={"text": "x", "how": "phone"}).status_code == 403
    assert group.post(f"/cases/{case.id}/feedback", json={"text": "已电话告知", "how": "fax"}).status_code == 422
    r = group.post(f"/cases/{case.id}/feedback", json={"text": "已电话告知张三", "how": "phone"})
    assert r.status_code == 201 and r.json["data"]["how"] == "phone"
    auth.login("group1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "已电话告知张三" in page and "反馈群众" in page and "电话" in page


def test_the_sweep_flags_a_late_progress_report_once_and_the_board_shows_the_last(world, client, auth):
    """Referred Mon 06-01 (report every working day): on Wed 06-03 its last word (the referral,
    06-01) is more than one working day old; a report on 06-03 clears it until Fri 06-05."""
    with at(6, 1):
        case = referred(world, ())
    with at(6, 3):
        assert sweep_deadlines()["report_late"] == 1
        assert sweep_deadlines().get("report_late", 0) == 0          # flagged once
        db.session.commit()
        db.session.refresh(case)                                # the flag moved its version on
        from casetrack.services.casework.progress import add_progress
        add_progress(world.users["dept1"], case, "正在施工")
        db.session.commit()
    with at(6, 4):
        assert sweep_deadlines().get("report_late", 0) == 0
    with at(6, 5):
        assert sweep_deadlines()["report_late"] == 1
        db.session.commit()
        digest = db.session.scalars(db.select(Notification).where(
            Notification.kind == "report_late", Notification.unit_id == world.units["D1"].id)).all()
        assert [n.count for n in digest] == [1, 1]
        auth.login("county")
        page = client.get("/boards/county").get_data(as_text=True)
    assert "2026-06-03" in page and "最近进展反馈" in page


def test_late_reports_are_flagged_a_batch_at_a_time_and_a_case_moved_meanwhile_is_left(world, monkeypatch):
    """A county's late reports are written in batches, each committed (a statement's parameters
    are bounded); a case that leaves the state between batches is not flagged late in it."""
    from casetrack.long_work import listening
    from casetrack.models import CaseEvent
    from casetrack.services.casework.notices import Digests
    from casetrack.services.deadlines import sweep
    from casetrack.services.integrity.audit import verify_chain
    with at(6, 1):
        cases = [referred(world, ()) for _ in range(3)]
    commits = []

    def after_batch():
        db.session.commit()
        commits.append(1)
        if len(commits) == 1:   # someone answers the third case while the sweep is between batches
            fire(cases[2], "resolve", world.users["dept1"], resolution="已修复")
            db.session.commit()
    monkeypatch.setattr(sweep, "BATCH", 1)
    shown = []
    with at(6, 3), listening(lambda step, done, total: shown.append((step, done, total))):
        assert sweep.flag_late_reports(Digests(calendar.now()), after_batch=after_batch) == 2
    assert len(commits) == 3
    assert shown == [("late progress reports", n, 3) for n in (1, 2, 3)]   # the CLI's bar, to its end
    late = db.session.scalars(db.select(CaseEvent.case_id).where(CaseEvent.trigger == "report_late")).all()
    assert sorted(late) == [cases[0].id, cases[1].id]
    assert verify_chain()[1] == []


def test_each_rate_against_a_hand_count(world):
    """Period Mon 06-08 .. Sun 06-14, read on Mon 06-15; group deadline 5 working days.
      P  filed Mon 06-01 (deadline 06-08), resolved 06-08 (on its deadline day: a first response
         in time), verified satisfied 06-09, its resident told 06-10: solved, told
      Q  filed 06-01, never acted on: window passed 06-08, a failure, filed before the period
      R  filed Mon 06-08 (deadline 06-15): not acted on, window still open at the period's end
      S  filed 06-08, resolved 06-09, dissatisfied call-back 06-10 (reopened), resolved 06-11:
         resolved once, not solved, one rework
      T  filed 06-09, explained 06-10 (cannot solve now), no one told
    Found in the period: R S T. First response: S and T acted in time; R's window is open: 2 / 2.
    Resolved (first resolutions) P S; solved (verified) P only. Resolutions P S S: rework 1 / 3.
    Call-backs P (satisfied) S (dissatisfied): satisfaction 1 / 2. Closed P; open at the end
    Q R S T: closure 1 / 5. Answered: P (closed) and T (explained), told P: feedback 1 / 2."""
    u = world.users
    with at(6, 1):
        p, q = world.file("group1"), world.file("group1")
    with at(6, 8):
        r, s = world.file("group1"), world.file("group1")
        fire(p, "resolve", u["group1"], resolution="修好")
    with at(6, 9):
        t = world.file("group2")
        fire(p, "verify", u["county"], satisfied=True)
        fire(s, "resolve", u["group1"], resolution="修好")
    with at(6, 10):
        from casetrack.services.casework.progress import record_feedback
        record_feedback(u["group1"], p, "已上门告知", "visit")
        fire(s, "verify", u["county"], satisfied=False)
        fire(t, "explain", u["group2"], explanation="暂无资金", revisit_on="2026-09-01")
    with at(6, 11):
        fire(s, "resolve", u["group1"], resolution="再次修好")
    db.session.commit()
    with at(6, 15):
        b = bl.bulletin(world.units["C"], date(2026, 6, 8), date(2026, 6, 14))
    assert b["problems"]["found"] == 3
    assert (b["problems"]["resolved"], b["problems"]["solved"]) == (2, 1)
    assert b["rate_parts"] == {"first_response": [2, 2], "rework": [1, 3], "satisfaction": [1, 2],
                               "closure": [1, 5], "on_time_closure": [1, 2], "feedback": [1, 2]}
    assert b["rates"]["feedback"] == 0.5
    for rate in bl.RATES:
        assert "÷" in b["definitions"][rate] or " / " in b["definitions"][rate]   # numerator and denominator
    with at(6, 15):   # the week before: P (acted on 06-08, in time) counts; Q's window ends 06-08, after it
        before = bl.bulletin(world.units["C"], date(2026, 6, 1), date(2026, 6, 7))
    assert before["rate_parts"]["first_response"] == [1, 1]
    with at(6, 15):   # the two weeks: Q's window has passed: P S T in time, Q a failure, R still open
        both = bl.bulletin(world.units["C"], date(2026, 6, 1), date(2026, 6, 14))
    assert both["rate_parts"]["first_response"] == [3, 4]
