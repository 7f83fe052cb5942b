"""The workflows this application runs: the registry loaded at start-up, a case's workflow and
the default one. Here, below every service, so that the clock, the daily figures and what
follows a transition can ask for a case's workflow without importing the case use cases."""
from __future__ import annotations

from typing import Protocol

from flask import current_app

from casetrack.workflow import Registry, Workflow


class Running(Protocol):
    """A case as far as its workflow goes (models import this package, not the other way)."""
    workflow: str
    workflow_version: int


def registry() -> Registry:
    return current_app.extensions["casetrack.workflows"]


def workflow_of(case: Running) -> Workflow:
    return registry().get(case.workflow, case.workflow_version)


def default_workflow() -> Workflow:
    return registry().latest(current_app.config["WORKFLOW"])
