"""No state, trigger or field name of a workflow is written in casetrack/ or the templates: the
names live only in workflows/*.yaml (ARCHITECTURE rule 1; issue 26: "a check lists every place in
casetrack/ that names a state or trigger of either workflow, and it is empty")."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Words a workflow's state may share with the engine's own vocabulary: the kinds of unit a state's
# level names (a state may be named after its level), and the bulletin's figures, which are API
# keys (problems.resolved, .explained, .closed; callback figures; coverage.assigned). Such a word is a hit only where
# it stands beside a state or trigger in the code.
SHARED_WORDS = {"province", "city", "county", "department", "team", "group", "inspection",
                "resolved", "explained", "closed", "callback", "assigned",
                "checking"}  # also a step of a long import (casetrack/long_work.py)
STATE_NAMES = {"state", "trigger", "from_state", "to_state"}
TEMPLATE_STATEFUL = re.compile(r"""\b(state|trigger)\s*(==|!=|in)\s*[\[(]?\s*["']([a-z_]+)["']""")


def workflow_names() -> set[str]:
    names: set[str] = set()
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "transitions" not in data:
            continue   # assessment.yaml, campaigns.yaml
        names |= set(data["states"]) | {t["trigger"] for t in data["transitions"]}
    return names


def _names_state(node: ast.AST) -> bool:
    """`x.state`, `state`, `Case.trigger`... (what a state or trigger name would be compared to)."""
    return (isinstance(node, ast.Attribute) and node.attr in STATE_NAMES) or \
        (isinstance(node, ast.Name) and node.id in STATE_NAMES)


def _literals(node: ast.AST) -> list[ast.Constant]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _beside_a_state(tree: ast.AST) -> set[int]:
    """ids of the string constants compared with, passed as or fired as a state or trigger."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(_names_state(n) for n in [node.left, *node.comparators]):
            found |= {id(c) for n in [node.left, *node.comparators] for c in _literals(n)}
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and _names_state(func.value):   # Case.state.in_([...])
                found |= {id(c) for a in node.args for c in _literals(a)}
            if isinstance(func, (ast.Name, ast.Attribute)) and getattr(func, "id", getattr(func, "attr", "")) \
                    in ("fire", "trigger") and len(node.args) > 1:
                found |= {id(c) for c in _literals(node.args[1])}
            found |= {id(c) for k in node.keywords if k.arg in STATE_NAMES for c in _literals(k.value)}
    return found


def python_hits(path: Path, names: set[str]) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    stateful = _beside_a_state(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            if node.value not in SHARED_WORDS or id(node) in stateful:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}: {lines[node.lineno - 1].strip()}")
    return hits


def template_hits(path: Path, names: set[str]) -> list[str]:
    hits = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        words = {w for w in re.findall(r"""["']([a-z_]+)["']""", line) if w in names and w not in SHARED_WORDS}
        words |= {m[2] for m in TEMPLATE_STATEFUL.findall(line) if m[2] in names}
        hits += [f"{path.relative_to(ROOT)}:{n}: {w!r}: {line.strip()}" for w in sorted(words)]
    return hits


def test_the_workflows_have_names_to_look_for():
    names = workflow_names()
    assert {"escalate", "refer", "resolved", "registered", "assigned", "redo", "strike_off"} <= names


def test_no_state_or_trigger_name_is_written_in_the_code_or_the_templates():
    names = workflow_names()
    hits = [h for p in sorted((ROOT / "casetrack").rglob("*.py")) for h in python_hits(p, names)]
    hits += [h for p in sorted((ROOT / "templates").rglob("*.html")) for h in template_hits(p, names)]
    assert hits == []


def test_the_check_finds_a_name_written_in_code(tmp_path):
    names = workflow_names()
    sample = ROOT / "casetrack" / "_probe_workflow_names.py"
    sample.write_text('WEIGHTS = {"escalate": 3}\nif case.state == "department":\n    pass\n'
                      'kind = "department"\nfire(case, "resolve", user)\nq = Case.state.in_(["closed"])\n'
                      'level = "county" if s.level == "team" else None\n', encoding="utf-8")
    try:
        found = python_hits(sample, names)
    finally:
        sample.unlink()
    assert sorted(h.split(": ")[1] for h in found) == ["'closed'", "'department'", "'escalate'", "'resolve'"]
