"""The escalation rule of DOMAIN.md, end to end through the services."""
from casetrack.services.casework.cases import case_events, get_case
from tests.helpers import act, assert_replays


def trail(case):
    return [(e.trigger, e.to_state, e.to_unit.code) for e in case_events(case)]


def test_shared_problem_climbs_to_a_department_and_closes(world):
    case = world.file("member1", kind="shared")
    assert (case.state, case.unit.code) == ("group", "G1")  # the group's until it reports it up
    act(world, case, "member1", "escalate", reason="三个组的共性问题，本组无力解决")
    assert (case.state, case.unit.code) == ("team", "T1")
    act(world, case, "team1", "escalate")
    act(world, case, "county", "refer")
    assert case.department.code == "D1" and case.deadline.isoformat() > "2000"
    assert get_case(world.users["dept1"], case.id) is case      # the department now sees it
    act(world, case, "dept1", "resolve", funds="12", donations="3")
    assert (case.state, case.unit.code, case.resolved_unit.code) == ("resolved", "C", "D1")
    act(world, case, "county", "verify")
    assert trail(case) == [("file", "group", "G1"), ("escalate", "team", "T1"), ("escalate", "county", "C"),
                           ("refer", "department", "D1"), ("resolve", "resolved", "C"),
                           ("verify", "closed", "C")]
    assert case.deadline is None
    assert_replays(case, case_events(case))


def test_individual_problem_stays_with_the_group(world):
    case = world.file("group1")
    assert (case.state, case.unit.code) == ("group", "G1")
    assert case.deadline is not None


def test_explained_case_stays_on_the_books_and_resumes_where_explained(world):
    for level, path, holder in [("G1", [], "group1"),
                                ("T1", [("group1", "escalate")], "team1"),
                                ("D1", [("group1", "escalate"), ("team1", "escalate"),
                                        ("county", "refer")], "dept1")]:
        case = world.file()
        for who, trigger in path:
            act(world, case, who, trigger)
        act(world, case, holder, "explain")
        assert (case.state, case.unit.code) == ("explained", level)
        assert case.revisit_on is not None and case.resolved_unit is None   # not solved
        act(world, case, holder, "resume")
        assert case.unit.code == level
        assert case.state == {"G1": "group", "T1": "team", "D1": "department"}[level]
        assert_replays(case, case_events(case))


def test_dissatisfied_call_back_reopens_at_the_resolving_level(world):
    for path, resolver, state in [([], "group1", "group"),
                                  ([("group1", "escalate")], "team1", "team"),
                                  ([("group1", "escalate"), ("team1", "escalate")], "county", "county"),
                                  ([("group1", "escalate"), ("team1", "escalate"), ("county", "refer")],
                                   "dept1", "department")]:
        case = world.file()
        for who, trigger in path:
            act(world, case, who, trigger)
        unit = case.unit.code
        act(world, case, resolver, "resolve")
        act(world, case, "county", "verify", outcome="dissatisfied", words="路面又坏了")
        assert (case.state, case.unit.code) == (state, unit)
        # and it can be resolved again and closed
        act(world, case, resolver, "resolve")
        act(world, case, "county", "verify")
        assert case.state == "closed"
        assert_replays(case, case_events(case))


def test_department_returns_a_misrouted_referral(world):
    case = world.file()
    act(world, case, "group1", "escalate")
    act(world, case, "team1", "escalate")
    act(world, case, "county", "refer")
    act(world, case, "dept1", "return", reason="应由环保局办理")
    assert (case.state, case.unit.code) == ("county", "C")
    act(world, case, "county", "refer", department="D2")
    assert (case.state, case.unit.code) == ("department", "D2")
    assert case_events(case)[-2].data == {"reason": "应由环保局办理"}


def test_team_sends_back_to_a_chosen_group_of_its_own(world):
    case = world.file("group1", kind="shared")
    act(world, case, "group1", "escalate")
    act(world, case, "team1", "send_back", group="G2")
    assert (case.state, case.unit.code) == ("group", "G2")
    event = case_events(case)[-1]
    assert event.data == {"reason": "请工作组先核实", "group": "G2"}
    assert event.actor.username == "team1"


def test_event_records_every_field_given(world):
    case = world.file()
    act(world, case, "group1", "resolve", resolution="修好了", funds="1.5", donations="0.25")
    event = case_events(case)[-1]
    assert event.data == {"resolution": "修好了", "funds": "1.50", "donations": "0.25"}
    assert (event.from_state, event.to_state, event.from_unit.code) == ("group", "resolved", "G1")
