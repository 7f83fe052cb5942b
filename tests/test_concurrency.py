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
    _wait_for_a_lock_wait()   # the person's transaction waits for the sweep's row lock
    person_waits.set()   # then the sweep commits
    for t in threads:
        t.join(60)
    assert not errors, errors
    events = db.session.execute(select(CaseEvent.trigger, CaseEvent.prev_hash, CaseEvent.hash)
                                .where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    assert [e.trigger for e in events] == ["file", "overdue", "escalate"]
    assert [e.prev_hash for e in events] == ["", events[0].hash, events[1].hash]  # one line, no fork
    assert verify_chain() == (3, [])


def _wait_for_a_lock_wait() -> None:
    """Until some transaction of this database waits for a lock (or 30 s)."""
    for _ in range(3000):
        if db.session.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")).scalar():
            break
        db.session.rollback()
        threading.Event().wait(0.01)
    db.session.rollback()


@pytest.mark.postgresql_only
def test_two_weeks_published_at_once_are_issues_1_and_2(app, world):
    """The county's office publishes a week while another week's issue is numbered and not yet
    committed: the second is issue 2 (it waits for the first), not a second issue 1 refused by
    the unique key."""
    from datetime import date, timedelta

    from casetrack.models import Unit
    from casetrack.services.reports import bulletin_issues as bi
    county, unit = world.users["county"].id, world.units["C"].id
    numbered, first_waits, errors, numbers = threading.Event(), threading.Event(), [], []

    def publisher(monday: date, hold: bool):
        try:
            with app.app_context(), on("2026-06-16"):
                issue = bi.publish_period(db.session.get(User, county), db.session.get(Unit, unit),
                                          monday, monday + timedelta(days=6))
                numbers.append(issue.number)
                if hold:
                    numbered.set()
                    first_waits.wait(30)
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
            numbered.set()

    first = threading.Thread(target=publisher, args=(date(2026, 6, 1), True))
    first.start()
    numbered.wait(30)
    second = threading.Thread(target=publisher, args=(date(2026, 6, 8), False))
    second.start()
    _wait_for_a_lock_wait()   # the second waits for the first's transaction
    first_waits.set()
    for t in (first, second):
        t.join(60)
    assert not errors, errors
    assert numbers == [1, 2]
