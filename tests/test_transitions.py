"""Every transition of the default workflow, allowed and refused (role, scope, state, fields)."""
import pytest
from sqlalchemy import func, select, text

from casetrack.extensions import db
from casetrack.models import Case, CaseEvent
from casetrack.services.organisation.accounts import create_user
from casetrack.services.casework.cases import allowed_triggers, case_events, fire, fire_many
from casetrack.services.common.errors import Conflict, Forbidden, ValidationFailed
from tests.helpers import FIELDS, HOLDER, act, case_in

# (state, trigger, who fires, resulting state, resulting unit)
ALLOWED = [
    ("group", "resolve", "group1", "resolved", "C"),
    ("group", "resolve", "member1", "proposed", "G1"),       # a member proposes, the leader confirms
    ("group", "explain", "member1", "explain_proposed", "G1"),
    ("proposed", "confirm", "group1", "resolved", "C"),
    ("proposed", "reject", "group1", "group", "G1"),
    ("explain_proposed", "confirm", "group1", "explained", "G1"),
    ("explain_proposed", "reject", "group1", "group", "G1"),
    ("group", "explain", "group1", "explained", "G1"),
    ("group", "escalate", "member1", "team", "T1"),
    ("team", "resolve", "team1", "resolved", "C"),
    ("team", "explain", "team1", "explained", "T1"),
    ("team", "escalate", "team1", "county", "C"),
    ("team", "send_back", "team1", "group", "G1"),
    ("team", "refer", "team1", "department", "D1"),          # a team reports straight to a department
    ("county", "resolve", "county", "resolved", "C"),
    ("county", "explain", "county", "explained", "C"),
    ("county", "refer", "county", "department", "D1"),
    ("county", "send_down", "county", "group", "G1"),
    ("department", "resolve", "dept1", "resolved", "C"),
    ("department", "explain", "dept1", "explained", "D1"),
    ("department", "return", "dept1", "county", "C"),
    ("department", "take_over", "county", "county", "C"),    # fired from above, not by the holder
    ("explained", "resume", "group1", "group", "G1"),
    ("resolved", "verify", "county", "closed", "C"),
    ("resolved", "delegate_callback", "county", "callback", "G1"),
    ("callback", "verify", "group1", "closed", "G1"),
]


@pytest.mark.parametrize("state,trigger,who,dest,unit", ALLOWED)
def test_allowed_transition(world, state, trigger, who, dest, unit):
    case = case_in(world, state)
    version = case.version
    assert trigger in [t.trigger for t in allowed_triggers(case, world.users[who])]
    act(world, case, who, trigger, **({"funds": None} if who == "member1" else {}))
    assert (case.state, case.unit.code) == (dest, unit)
    assert case.version == version + 1
    last = case_events(case)[-1]
    assert (last.trigger, last.from_state, last.to_state, last.actor.username) == (trigger, state, dest, who)
    assert last.to_unit.code == unit


@pytest.mark.parametrize("state,trigger,who,dest,unit", ALLOWED)
def test_refused_by_role(world, state, trigger, who, dest, unit):
    """A user of the holding unit whose role the transition does not name is refused."""
    holder = world.users[HOLDER[state]]
    clerk = create_user("clerk", "secret", "admin", holder.unit.code)
    case = case_in(world, state)
    assert allowed_triggers(case, clerk) == []
    with pytest.raises(Forbidden):
        fire(case, trigger, clerk, **FIELDS[trigger])
    assert case.state == state


@pytest.mark.parametrize("state,trigger,who,dest,unit", ALLOWED)
def test_refused_outside_the_holding_unit(world, state, trigger, who, dest, unit):
    """Same role, wrong unit: another group, another team, another department."""
    stranger = {"group1": "group3", "member1": "group2", "team1": "team2", "dept1": "dept2",
                "county": "team1"}[who]
    case = case_in(world, state)
    with pytest.raises(Forbidden):
        fire(case, trigger, world.users[stranger], **FIELDS[trigger])
    assert case.state == state


