"""Fire a transition through the service vs the same rows written through the bare driver.

The baseline is what a plain app does for an escalation, on a raw DBAPI connection (sqlite3 or
psycopg) that none of casetrack's session, mapper or engine hooks see: read the user, read the
case, UPDATE the case (checking its version), INSERT the event, COMMIT. So the ratio is the
design's whole cost: the service's checks, the ORM, the hash chain and seal, the daily figures
and the webhook outbox (the mail outbox too when a mail server is set). Two more sides, interleaved the same way, say where the time
goes: the ORM's plain get + update + insert + commit in the app's session (the hooks run), and
the same with the hooks detached (the ORM alone).
"""
from __future__ import annotations

import json
import time
from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench import common
from bench.common import detached, line, populated, sized
from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, User
from casetrack.models import cases as case_model
from casetrack.services.workdays.calendar import add_working_days, now, today
from casetrack.services.casework.cases import default_workflow, file_case, fire, get_case

REASON = {"reason": "需要工作队协调"}
# What every ORM write of a case or event sets off: the chain and the seal, the only hooks left
# (the daily figures and the webhooks' deliveries are the service's follow-ups: follow_up.py).
HOOKS = [(Session, "before_flush", case_model._chain_new_events), (Case, "before_insert", case_model._seal_case),
         (Case, "before_update", case_model._seal_case)]


def _driver(raw, sqlite: bool, actor_id: int, group_id: int, team_id: int, deadline):
    """One escalation through the driver's own connection, as a plain app writes it."""
    mark = "?" if sqlite else "%s"
    marks = lambda n: ", ".join([mark] * n)  # noqa: E731
    update = (f"UPDATE cases SET state = {mark}, unit_id = {mark}, deadline = {mark}, updated_at = {mark}, "
              f"version = version + 1 WHERE id = {mark} AND version = {mark}")
    insert = ("INSERT INTO case_events (case_id, at, actor_id, trigger, from_state, to_state, from_unit_id, "
              f"to_unit_id, data, prev_hash, hash) VALUES ({marks(11)})")
    data = json.dumps(REASON, ensure_ascii=False)
    cursor = raw.cursor()

    def escalate(cid: int) -> None:
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")  # as the app's writes begin (casetrack/db/sqlite.py)
        cursor.execute(f"SELECT * FROM users WHERE id = {mark}", (actor_id,))
        cursor.fetchone()
        cursor.execute(f"SELECT * FROM cases WHERE id = {mark}", (cid,))
        version = cursor.fetchone()[[d[0] for d in cursor.description].index("version")]
        at = now().replace(tzinfo=None)   # naive UTC, as UTCDateTime stores it
        stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at
        day = deadline.isoformat() if sqlite else deadline
        cursor.execute(update, ("team", team_id, day, stamp, cid, version))
        assert cursor.rowcount == 1, cid
        cursor.execute(insert, (cid, stamp, actor_id, "escalate", "group", "team", group_id, team_id, data, "", ""))
        raw.commit()
    return escalate


def run(databases, quick: bool) -> bool:
    n = 300 if quick else 3000
    # province: on case_list's data set of 5M cases (a copy), where the full size has its own 20k
    url = databases.data(cases=2000 if quick else sized(1_000_000) if common.scale > 1 else 20000, copy=True)
    try:
        with populated(url):
            actor = db.session.scalars(select(User).where(User.role == "group_leader")
                                       .order_by(User.id)).first()
            ids = [file_case(actor, title="村道坑洼", category="infrastructure", kind="individual").id
                   for _ in range(4 * n)]
            db.session.commit()
            group_id, team_id, actor_id = actor.unit_id, actor.unit.parent_id, actor.id
            deadline = add_working_days(today(), default_workflow().states["team"].deadline_days)

            # Each op is one request's work: it starts by loading its user (as Flask-Login does).
            def service(cid: int) -> None:
                user = db.session.get(User, actor_id)
                case = get_case(user, cid)
                fire(case, "escalate", user, version=case.version, **REASON)
                db.session.commit()

            def orm(cid: int) -> None:
                db.session.get(User, actor_id)
                case = db.session.get(Case, cid)
                case.state, case.unit_id, case.deadline, case.updated_at = "team", team_id, deadline, now()
                db.session.add(CaseEvent(case_id=cid, at=case.updated_at, actor_id=actor_id,
                                         trigger="escalate", from_state="group", to_state="team",
                                         from_unit_id=group_id, to_unit_id=team_id, data=dict(REASON)))
                db.session.commit()

            raw = db.engine.raw_connection()  # a connection of its own, outside the session
            try:
                bare = _driver(raw, db.engine.dialect.name == "sqlite", actor_id, group_id, team_id, deadline)
                sides = {"service": (service, nullcontext), "orm": (orm, nullcontext),
                         "orm_alone": (orm, lambda: detached(HOOKS)), "bare": (bare, nullcontext)}
                spent = dict.fromkeys(sides, 0.0)
                # interleaved case by case, so all four see the same machine state
                for some in zip(*(ids[i::4] for i in range(4))):
                    for (side, (op, around)), cid in zip(sides.items(), some):
                        with around():   # detaching the hooks is not timed
                            start = time.perf_counter()
                            op(cid)
                            spent[side] += time.perf_counter() - start
            finally:
                raw.close()
            db.session.expire_all()   # the driver's rows, read afresh
            escalated = db.session.scalar(select(db.func.count()).where(Case.state == "team",
                                                                        Case.id.in_(ids)))
            assert escalated == 4 * n, escalated
            models = len(default_workflow().machine.models)
            ms = {side: f"{1000 * t / n:.2f} ms/op" for side, t in spent.items()}
            return line("fire_transition", spent["service"] / spent["bare"], "<=", 1.5,
                        f"service {ms['service']}, the driver's get+update+insert+commit {ms['bare']}; the "
                        f"ORM's in the app's session (its hooks run) {ms['orm']}, the ORM's alone (hooks "
                        f"detached) {ms['orm_alone']}; n={n}, len(machine.models) == {models}")
    finally:
        databases.drop(url)
