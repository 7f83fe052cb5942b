"""A broken workflow file is refused at load time, naming the file and the key."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from casetrack import create_app
from casetrack.workflow import WorkflowError, load_workflow, parse_workflow

CAMPAIGN = Path(__file__).resolve().parent.parent / "workflows" / "campaign.yaml"


@pytest.fixture
def campaign() -> dict:
    return yaml.safe_load(CAMPAIGN.read_text(encoding="utf-8"))


def refused(data: dict, *parts: str) -> str:
    with pytest.raises(WorkflowError) as exc:
        parse_workflow(data, "wf.yaml")
    message = str(exc.value)
    assert message.startswith("wf.yaml: ")
    for part in parts:
        assert part in message
    return message


def test_the_campaign_file_loads_with_its_deadline_rules():
    wf = load_workflow(CAMPAIGN)
    assert wf.warn_at == 0.8
    assert wf.states["explained"].pauses_clock
    assert wf.states["group"].auto_escalate.after_days == 2
    assert wf.states["group"].auto_escalate.trigger == "escalate"
    assert wf.extensions.approve_roles == {"county_officer"}
    assert wf.shared.detection.min_cases == 3


@pytest.mark.parametrize("mutate, parts", [
    (lambda d: d["deadlines"].update(warn_at=1.5), ["deadlines.warn_at", "between 0 and 1"]),
    (lambda d: d["deadlines"].update(warn_at="soon"), ["deadlines.warn_at"]),
    (lambda d: d["deadlines"].update(warn_after=0.5), ["deadlines.warn_after", "unknown key"]),
    (lambda d: d["states"]["explained"].update(pauses_clock="yes"), ["states.explained.pauses_clock"]),
    (lambda d: d["states"]["group"].update(pauses_clock=True),
     ["states.group.pauses_clock", "no deadline_days"]),
    (lambda d: d["states"]["group"]["auto_escalate"].update(after_overdue_days=-1),
     ["states.group.auto_escalate.after_overdue_days"]),
    (lambda d: d["states"]["group"]["auto_escalate"].update(trigger="refer"),
     ["states.group.auto_escalate.trigger", "'refer'"]),
    (lambda d: d["states"]["county"].update(auto_escalate={"after_overdue_days": 1, "reason": "x",
                                                           "trigger": "refer"}),
     ["states.county.auto_escalate.trigger", "cannot give"]),
    (lambda d: d["states"]["explained"].update(auto_escalate={"after_overdue_days": 1, "reason": "x"}),
     ["states.explained.auto_escalate", "never overdue"]),
    (lambda d: d["states"]["group"]["auto_escalate"].pop("reason"),
     ["states.group.auto_escalate.reason", "missing"]),
    (lambda d: d["extensions"].update(approve_roles=["mayor"]), ["extensions.approve_roles", "'mayor'"]),
    (lambda d: d["extensions"].update(states=["closed"]), ["extensions.states", "'closed'"]),
    (lambda d: d["extensions"].update(states=["nowhere"]), ["extensions.states", "unknown state"]),
    (lambda d: d["extensions"].update(max_days=0), ["extensions.max_days"]),
    (lambda d: d["extensions"].pop("request_roles"), ["extensions.request_roles", "missing"]),
    (lambda d: d["shared_problems"].update(link_roles="chief"), ["shared_problems.link_roles"]),
    (lambda d: d["shared_problems"]["detection"].update(match=["smell"]),
     ["shared_problems.detection.match", "'smell'"]),
    (lambda d: d["shared_problems"]["detection"].update(min_cases=1),
     ["shared_problems.detection.min_cases"]),
    (lambda d: d["shared_problems"]["detection"].update(text_similarity=0),
     ["shared_problems.detection.text_similarity"]),
    (lambda d: d["transitions"][0].update(after=["sing"]), ["transitions[0] (resolve).after", "'sing'"]),
    (lambda d: d["transitions"][0].update(notice="party"), ["transitions[0] (resolve).notice"]),
    (lambda d: d["transitions"][0].update(photos={"stage": "during"}), ["transitions[0] (resolve).photos.stage"]),
    (lambda d: d["transitions"][0].update(photos={"stage": "document"}), ["(resolve).photos.stage", "before, after"]),
    (lambda d: d["transitions"][0].update(photos={"stage": "after", "min": 10}), ["(resolve).photos.min", "at most 9"]),
    (lambda d: d["transitions"][0].update(photos={"stage": "after", "min": -1}), ["(resolve).photos.min"]),
    (lambda d: d["transitions"][0].update(photos={"min": 1}), ["(resolve).photos.stage", "missing"]),
    (lambda d: d["transitions"][0].update(photos={"stage": "after", "count": 1}), ["(resolve).photos.count", "unknown key"]),
])
def test_broken_deadline_rules_are_refused_with_file_and_key(campaign, mutate, parts):
    data = copy.deepcopy(campaign)
    mutate(data)
    refused(data, *parts)


def test_the_app_does_not_start_on_a_broken_file(campaign, tmp_path):
    campaign["deadlines"]["warn_at"] = 2
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(campaign, allow_unicode=True),
                                            encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"campaign.yaml: deadlines.warn_at"):
        create_app({"WORKFLOWS_DIR": str(tmp_path), "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})


def test_the_sections_are_optional(campaign):
    for key in ("deadlines", "extensions", "shared_problems"):
        campaign.pop(key)
    for state in campaign["states"].values():
        state.pop("auto_escalate", None)
    wf = parse_workflow(campaign, "wf.yaml")
    assert wf.warn_at is None and wf.extensions is None and wf.shared is None


def test_a_transition_may_take_photos(campaign):
    wf = parse_workflow(campaign, "wf.yaml")
    resolve = next(t for t in wf.transitions if t.trigger == "resolve")
    assert (resolve.photos.stage, resolve.photos.min) == ("after", 0)   # the campaign offers, not requires
    campaign["transitions"][0]["photos"] = {"stage": "after"}
    wf = parse_workflow(campaign, "wf.yaml")
    assert wf.transitions[0].photos.min == 1 and "photos=after>=1" in wf.describe()
