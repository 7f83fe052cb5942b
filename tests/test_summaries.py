"""The daily figures behind the bulletin stay equal to their recomputation from the history.

A randomised walk through the services (filing, every trigger by every user, shared problems
linked and unlinked, extensions, visits, targets moved and deactivated, the sweep), time moving
on; after every few steps the table equals `recomputed()`. The CLI rebuilds a broken table.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from casetrack.extensions import db
from casetrack.models import REGISTERED_KINDS, TARGET_KINDS, Case, DailyFigure, Extension, Notification, Target
from casetrack.services.workdays import calendar
from casetrack.services.figures import summaries
from casetrack.services.reports.bulletin import bulletin
from casetrack.services.casework.cases import allowed_triggers, file_case, fire
from casetrack.services.common.errors import ServiceError
from casetrack.services.deadlines.extension_requests import decide_extension, request_extension
from casetrack.services.casework.shared import link_cases, unlink_case
from casetrack.services.deadlines.sweep import sweep_deadlines
from casetrack.services.fieldwork.targets import update_target
from casetrack.services.fieldwork.visits import record_visit
from tests.factories import USERS
from tests.helpers import FIELDS

FILERS = ["group1", "member1", "group2", "group3"]
# the users the walk picks from (the seeds' histories were written for these: a new user in the
# test world would change every seed's history)
WALKERS = sorted(u for u in USERS if u != "leader")
START = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)


def walk(world, rng: random.Random, steps: int, check_every: int = 10, per_commit: int = 1,
         savepoints: bool = False) -> Counter:
    """`steps` transactions of random actions (up to `per_commit` each); what succeeded, by kind.
    A failed action rolls back its transaction; with `savepoints`, each action runs in a
    savepoint that is rolled back one time in three (as the sweep does around an escalation)
    or when the action fails, and the transaction goes on."""
    users = world.users
    targets = []
    for i in range(8):
        t = Target(kind=rng.choice(REGISTERED_KINDS), name=f"t{i}", group_id=world.units[rng.choice(["G1", "G2", "G3"])].id)
        db.session.add(t)
        targets.append(t)
    db.session.commit()
    moment = START
    done: Counter = Counter()
    for step in range(steps):
        moment += timedelta(hours=rng.choice([1, 5, 20, 49]))
        with calendar.at(moment):
            try:
                for _ in range(rng.randint(1, per_commit) if per_commit > 1 else 1):
                    if savepoints:
                        done[undoable(world, rng, users, targets, moment)] += 1
                    else:
                        done[act(world, rng, users, targets, moment)] += 1
                db.session.commit()
            except ServiceError:
                db.session.rollback()
                done["rolled back"] += 1
        if step % check_every == check_every - 1:
            assert summaries.table_rows() == summaries.recomputed(), f"after step {step}"
    return done


class Undo(Exception):
    """Raised inside a savepoint to roll it back."""


def undoable(world, rng, users, targets, moment) -> str:
    try:
        with db.session.begin_nested():
            what = act(world, rng, users, targets, moment)
            if rng.random() < 1 / 3:
                raise Undo
        return what
    except (Undo, ServiceError):
        return "undone"


def act(world, rng, users, targets, moment) -> str:
    cases = list(db.session.scalars(select(Case).order_by(Case.id)))
    what = rng.choice(["file", "fire", "fire", "fire", "fire", "link", "unlink", "visit", "visit",
                       "target", "extension", "sweep"])
    if what == "file" or not cases:
        file_case(users[rng.choice(FILERS)], title="路灯坏了", category=rng.choice(["infrastructure", "public_security"]),
                  kind=rng.choice(["individual", "individual", "shared"]), urgency=rng.choice(["normal", "urgent"]))
    elif what == "fire":
        open_cases = [c for c in cases if c.state != "closed"]
        case = rng.choice(open_cases if open_cases and rng.random() < 0.9 else cases)
        holders = [name for name, u in users.items() if u.unit_id == case.unit_id and name in WALKERS]
        who = rng.choice(holders) if holders and rng.random() < 0.8 else rng.choice(WALKERS)
        allowed = [t.trigger for t in allowed_triggers(case, users[who]) if t.trigger in FIELDS]
        trigger = rng.choice(allowed) if allowed and rng.random() < 0.8 else rng.choice(sorted(FIELDS))
        fields = dict(FIELDS[trigger])
        if trigger == "verify":   # every call-back outcome, and the older field that still works
            fields = rng.choice([{"satisfied": rng.random() < 0.7}, {"outcome": "satisfied"},
                                 {"outcome": "basically_satisfied"}, {"outcome": "unreachable"},
                                 {"outcome": "dissatisfied", "words": "路灯还是不亮"}])
        if trigger == "delegate_callback":   # the group whose resident it is, or its team
            fields = {"callback_unit": rng.choice([case.group, case.group.parent]).code}
        if trigger == "resolve":
            fields["donations"] = rng.choice(["", "1.05"])
            if users[who].role == "group_member":  # a member proposes; the leader gives the sums
                fields = {"resolution": fields["resolution"]}
        if trigger == "refer":
            fields["due_date"] = (moment.date() + timedelta(days=rng.choice([1, 9]))).isoformat()
        fire(case, trigger, users[who], version=case.version, **fields)
    elif what == "link":
        picked = rng.sample(cases, min(2, len(cases)))
        link_cases(users[rng.choice(["team1", "county"])], "同一条路", [c.id for c in picked])
    elif what == "unlink":
        members = [c for c in cases if c.parent_id is not None]
        if not members:
            return "nothing"
        case = rng.choice(members)
        unlink_case(users[rng.choice(["team1", "county"])], db.session.get(Case, case.parent_id), case.id)
    elif what == "visit":
        target = rng.choice(targets)
        group = {world.units[g].id: g for g in ("G1", "G2", "G3")}[target.group_id]
        who = {"G1": ["group1", "member1"], "G2": ["group2"], "G3": ["group3"]}[group]
        record_visit(users[who[0]], target=target.id, date=(moment.date() - timedelta(days=rng.randint(0, 6))).isoformat(),
                     cadres=rng.sample(who + ["team1"], 1), suggestions=rng.randint(0, 2))
    elif what == "target":
        target = rng.choice(targets)
        update_target(users["county"], target, kind=rng.choice(REGISTERED_KINDS), name=target.name,
                      group=rng.choice(["G1", "G2", "G3"]), active=rng.random() < 0.8)
    elif what == "extension":
        pending = db.session.scalars(select(Extension).where(Extension.status == "pending").order_by(Extension.id)).first()
        if pending is not None:
            decide_extension(users[rng.choice(["team1", "county"])], pending, rng.random() < 0.7)
        else:
            case = rng.choice(cases)
            holder = [u for u in users.values() if u.unit_id == case.unit_id]
            request_extension(holder[0] if holder else users["group1"], case, 3, "材料未齐")
    else:
        sweep_deadlines()
    return what


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_history_keeps_the_figures_equal_to_their_recomputation(world, seed):
    done = walk(world, random.Random(seed), 150)
    assert done["link"] and done["unlink"] and done["target"] and done["extension"], done
    rows = summaries.table_rows()
    assert rows == summaries.recomputed()
    figures = {f for _g, _d, f, _x in rows}
    assert {"found", "first_act", "closed", "on_time", "solved", "explained", "callback", "money", "visits",
            "cadre", "first_visit"} <= figures


def test_rebuild_command_repairs_the_table(world, runner):
    walk(world, random.Random(7), 60, check_every=60)
    county = world.units["C"]
    period = (START.date(), START.date() + timedelta(days=40))
    with calendar.at(START + timedelta(days=41)):
        before = bulletin(county, *period)
        db.session.execute(delete(DailyFigure).where(DailyFigure.figure.in_(("found", "first_visit"))))
        db.session.execute(update(DailyFigure).values(n=DailyFigure.n + 1))
        db.session.commit()
        assert bulletin(county, *period)["problems"] != before["problems"]
        result = runner.invoke(args=["rebuild-summaries"])
        assert result.exit_code == 0, result.output
        assert "rows rebuilt" in result.output
        db.session.expire_all()
        assert summaries.table_rows() == summaries.recomputed()
        after = bulletin(county, *period)
    for section in ("visits", "problems", "rates", "coverage", "funds", "donations", "units"):
        assert after[section] == before[section], section


def test_flag_events_written_in_bulk_change_no_figure(world):
    """The sweep's flags (same state, same unit, no person) may be bulk-inserted by Core."""
    case = world.file("group1")
    db.session.commit()
    rows = summaries.table_rows()
    from casetrack.models import CaseEvent
    db.session.execute(CaseEvent.__table__.insert(), [{
        "case_id": case.id, "at": START, "trigger": "overdue", "from_state": case.state, "to_state": case.state,
        "from_unit_id": case.unit_id, "to_unit_id": case.unit_id, "data": {}, "prev_hash": "", "hash": ""}])
    db.session.commit()
    assert summaries.table_rows() == rows == summaries.recomputed()


