"""A workflow file written only for this test, with every state and trigger named otherwise than
the campaign's, runs with no Python change: filing, moves, shared problems, follow-ups."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from casetrack.extensions import db
from casetrack.services.casework.cases import fire
from casetrack.services.casework.shared import link_cases
from tests.conftest import running_app
from tests.factories import build_world

CAMPAIGN = Path(__file__).resolve().parent.parent / "workflows" / "campaign.yaml"
STATES = {"group": "at_group", "team": "at_team", "county": "at_office", "department": "at_dept",
          "explained": "accounted", "resolved": "done", "closed": "struck_off", "proposed": "put_forward",
          "explain_proposed": "account_put_forward", "callback": "call_handed_down"}
TRIGGERS = {"resolve": "finish", "explain": "account_for", "escalate": "report_up", "send_back": "return_down",
            "refer": "hand_over", "return": "bounce", "resume": "restart", "verify": "check_back",
            "confirm": "approve", "reject": "disapprove", "take_over": "pull_up", "send_down": "hand_down",
            "delegate_callback": "hand_down_call"}


def renamed() -> dict:
    """The campaign file with its states and triggers renamed."""
    data = yaml.safe_load(CAMPAIGN.read_text(encoding="utf-8"))
    data["name"] = "renamed"
    data["states"] = {STATES[k]: v for k, v in data["states"].items()}
    for spec in data["states"].values():
        if "auto_escalate" in spec:
            spec["auto_escalate"]["trigger"] = "report_up"
    data["filing"]["states"] = {k: STATES[v] for k, v in data["filing"]["states"].items()}
    data["extensions"]["states"] = [STATES[s] for s in data["extensions"]["states"]]
    for t in data["transitions"]:
        t["trigger"] = TRIGGERS[t["trigger"]]
        t["source"] = [STATES[s] for s in t["source"]] if isinstance(t["source"], list) else STATES[t["source"]]
        if isinstance(t["dest"], str):
            t["dest"] = STATES[t["dest"]]
        elif "state" in t["dest"]:
            t["dest"]["state"] = STATES[t["dest"]["state"]]
    return data


@pytest.fixture
def renamed_app(database_url, tmp_path):
    (tmp_path / "renamed.yaml").write_text(yaml.safe_dump(renamed(), allow_unicode=True), encoding="utf-8")
    with running_app(database_url, WORKFLOWS_DIR=str(tmp_path), WORKFLOW="renamed") as app:
        yield app


def test_a_renamed_workflow_runs_a_case_and_a_shared_problem_to_the_end(renamed_app):
    w = build_world()
    u = w.users
    case = w.file("group1")
    assert (case.state, case.workflow) == ("at_group", "renamed")
    fire(case, "finish", u["member1"], resolution="修好了")
    assert case.state == "put_forward"                  # a member's resolution waits for the leader
    fire(case, "disapprove", u["group1"], reason="没修好")
    assert case.state == "at_group"
    fire(case, "report_up", u["group1"], reason="组里解决不了")
    fire(case, "report_up", u["team1"], reason="队里解决不了")
    fire(case, "hand_over", u["county"], department="D1", due_date="2099-01-01")
    assert (case.state, case.unit.code) == ("at_dept", "D1")
    fire(case, "finish", u["dept1"], resolution="已修好")
    fire(case, "check_back", u["county"], outcome="unreachable")
    assert case.state == "done"                         # one attempt recorded, still awaiting
    fire(case, "hand_down_call", u["county"], callback_unit="G1")
    assert (case.state, case.unit.code) == ("call_handed_down", "G1")
    fire(case, "check_back", u["group1"], satisfied=True)
    assert case.state == "struck_off"

    a, b = w.file("group1"), w.file("group2")
    parent = link_cases(u["team1"], "同一条路", [a.id, b.id])
    fire(parent, "finish", u["team1"], resolution="统一修路")
    assert (a.state, b.state) == ("done", "done")       # the members follow their parent
    db.session.commit()
    from casetrack.models import Notification
    told = db.session.scalars(db.select(Notification.message).where(
        Notification.case_id == case.id, Notification.kind == "answer").order_by(Notification.id)).all()
    assert told == ["办结：已办结待回访。已修好", "回访核实：已办结销号"]   # the answer, in the office's words
    from casetrack.services.reports import bulletin
    from casetrack.services.workdays.calendar import today
    assert bulletin.bulletin(w.units["C"], today(), today())["problems"]["solved"] == 1  # counts_as: solved
