"""Several people acting on one case at once: one wins, the others are told it changed."""
from concurrent.futures import ThreadPoolExecutor

from casetrack.extensions import db
from casetrack.models import CaseEvent


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
