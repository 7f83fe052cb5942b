"""A transition's case and event written by two statements (not the unit of work): the answer,
a change made in between, a savepoint rolled back."""
import threading

import pytest
from sqlalchemy import select

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent, User
from casetrack.services.casework.cases import fire
from casetrack.services.common.errors import Conflict
from casetrack.services.integrity.audit import verify_chain


def _events(case_id: int) -> list[str]:
    return list(db.session.scalars(select(CaseEvent.trigger).where(CaseEvent.case_id == case_id)
                                   .order_by(CaseEvent.id)))


def test_the_transitions_answer_is_the_case_as_stored(api, world):
    case = world.file()
    db.session.commit()
    group = api("group1")
    answer = group.post(f"/cases/{case.id}/transitions",
                        json={"trigger": "escalate", "version": 1, "reason": "组内无法解决"})
    assert answer.status_code == 200, answer.json
    assert answer.json["state"] == "team" and answer.json["version"] == 2
    stored = group.get(f"/cases/{case.id}").json
    assert answer.json == {key: stored[key] for key in answer.json}
    assert [e["trigger"] for e in stored["events"]] == ["file", "escalate"]
    assert verify_chain()[1] == []


def test_a_change_made_after_the_case_was_read_refuses_the_transition(app, world):
    """Someone else escalates the case between our read and our write: ours is refused as
    stale, nothing of it is written, the chain has one line."""
    case = world.file()
    db.session.commit()
    group1 = world.users["group1"]
    assert case.version == 1   # read, as a request reads it before it writes
    errors = []

    def other():
        try:
            with app.app_context():
                fire(db.session.get(Case, case.id), "escalate", db.session.get(User, group1.id),
                     version=1, reason="另一人先上报")
                db.session.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(60)
    assert not errors, errors
    with pytest.raises(Conflict) as refused:
        fire(case, "escalate", group1, version=1, reason="组内无法解决")
    assert refused.value.code == "stale"
    assert _events(case.id) == ["file", "escalate"]
    assert db.session.get(Case, case.id).version == 2
    assert verify_chain()[1] == []


def test_a_transition_in_a_savepoint_rolled_back_leaves_the_case_as_stored(world):
    case = world.file()
    db.session.commit()
    group1 = world.users["group1"]
    savepoint = db.session.begin_nested()
    fire(case, "escalate", group1, version=1, reason="组内无法解决")
    assert case.state == "team"
    savepoint.rollback()
    assert (case.state, case.version) == ("group", 1)   # read again, as the database has it
    fire(case, "escalate", group1, version=1, reason="组内无法解决")
    db.session.commit()
    assert _events(case.id) == ["file", "escalate"]
    assert verify_chain()[1] == []
