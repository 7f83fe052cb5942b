"""The workflow file: the default loads; a broken file is refused, naming the file and the key."""
from pathlib import Path

import pytest
import yaml

from casetrack import create_app
from casetrack.workflow import WorkflowError, load_workflow, parse_workflow

CAMPAIGN = Path(__file__).resolve().parent.parent / "workflows" / "campaign.yaml"


def campaign() -> dict:
    return yaml.safe_load(CAMPAIGN.read_text(encoding="utf-8"))


def test_default_workflow_encodes_the_escalation_rule():
    wf = load_workflow(CAMPAIGN)
    assert {"group", "team", "county", "department", "explained", "resolved", "closed"} <= set(wf.states)
    assert wf.filing_states == {"individual": "group", "shared": "group"}
    assert set(wf.triggers()) >= {"escalate", "send_back", "refer", "return", "resolve", "explain",
                                  "resume", "verify"}
    # one Machine, bound to no case
    assert wf.machine.models == []
    assert "to_group" not in wf.machine.events  # no auto transitions


def test_check_workflow_prints_states_and_transitions(runner):
    result = runner.invoke(args=["check-workflow", str(CAMPAIGN)])
    assert result.exit_code == 0
    assert "department" in result.output and "refer" in result.output
    assert "县直部门办理" in result.output


def broken(mutate):
    data = campaign()
    mutate(data)
    return data


CASES = {
    "unknown source state": (lambda d: d["transitions"][0].update(source=["nowhere"]),
                             "transitions[0] (resolve).source: unknown state 'nowhere'"),
    "unknown destination": (lambda d: d["transitions"][2].update(dest="heaven"),
                            "transitions[2] (escalate).dest: unknown state 'heaven'"),
    "unknown role": (lambda d: d["transitions"][2].update(roles=["mayor"]),
                     "transitions[2] (escalate).roles: unknown role 'mayor'"),
    "unknown field": (lambda d: d["transitions"][2].update(fields=["mood"]),
                      "transitions[2] (escalate).fields: unknown field 'mood'"),
    "unknown key": (lambda d: d["states"]["group"].update(colour="red"), "states.group.colour: unknown key"),
    "unknown level": (lambda d: d["states"]["group"].update(level="village"),
                      "states.group.level: unknown level 'village'"),
    "bad deadline": (lambda d: d["states"]["group"].update(deadline_days=-2),
                     "states.group.deadline_days"),
    "unknown field type": (lambda d: d["fields"]["reason"].update(type="colour"),
                           "fields.reason.type: unknown type 'colour'"),
    "unreachable state": (lambda d: d["states"].update(limbo={"level": "county"}),
                          "states.limbo: unreachable"),
    "missing transitions": (lambda d: d.pop("transitions"), "transitions: missing"),
    "filing to unknown state": (lambda d: d["filing"]["states"].update(shared="nowhere"),
                                "filing.states.shared: unknown state 'nowhere'"),
    "bad back_to": (lambda d: d["transitions"][7].update(dest={"back_to": "mother"}),
                    "dest.back_to: must be one of"),
    "condition on a field it does not ask": (
        lambda d: d["transitions"][2].update(when={"satisfied": True}), "when.satisfied: unknown key"),
    "refer without department": (lambda d: d["transitions"][5].update(fields=["due_date"]),
                                 "a move to a department needs a department field"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_broken_workflow_is_refused_naming_file_and_key(name):
    mutate, message = CASES[name]
    with pytest.raises(WorkflowError) as err:
        parse_workflow(broken(mutate), "workflows/county.yaml")
    assert "workflows/county.yaml" in str(err.value)
    assert message in str(err.value)


def test_not_yaml_is_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("states: [unclosed\n", encoding="utf-8")
    with pytest.raises(WorkflowError, match="bad.yaml: not valid YAML"):
        load_workflow(path)


def test_check_workflow_refuses_a_broken_file(runner, tmp_path):
    path = tmp_path / "county.yaml"
    path.write_text(yaml.safe_dump(broken(CASES["unknown role"][0])), encoding="utf-8")
    result = runner.invoke(args=["check-workflow", str(path)])
    assert result.exit_code == 1
    assert "county.yaml" in result.output and "unknown role 'mayor'" in result.output


def test_app_refuses_to_start_with_a_broken_workflow(tmp_path):
    (tmp_path / "campaign.yaml").write_text(
        yaml.safe_dump(broken(CASES["unknown destination"][0])), encoding="utf-8")
    with pytest.raises(WorkflowError, match="campaign.yaml"):
        create_app({"WORKFLOWS_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_two_files_with_the_same_version_are_refused(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(CAMPAIGN.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(WorkflowError, match="already defined"):
        create_app({"WORKFLOWS_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