@pytest.mark.parametrize("state,trigger,who,dest,unit", ALLOWED)
def test_refused_for_each_missing_field(world, state, trigger, who, dest, unit):
    case = case_in(world, state)
    spec = next(t for t in allowed_triggers(case, world.users[who]) if t.trigger == trigger)
    for missing in spec.required:
        fields = {k: v for k, v in FIELDS[trigger].items() if k != missing}
        with pytest.raises(ValidationFailed) as err:
            fire(case, trigger, world.users[who], **fields)
        assert missing in err.value.errors
        assert case.state == state


ALL_TRIGGERS = ["resolve", "explain", "escalate", "send_back", "refer", "return", "resume", "verify",
                "confirm", "reject", "take_over", "send_down", "delegate_callback"]


@pytest.mark.parametrize("state", ["group", "team", "county", "department", "explained", "resolved",
                                   "closed", "proposed", "explain_proposed", "callback"])
def test_refused_by_state(world, state):
    """Every trigger the workflow does not offer from a state answers 'not possible now'."""
    possible = {t for s, t, *_ in ALLOWED if s == state}
    case = case_in(world, state)
    holder = world.users[HOLDER[state] or "county"]
    for trigger in set(ALL_TRIGGERS) - possible:
        with pytest.raises(Conflict) as err:
            fire(case, trigger, holder, **FIELDS[trigger])
        assert err.value.code == "invalid_transition"
    assert case.state == state


def test_bad_field_values_are_refused_and_change_nothing(world):
    case = case_in(world, "county")
    county = world.users["county"]
    bad = [
        ({"department": "T1", "due_date": "2099-01-01"}, "department"),   # a team, not a department
        ({"department": "NOPE", "due_date": "2099-01-01"}, "department"),
        ({"department": "D1", "due_date": "31/07/2099"}, "due_date"),
        ({"department": "D1", "due_date": "2000-01-01"}, "due_date"),     # in the past
        ({"department": "D1", "due_date": "2099-01-01", "mood": "x"}, "mood"),
    ]
    for fields, field in bad:
        with pytest.raises(ValidationFailed) as err:
            fire(case, "refer", county, **fields)
        assert field in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        fire(case, "resolve", county, resolution="ok", funds="-3")
    assert "funds" in err.value.errors
    assert case.state == "county" and case.department is None


def test_resolve_records_money_and_verify_asks_satisfaction(world):
    case = case_in(world, "group")
    act(world, case, "group1", "resolve", funds="2.5", donations="0.5")
    assert str(case.funds) == "2.50" and str(case.donations) == "0.50"
    with pytest.raises(ValidationFailed) as err:
        fire(case, "verify", world.users["county"], satisfied="maybe")
    assert "satisfied" in err.value.errors


def test_stale_version_is_refused(world):
    case = case_in(world, "group")
    old = case.version
    act(world, case, "group1", "escalate")
    with pytest.raises(Conflict) as err:
        fire(case, "escalate", world.users["team1"], version=old, reason="x")
    assert err.value.code == "stale"
    db.session.rollback()


def test_firing_many_at_once_refuses_them_all_when_one_changed_meanwhile(world):
    """fire_many (the sweep's escalations, one flush for all) turns a case changed since it was
    read into the same Conflict as fire, and writes none of them."""
    first, second = world.file(), world.file()
    db.session.commit()
    ids = [first.id, second.id]
    for case in (first, second):  # read: the session now holds their versions
        db.session.refresh(case)
    db.session.connection().execute(text("UPDATE cases SET version = version + 1 WHERE id = :id"),
                                    {"id": second.id})  # someone else's edit, past the session
    with pytest.raises(Conflict) as err:
        fire_many([(case, "escalate", {"reason": "超期"}) for case in (first, second)], None)
    assert err.value.code == "stale"
    db.session.expire_all()
    assert [db.session.get(Case, i).state for i in ids] == ["group", "group"]
    assert db.session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id.in_(ids))) == 2
