"""Several people acting on one case at once: one wins, the others are told it changed."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, User
from casetrack.services.organisation.accounts import create_token
from casetrack.services.integrity.audit import verify_chain
from casetrack.services.casework.cases import fire
from casetrack.services.deadlines.sweep import sweep_deadlines
from tests.test_deadlines import on


def test_concurrent_transitions_lose_no_update(api, world):
    case = world.file()
    db.session.commit()
    clients = [api("group1") for _ in range(8)]

    def escalate(c):
        return c.post(f"/cases/{case.id}/transitions",
                      json={"trigger": "escalate", "version": 1, "reason": "并发"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(escalate, clients))
    assert codes == [200] + [409] * 7
    db.session.expire_all()
    events = db.session.query(CaseEvent).filter_by(case_id=case.id).count()
    assert events == 2      # the filing and exactly one escalation
    assert clients[0].get(f"/cases/{case.id}").json["version"] == 2


@pytest.mark.postgresql_only
def test_a_case_locked_past_the_lock_timeout_answers_busy_and_changes_nothing(world, api, impatient):
    """Another transaction holds the case's row: the transition waits LOCK_TIMEOUT, not for
    ever, then answers 503 with Retry-After, and the case is as it was."""
    assert db.session.execute(text("SHOW lock_timeout")).scalar() == "15s"  # the default
    case = world.file()
    db.session.commit()
    token = create_token(world.users["group1"])
    db.session.commit()
    server = impatient(0.2)
    with db.engine.connect() as holder:
        holder.execute(text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case.id})
        r = server.test_client().post(f"/api/v1/cases/{case.id}/transitions",
                                      headers={"Authorization": f"Bearer {token}"},
                                      json={"trigger": "escalate", "version": 1, "reason": "锁"})
        holder.rollback()
    assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.json
    assert r.json["error"] == "busy" and "系统繁忙" in r.json["message"]
    db.session.expire_all()
    assert db.session.get(Case, case.id).version == 1
    assert db.session.query(CaseEvent).filter_by(case_id=case.id).count() == 1


@pytest.mark.postgresql_only
def test_a_transition_racing_the_sweeps_flag_of_the_same_case_keeps_one_chain(app, world):
    """The sweep has flagged a case (its row locked, not yet committed) when a person, who read
    the case before that commit, escalates it: the person's event follows the flag's, the chain
    does not fork into two events after the same predecessor."""
    with on("2026-06-01"):  # due Mon Jun 8: flagged overdue on Jun 9
        case_id = world.file().id
        db.session.commit()
    group1 = world.users["group1"].id
    flagged, person_waits, errors = threading.Event(), threading.Event(), []

    def sweeper():
        try:
            with app.app_context(), on("2026-06-09"):
                assert sweep_deadlines()["overdue"] == 1  # flushed: the row is locked until the commit
                flagged.set()
                person_waits.wait(30)
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            flagged.set()

    def person():
        try:
            with app.app_context(), on("2026-06-09"):
                flagged.wait(30)
                case = db.session.get(Case, case_id)  # as committed: before the flag
                fire(case, "escalate", db.session.get(User, group1), reason="组内无法解决")
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweeper), threading.Thread(target=person)]
    for t in threads:
        t.start()
    # the person's transaction waits for the sweep's row lock; then the sweep commits
    for _ in range(3000):
        if db.session.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")).scalar():
            break
        db.session.rollback()
        threading.Event().wait(0.01)
    db.session.rollback()
    person_waits.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    events = db.session.execute(select(CaseEvent.trigger, CaseEvent.prev_hash, CaseEvent.hash)
                                .where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    assert [e.trigger for e in events] == ["file", "overdue", "escalate"]
    assert [e.prev_hash for e in events] == ["", events[0].hash, events[1].hash]  # one line, no fork
    assert verify_chain() == (3, [])
