"""Random triggers by random users, with good, missing and bad fields: the invariants hold."""
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from casetrack.services.casework.cases import case_events, file_case, fire, workflow_of
from casetrack.services.common.errors import ServiceError
from tests.factories import USERS
from tests.helpers import FIELDS, assert_replays

TRIGGERS = sorted(FIELDS)
GARBAGE = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.booleans(),
                    st.sampled_from(["D1", "D2", "G2", "T1", "2000-01-01", "2099-12-31", "-1", "1e400"]))


def test_random_walks_keep_the_invariants(world):
    users = world.users

    class Walk(RuleBasedStateMachine):
        cases = Bundle("cases")

        def __init__(self):
            super().__init__()
            self.filed = []

        @rule(target=cases, who=st.sampled_from(sorted(USERS)), kind=st.sampled_from(["individual", "shared"]))
        def file(self, who, kind):
            try:
                case = file_case(users[who], title="路灯坏了", category="public_security", kind=kind,
                                 resident={"name": "李四"})
            except ServiceError:
                assert USERS[who][0] not in ("group_leader", "group_member")
                case = file_case(users["group1"], title="路灯坏了", category="public_security",
                                 kind=kind)
            self.filed.append(case)
            return case

        @rule(case=cases, who=st.sampled_from(sorted(USERS)), trigger=st.sampled_from(TRIGGERS + ["fly"]),
              mode=st.sampled_from(["good", "missing", "garbage"]), data=st.data())
        def act(self, case, who, trigger, mode, data):
            before = (case.state, case.unit_id, case.version, len(case_events(case)))
            fields = dict(FIELDS.get(trigger, {}))
            if mode == "missing" and fields:
                fields.pop(data.draw(st.sampled_from(sorted(fields))))
            elif mode == "garbage" and fields:
                fields[data.draw(st.sampled_from(sorted(fields)))] = data.draw(GARBAGE)
            if trigger == "verify":
                fields["satisfied"] = data.draw(st.booleans()) if mode == "good" else fields.get("satisfied")
            try:
                fire(case, trigger, users[who], version=case.version, **fields)
            except ServiceError:
                # refused: nothing changed, not even a half-written event
                assert (case.state, case.unit_id, case.version, len(case_events(case))) == before
            else:
                assert case.version == before[2] + 1

        @invariant()
        def consistent(self):
            for case in self.filed:
                wf = workflow_of(case)
                state = wf.states[case.state]
                if state.level not in ("keep",):
                    assert case.unit.kind == state.level
                if case.state == "department":
                    assert case.department_id == case.unit_id
                if case.state == "explained":
                    assert case.revisit_on is not None
                if case.state in ("resolved", "closed"):
                    assert case.resolved_unit is not None
                assert (case.deadline is None) == (state.deadline_days is None)
                assert_replays(case, case_events(case))
                assert wf.machine.models == []

    run_state_machine_as_test(Walk, settings=settings(max_examples=40, stateful_step_count=30,
                                                      deadline=None))