@pytest.mark.parametrize("seed", [4, 5])
def test_several_changes_in_one_transaction_are_counted_once(world, seed):
    done = walk(world, random.Random(seed), 60, check_every=1, per_commit=4)
    assert done["file"] and done["fire"] and done["visit"] and done["rolled back"], done


@pytest.mark.parametrize("seed", [6, 7])
def test_savepoints_rolled_back_leave_no_figure_behind(world, seed):
    done = walk(world, random.Random(seed), 60, check_every=1, per_commit=4, savepoints=True)
    assert done["file"] and done["fire"] and done["undone"], done


def test_a_case_filed_and_moved_in_one_transaction_is_counted_as_it_ends(world):
    case = world.file("group1")
    db.session.flush()
    fire(case, "escalate", world.users["group1"], version=case.version, reason="组内无法解决")
    world.file("group2")
    db.session.commit()
    assert summaries.table_rows() == summaries.recomputed()
    assert sum(v[0] for (_g, _d, f, _x), v in summaries.table_rows().items() if f == "filed") == 2


def test_core_writers_and_orm_writes_in_one_transaction_are_counted_once(world):
    """Core updates of cases and targets wrapped in a recount: of rows the ORM changed
    before in the same transaction, of a row only they change, and of a case filed in the same
    transaction (whose rows can then no longer come from the objects the session holds)."""
    old, only_core = world.file("group1"), world.file("group1")
    target = Target(kind=TARGET_KINDS[0], name="t", group_id=world.units["G1"].id)
    db.session.add(target)
    db.session.commit()
    with calendar.at(START + timedelta(days=3)):
        fire(old, "escalate", world.users["group1"], version=old.version, reason="组内无法解决")
        record_visit(world.users["group1"], target=target.id, date=START.date().isoformat(),
                     cadres=["group1"], suggestions=1)
        with summaries.recount(targets=[target.id]):
            db.session.execute(update(Target).where(Target.id == target.id).values(group_id=world.units["G2"].id))
        db.session.expire_all()
        update_target(world.users["county"], db.session.get(Target, target.id), kind=TARGET_KINDS[1],
                      name="t", group="G3", active=True)
        new = world.file("group2")
        db.session.flush()
        ids = [old.id, only_core.id, new.id]
        with summaries.recount(cases=ids):
            db.session.execute(update(Case).where(Case.id.in_(ids)).values(
                deadline=START.date() + timedelta(days=30), group_id=world.units["G3"].id))
        db.session.commit()
    assert summaries.table_rows() == summaries.recomputed()


