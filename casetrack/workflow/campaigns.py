"""The campaigns file (workflows/campaigns.yaml): the campaigns (活动) one deployment runs, each
by its workflow, with its own categories and kinds of target."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from casetrack.workflow import Registry, WorkflowError, _check_keys, _label, _names, read_yaml

FILE = "campaigns.yaml"


@dataclass(frozen=True)
class Campaign:
    code: str
    name: dict[str, str]
    workflow: str                          # the workflow its new cases follow
    workflows: tuple[str, ...]             # every workflow its cases may follow, its own first
    categories: dict[str, dict[str, str]]  # its own categories, code -> label; empty: every one
    target_kinds: tuple[str, ...]          # the kinds of its targets; empty: the visit kinds
    checklists: dict[str, dict[str, ChecklistItem]] = field(default_factory=dict)  # kind -> item code -> item
    timetable: Timetable | None = None
    circular: dict[str, str] = field(default_factory=dict)   # its weekly circular's title (督查通报); none: the name's


@dataclass(frozen=True)
class Timetable:
    """A campaign's dates and the weekday its week is reported on (1 Monday .. 7 Sunday)."""
    start: date | None
    end: date | None
    report_day: int

    def reported_week(self, today: date) -> date:
        """A day of the week to report on by `today`: the full week before the latest report day."""
        last_report = today - timedelta(days=(today.isoweekday() - self.report_day) % 7)
        return last_report - timedelta(days=7)

    def week_number(self, monday: date) -> int | None:
        """The week's number in the campaign (第N周, the start's week the first), if it falls in it."""
        if self.start is None or (self.end is not None and monday > self.end):
            return None
        first = self.start - timedelta(days=self.start.weekday())
        n = (monday - first).days // 7 + 1
        return n if n >= 1 else None


@dataclass(frozen=True)
class ChecklistItem:
    """An item of the standard a site of a kind is inspected against (测评要素)."""
    code: str
    label: dict[str, str]
    category: str     # the category of the problem filed when it fails


@dataclass(frozen=True)
class Campaigns:
    default: str
    by_code: dict[str, Campaign]

    def get(self, code: str) -> Campaign:
        return self.by_code[code]

    def of_workflow(self, name: str) -> Campaign:
        """The campaign whose cases follow that workflow (the default one if none names it)."""
        return next((c for c in self.by_code.values() if name in c.workflows), self.by_code[self.default])

    def owned_categories(self) -> set[str]:
        """The category codes some campaign lists as its own."""
        return {code for c in self.by_code.values() for code in c.categories}


def parse_campaigns(data: Any, path: str, registry: Registry, target_kinds: tuple[str, ...]) -> Campaigns:
    _check_keys(path, data, {"default", "campaigns"}, {"default", "campaigns"})
    found: dict[str, Campaign] = {}
    if not isinstance(data["campaigns"], dict) or not data["campaigns"]:
        raise WorkflowError(f"{path}: campaigns: must be a non-empty mapping")
    workflows = {name for name, _v in registry.workflows}
    for code, spec in data["campaigns"].items():
        where = f"{path}: campaigns.{code}"
        if not isinstance(code, str) or not code.isidentifier() or len(code) > 40:
            raise WorkflowError(f"{where}: a campaign's code is a simple name of at most 40 letters")
        _check_keys(where, spec, {"name", "workflow", "workflows", "categories", "target_kinds", "checklists",
                                 "timetable", "circular"},
                    {"name", "workflow"})
        flows = (spec["workflow"],) + tuple(n for n in _names(f"{where}.workflows", spec.get("workflows", []))
                                            if n != spec["workflow"])
        for name in flows:
            if name not in workflows:
                raise WorkflowError(f"{where}: no workflow named {name!r} in the workflows folder")
        categories = spec.get("categories") or {}
        if not isinstance(categories, dict):
            raise WorkflowError(f"{where}.categories: must be a mapping of codes to labels")
        kinds = _names(f"{where}.target_kinds", spec.get("target_kinds", []))
        for kind in kinds:
            if kind not in target_kinds:
                raise WorkflowError(f"{where}.target_kinds: unknown kind {kind!r}")
        found[code] = Campaign(code, _label(f"{where}.name", spec["name"]), flows[0], flows,
                               {str(k): _label(f"{where}.categories.{k}", v) for k, v in categories.items()},
                               kinds, _checklists(f"{where}.checklists", spec.get("checklists") or {}, kinds,
                                                  set(categories)),
                               _timetable(f"{where}.timetable", spec.get("timetable")),
                               _label(f"{where}.circular", spec["circular"]) if spec.get("circular") else {})
    taken = [n for c in found.values() for n in c.workflows]
    for name in set(taken):
        if taken.count(name) > 1:
            raise WorkflowError(f"{path}: campaigns: workflow {name!r} belongs to more than one campaign")
    if data["default"] not in found:
        raise WorkflowError(f"{path}: default: {data['default']!r} is not one of the campaigns")
    return Campaigns(data["default"], found)


def _timetable(where: str, spec: Any) -> Timetable | None:
    if spec is None:
        return None
    _check_keys(where, spec, {"start", "end", "report_day"}, {"report_day"})
    for key in ("start", "end"):
        if spec.get(key) is not None and not isinstance(spec[key], date):
            raise WorkflowError(f"{where}.{key}: a date like 2026-03-01, please")
    if spec.get("start") and spec.get("end") and spec["start"] > spec["end"]:
        raise WorkflowError(f"{where}: starts after it ends")
    day = spec["report_day"]
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 7:
        raise WorkflowError(f"{where}.report_day: a weekday from 1 (Monday) to 7 (Sunday), please")
    return Timetable(spec.get("start"), spec.get("end"), day)


def _checklists(where: str, spec: Any, kinds: tuple[str, ...],
                categories: set[str]) -> dict[str, dict[str, ChecklistItem]]:
    if not isinstance(spec, dict):
        raise WorkflowError(f"{where}: must be a mapping of target kinds to their items")
    out: dict[str, dict[str, ChecklistItem]] = {}
    for kind, items in spec.items():
        if kind not in kinds:
            raise WorkflowError(f"{where}.{kind}: not one of the campaign's target_kinds")
        if not isinstance(items, dict) or not items:
            raise WorkflowError(f"{where}.{kind}: must be a mapping of item codes to {{label, category}}")
        out[kind] = {}
        for code, item in items.items():
            _check_keys(f"{where}.{kind}.{code}", item, {"label", "category"}, {"label", "category"})
            if not isinstance(code, str) or not code.isidentifier():
                raise WorkflowError(f"{where}.{kind}.{code}: an item's code is a simple name")
            if categories and item["category"] not in categories:
                raise WorkflowError(f"{where}.{kind}.{code}.category: not one of the campaign's categories")
            out[kind][code] = ChecklistItem(code, _label(f"{where}.{kind}.{code}.label", item["label"]),
                                            item["category"])
    return out


def load_campaigns(folder: str | Path, registry: Registry, default_workflow: str,
                   target_kinds: tuple[str, ...]) -> Campaigns:
    """The folder's campaigns file; a folder without one runs one campaign, `visit`, by the
    default workflow (and every other workflow of the folder)."""
    path = Path(folder) / FILE
    if not path.exists():
        others = tuple(sorted({n for n, _v in registry.workflows} - {default_workflow}))
        return Campaigns("visit", {"visit": Campaign("visit", {"zh": "大走访", "en": "Grand visit"},
                                                     default_workflow, (default_workflow, *others), {}, ())})
    return parse_campaigns(read_yaml(path), str(path), registry, target_kinds)
