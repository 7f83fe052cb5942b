"""The assessment file (workflows/assessment.yaml): weighted indicators per kind of unit (考核)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


from casetrack.workflow import WorkflowError, _check_keys, read_yaml

FILE = "assessment.yaml"
# The indicators the code computes (services/reports/assessment.py); "lower" ones score 1 - rate.
INDICATORS = {"coverage": "higher", "on_time_closure": "higher", "satisfaction": "higher",
              "feedback": "higher", "visits_per_cadre": "higher", "overdue": "lower", "rework": "lower",
              "returns": "lower"}
# The indicators each kind of unit has figures for.
KIND_INDICATORS = {
    "team": ("coverage", "on_time_closure", "satisfaction", "feedback", "visits_per_cadre", "overdue", "rework"),
    "group": ("coverage", "on_time_closure", "satisfaction", "feedback", "visits_per_cadre", "overdue", "rework"),
    "department": ("on_time_closure", "overdue", "returns"),
}
STATUSES = ("green", "yellow", "red")


@dataclass(frozen=True)
class Assessment:
    path: str
    weights: dict[str, dict[str, float]]   # kind -> indicator -> weight
    full_marks: dict[str, float]           # indicator -> the value that earns full marks
    green: float
    yellow: float

    def status(self, score: float | None) -> str:
        """红黄绿灯 of a score; a unit with no figure at all is yellow (nothing to judge yet)."""
        if score is None:
            return "yellow"
        return "green" if score >= self.green - 1e-9 else "yellow" if score >= self.yellow - 1e-9 else "red"


def _number(where: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low \
            or (high is not None and value > high):
        upper = f" and at most {high:g}" if high is not None else ""
        raise WorkflowError(f"{where}: must be a number of at least {low:g}{upper}")
    return float(value)


def parse_assessment(data: Any, path: str = FILE) -> Assessment:
    """Validate a parsed assessment file; a mistake names the file and the key."""
    _check_keys(path, data, {"version", "indicators", "weights", "status"}, {"weights", "status"})
    indicators = data.get("indicators") or {}
    _check_keys(f"{path}: indicators", indicators, set(INDICATORS))
    full_marks: dict[str, float] = {"visits_per_cadre": 1.0}
    for name, spec in indicators.items():
        where = f"{path}: indicators.{name}"
        _check_keys(where, spec or {}, {"full_marks_at"} if name == "visits_per_cadre" else set())
        if spec and "full_marks_at" in spec:
            full_marks[name] = _number(f"{where}.full_marks_at", spec["full_marks_at"], 0.001)
    weights_spec = data["weights"]
    _check_keys(f"{path}: weights", weights_spec, set(KIND_INDICATORS))
    weights: dict[str, dict[str, float]] = {}
    for kind, spec in weights_spec.items():
        where = f"{path}: weights.{kind}"
        _check_keys(where, spec, set(KIND_INDICATORS[kind]))
        weights[kind] = {name: _number(f"{where}.{name}", w, 0) for name, w in spec.items()}
        if not any(weights[kind].values()):
            raise WorkflowError(f"{where}: give at least one indicator a weight above 0")
    status = data["status"]
    _check_keys(f"{path}: status", status, {"green", "yellow"}, {"green", "yellow"})
    green = _number(f"{path}: status.green", status["green"], 0, 100)
    yellow = _number(f"{path}: status.yellow", status["yellow"], 0, 100)
    if yellow > green:
        raise WorkflowError(f"{path}: status.yellow: must not be above status.green")
    return Assessment(path, weights, full_marks, green, yellow)


def assessment_file(folder: str | Path) -> Path:
    """The folder's assessment file, else the one shipped with the app (a second campaign's
    folder need not carry one)."""
    mine = Path(folder) / FILE
    if mine.exists():
        return mine
    from casetrack.config import shipped
    return shipped("workflows") / FILE


def load_assessment(path: str | Path) -> Assessment:
    path = Path(path)
    return parse_assessment(read_yaml(path), str(path))
