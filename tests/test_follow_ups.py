"""Every writer calls its own follow-ups (no session hook does it for them): after each use case
the daily figures equal their recomputation from scratch, and each case event it wrote has
exactly one webhook delivery queued (one active webhook), none for a writer that writes no event."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, Extension, Target, Webhook, WebhookDelivery
from casetrack.services.casework.attachments import attach, process_photos
from casetrack.services.casework.case_sheets import import_cases
from casetrack.services.casework.cases import fire
from casetrack.services.casework.notices import acknowledge, add_supervision_note
from casetrack.services.casework.petitions import record_petition, take_down
from casetrack.services.casework.progress import add_progress, record_feedback
from casetrack.services.casework.shared import link_cases, unlink_case
from casetrack.services.deadlines.extension_requests import decide_extension, request_extension
from casetrack.services.deadlines.sweep import sweep_deadlines, sweep_revisits
from casetrack.services.fieldwork.targets import create_target, import_targets, update_target
from casetrack.services.fieldwork.visits import import_visits, record_round, record_visit
from casetrack.services.figures import summaries
from casetrack.services.workdays import calendar
from tests.test_attachments_queue import a_cut_photo
from tests.test_case_sheets import xlsx as case_sheet
from tests.test_targets import csv_bytes
from tests.test_visits import VISIT_HEADER

START = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


class Steps:
    """Runs one use case as a transaction of its own and checks what followed it."""

    def __init__(self):
        self.moment = START

    def __call__(self, name: str, action, events: int | None = None, figures_move: bool = True):
        """`events`: how many case events the use case writes (None: as many as it wrote, at
        least one); `figures_move`: whether it changes the table (so that the comparison with
        the recomputation is not vacuous)."""
        self.moment += timedelta(hours=5)
        before_rows, before_events, before_sent = summaries.table_rows(), count(CaseEvent), count(WebhookDelivery)
        with calendar.at(self.moment):
            result = action()
            db.session.commit()
        db.session.expire_all()   # the next use case reads the rows afresh, as the next request does
        written = count(CaseEvent) - before_events
        if events is None:
            assert written > 0, name
        else:
            assert written == events, name
        assert count(WebhookDelivery) - before_sent == written, f"{name}: one delivery per event"
        rows = summaries.table_rows()
        assert rows == summaries.recomputed(), f"{name}: the daily figures drifted"
        assert (rows != before_rows) == figures_move, f"{name}: figures moved {rows != before_rows}"
        return result


@pytest.fixture
def steps(world):
    db.session.add(Webhook(url="https://receiver.example/hook", secret="s" * 20, active=True))
    db.session.commit()
    return Steps()


def test_every_writer_keeps_the_figures_and_queues_its_webhooks(app, world, steps, tmp_path):
    app.config.update(ATTACHMENTS_DIR=str(tmp_path / "attachments"))
    users = world.users
    step = steps

    # filings and transitions (their follow-ups dispatched by follow_up.py)
    a = step("file", lambda: world.file("group1"), events=1)
    b = step("file shared", lambda: world.file("group1", kind="shared"), events=1)
    c = step("file", lambda: world.file("group2"), events=1)
    step("escalate", lambda: fire(a, "escalate", users["group1"], version=a.version, reason="组内无法解决"),
         events=1)

    # progress reports and supervision notes move no figure, but are posted
    step("progress", lambda: add_progress(users["team1"], a, "已联系施工队"), events=1, figures_move=False)
    note = step("supervise", lambda: add_supervision_note(users["county"], a, "请加快办理"), events=1,
                figures_move=False)
    step("acknowledge", lambda: acknowledge(users["team1"], note.id), events=1, figures_move=False)

    # extensions: asked (the clock stops) and approved (the deadline moves)
    step("ask extension", lambda: request_extension(users["team1"], a, 3, "材料未齐"), events=1)
    pending = db.session.scalars(select(Extension).where(Extension.status == "pending")).one()
    step("approve extension", lambda: decide_extension(users["county"], pending, True), events=1)

    # a shared problem: linked (a parent and each member's link), one member taken out again
    parent = step("link", lambda: link_cases(users["team1"], "同一条村道", [b.id, c.id]), events=3)
    step("unlink", lambda: unlink_case(users["team1"], parent, c.id), events=2)
    d = step("file", lambda: world.file("group2"), events=1)
    parent = step("link again", lambda: link_cases(users["team1"], "同一条水渠", [c.id, d.id]), events=3)
    # resolving the parent resolves its members (after-action) and moves their level of resolution
    step("resolve parent", lambda: fire(parent, "resolve", users["team1"], version=parent.version,
                                        resolution="统一修好", funds="3"))

    # a case's whole life, then the group telling the resident (the figure `told`)
    for trigger, who, fields in [("resolve", "team1", {"resolution": "已修好"}),
                                 ("verify", "county", {"outcome": "satisfied"})]:
        step(trigger, lambda: fire(a, trigger, users[who], version=a.version, **fields), events=1)
    assert a.state == "closed"
    step("feedback", lambda: record_feedback(users["group1"], a, "电话告知已修好", "phone"), events=1)

    # petitions: one filed as a case at once, cadres taking it down to the grass roots
    petition = step("petition", lambda: record_petition(
        users["group1"], date=(START.date()).isoformat(), form="visit", persons=2, subject="灌溉渠堵塞",
        category="infrastructure", residents=[{"name": "李四", "phone": "13900000000"}], file_case=True),
        events=1)
    filed = db.session.get(Case, petition.case_id)
    step("take down", lambda: take_down(users["team1"], filed, date=START.date().isoformat(), cadres=["team1"]),
         events=1, figures_move=False)

    # a photo that proves unreadable once processed: removed, with a note on its case's timeline
    cut = attach(filed, users["group1"], io.BytesIO(a_cut_photo()), "整改后.jpg", "after")
    db.session.commit()
    step("photo removed", lambda: process_photos([cut.id], db.session.commit), events=1, figures_move=False)

    # targets and visits: no events, their figures (first visits, visits, cadres)
    target = step("create target", lambda: create_target(users["group1"], kind="farm_household", name="王大户",
                                                        group="G1", code="H001"), events=0, figures_move=False)
    step("visit", lambda: record_visit(users["group1"], target=target.id, date=START.date().isoformat(),
                                       cadres=["group1"], suggestions=1), events=0)
    step("move target", lambda: update_target(users["county"], target, kind="enterprise", name="王大户",
                                              group="G2", code="H001", active=True), events=0)
    other = step("create target", lambda: create_target(users["group1"], kind="farm_household", name="李二户",
                                                       group="G1", code="H002"), events=0, figures_move=False)
    step("round", lambda: record_round(users["group1"], targets=[other.id], date=START.date().isoformat(),
                                       cadres=["member1"]), events=0)
    step("leader at a place", lambda: record_visit(users["leader"], place="汽车站广场", group="G1",
                                                   date=START.date().isoformat()), events=0)

    # the imports: targets (one moved to another group: its first visit moves), visits, cases
    rows = [["农户", "李二户", "", "", "G3", "", "H002"], ["农户", "赵三户", "", "", "G3", "", "H003"]]
    step("import targets", lambda: import_targets(users["county"], "list.csv", csv_bytes(rows)), events=0)
    sheet = csv_bytes([[(START.date() + timedelta(days=1)).isoformat(), "H003", "group3", "入户", 1],
                       [(START.date() + timedelta(days=2)).isoformat(), "H002", "group3", "回访", 0]],
                      header=VISIT_HEADER)
    step("import visits", lambda: import_visits(users["group3"], "visits.csv", sheet), events=0)
    cases = case_sheet([["路灯坏了", "infrastructure", "个性", "", "王五", "", "", ""],
                        ["水渠堵了", "infrastructure", "个性", "", "赵六", "", "", ""]])
    step("import cases", lambda: import_cases(users["group1"], "cases.xlsx", cases), events=2)

    # explained, to be revisited: the sweep brings it back on the day (an event, no figure)
    e = step("file", lambda: world.file("group1"), events=1)
    step("explain", lambda: fire(e, "explain", users["group1"], version=e.version, explanation="资金暂缺，列入明年计划",
                                 revisit_on=(steps.moment + timedelta(days=20)).date().isoformat()), events=1)

    # the sweep, weeks later: auto-escalations through the workflow, flags in bulk, the revisit
    steps.moment += timedelta(days=40)
    done = step("sweep", sweep_deadlines)
    assert done["escalated"] and done["overdue"], done
    assert step("revisits", sweep_revisits, events=1, figures_move=False) == 1
    assert count(Target) == 4   # the place the leader visited is a target too


def test_a_writer_that_forgets_its_follow_up_is_caught(world, steps, monkeypatch):
    """The walk's check fails when a use case's recount is switched off: it is not vacuous."""
    a = steps("file", lambda: world.file("group1"), events=1)
    monkeypatch.setattr(summaries.Recount, "finish", lambda self: self.release())
    with pytest.raises(AssertionError, match="drifted"):
        steps("ask extension", lambda: request_extension(world.users["group1"], a, 3, "材料未齐"), events=1)
