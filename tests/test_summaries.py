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
from sqlalchemy import delete, select, update

from casetrack.extensions import db
from casetrack.models import TARGET_KINDS, Case, DailyFigure, Extension, Target
from casetrack.services import calendar, summaries
from casetrack.services.bulletin import bulletin
from casetrack.services.cases import allowed_triggers, file_case, fire
from casetrack.services.errors import ServiceError
from casetrack.services.extensions import decide_extension, request_extension
from casetrack.services.shared import link_cases, unlink_case
from casetrack.services.sweep import sweep_deadlines
from casetrack.services.targets import update_target
from casetrack.services.visits import record_visit
from tests.factories import USERS
from tests.helpers import FIELDS

FILERS = ["group1", "member1", "group2", "group3"]
START = datetime(2026, 6, 1, 1, 0, tzinfo=timezone.utc)


def walk(world, rng: random.Random, steps: int, check_every: int = 10) -> Counter:
    """`steps` random actions; what succeeded, by kind."""
    users = world.users
    targets = []
    for i in range(8):
        t = Target(kind=rng.choice(TARGET_KINDS), name=f"t{i}", group_id=world.units[rng.choice(["G1", "G2", "G3"])].id)
        db.session.add(t)
        targets.append(t)
    db.session.commit()
    moment = START
    done: Counter = Counter()
    for step in range(steps):
        moment += timedelta(hours=rng.choice([1, 5, 20, 49]))
        with calendar.at(moment):
            try:
                done[act(world, rng, users, targets, moment)] += 1
                db.session.commit()
            except ServiceError:
                db.session.rollback()
        if step % check_every == check_every - 1:
            assert summaries.table_rows() == summaries.recomputed(), f"after step {step}"
    return done


def act(world, rng, users, targets, moment) -> str:
    cases = list(db.session.scalars(select(Case).order_by(Case.id)))
    what = rng.choice(["file", "fire", "fire", "fire", "fire", "link", "unlink", "visit", "visit",
                       "target", "extension", "sweep"])
    if what == "file" or not cases:
        file_case(users[rng.choice(FILERS)], title="路灯坏了", category=rng.choice(["infrastructure", "public_security"]),
                  kind=rng.choice(["individual", "individual", "shared"]))
    elif what == "fire":
        case = rng.choice(cases)
        holders = [name for name, u in users.items() if u.unit_id == case.unit_id]
        who = rng.choice(holders) if holders and rng.random() < 0.8 else rng.choice(sorted(USERS))
        allowed = [t.trigger for t in allowed_triggers(case, users[who]) if t.trigger in FIELDS]
        trigger = rng.choice(allowed) if allowed and rng.random() < 0.8 else rng.choice(sorted(FIELDS))
        fields = dict(FIELDS[trigger])
        if trigger == "verify":
            fields["satisfied"] = rng.random() < 0.7
        if trigger == "resolve":
            fields["donations"] = rng.choice(["", "1.05"])
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
        update_target(users["county"], target, kind=rng.choice(TARGET_KINDS), name=target.name,
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
