"""Several people acting on one case at once: one wins, the others are told it changed."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent
from casetrack.services.accounts import create_token


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