def test_a_rolled_back_transaction_leaves_nothing_noted(world):
    """What a rolled-back transaction noted is not used later, when the same case has changed
    in between by a writer that keeps its own figures (as another process would)."""
    case = world.file("group1")
    db.session.commit()
    rows = summaries.table_rows()
    fire(case, "escalate", world.users["group1"], version=case.version, reason="组内无法解决")
    world.file("group2")
    db.session.rollback()
    assert summaries.table_rows() == rows
    before = summaries.figures_of_cases([case.id])
    db.session.execute(update(Case).where(Case.id == case.id).values(deadline=START.date()))
    summaries.apply(summaries.difference(summaries.figures_of_cases([case.id]), before))
    db.session.commit()
    assert summaries.table_rows() == summaries.recomputed()


def test_a_commit_that_fails_late_writes_nothing_then_or_later(world):
    """The figures and a new case's notice, which PostgreSQL gets with the COMMIT: a commit that
    fails after they were noted writes neither, and the next commit does not write them either."""
    def refuse(_session):
        raise RuntimeError("refused")

    notices = select(func.count()).select_from(Notification)
    before = db.session.scalar(notices)
    world.file("group1")
    event.listen(Session, "before_commit", refuse)   # the figures are written or queued by now
    try:
        with pytest.raises(RuntimeError):
            db.session.commit()
    finally:
        event.remove(Session, "before_commit", refuse)
    db.session.rollback()
    world.file("group2")
    db.session.commit()
    assert db.session.scalar(notices) == before + 1
    assert summaries.table_rows() == summaries.recomputed()


def test_a_commit_with_a_savepoint_open_counts_what_it_commits(world):
    case = world.file("group1")
    db.session.commit()
    db.session.begin_nested()
    fire(case, "escalate", world.users["group1"], version=case.version, reason="组内无法解决")
    db.session.commit()   # the outermost transaction, releasing the savepoint
    assert summaries.table_rows() == summaries.recomputed()


def test_transitions_count_their_figures_from_their_events_without_reloading_the_case(world, monkeypatch):
    """Each step of a case's life (plain moves, a resolution with money, a dissatisfied call-back,
    a second resolution, the closing call-back) changes the table by the difference its event
    makes: the hooks' reload of a case (before and after) is never needed, and the table still
    equals its recomputation after every step."""
    users = world.users
    case = world.file("group1")
    db.session.commit()

    def reload(_ids):
        raise AssertionError("a transition reloaded the case to count its figures")
    steps = [("escalate", "group1", {"reason": "组内无法解决"}), ("escalate", "team1", {"reason": "镇里解决不了"}),
             ("refer", "county", {"department": "D1", "due_date": (START.date() + timedelta(days=9)).isoformat()}),
             ("resolve", "dept1", {"resolution": "已修好", "funds": "2.5"}),
             ("verify", "county", {"outcome": "dissatisfied", "words": "路灯还是不亮"}),
             ("resolve", "dept1", {"resolution": "换了灯泡", "donations": "0.3"}),
             ("verify", "county", {"outcome": "satisfied"})]
    moment = START
    for trigger, who, fields in steps:
        moment += timedelta(days=1)
        with calendar.at(moment):
            monkeypatch.setattr(summaries, "figures_of_cases", reload)
            fire(case, trigger, users[who], version=case.version, **fields)
            db.session.commit()
            monkeypatch.undo()
            assert summaries.table_rows() == summaries.recomputed(), trigger
    assert case.state == "closed"
    figures = {f for _g, _d, f, _x in summaries.table_rows()}
    assert {"first_act", "resolutions", "resolved", "money", "callback", "closed", "solved", "answered"} <= figures
