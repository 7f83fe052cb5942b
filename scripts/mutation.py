"""Mutation testing of the code that guards scope, the audit chain, the sweep and the
bulletin's figures; not part of CI (docs/testing.md has the scores and the survivors).

Each target is a few functions of one file, mutated by mutmut 2 (in the dev extra) and
checked by the few test files that cover them, so a target takes minutes, not hours:

    .venv/bin/python scripts/mutation.py            # every target, one after another
    .venv/bin/python scripts/mutation.py sweep      # one target
    .venv/bin/mutmut show <id>                      # a mutant of the last target run

mutmut writes each mutant into the working tree while its tests run (and puts the file
back): run it in a checkout no one else is using. The surviving mutants' diffs of each
target go to mutation-<target>.txt.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PYTEST = f"{PYTHON} -m pytest -x -q -p no:cacheprovider"

# name -> (file, the functions mutated (each named by the start of its first line; None:
# the whole file), the test files run against each mutant)
TARGETS = {
    "scope": ("casetrack/services/casework/cases.py",
              ["def whole_number", "def unit_filter", "def scoped_cases", "def get_case", "def may_act",
               "def allowed_triggers"], "tests/test_access_matrix.py"),
    "audit": ("casetrack/services/integrity/audit.py", None,
              "tests/test_audit.py tests/test_audit_first_link.py"),
    "chain": ("casetrack/models/cases.py", ["    def digest", "def _chain_new_events"],
              "tests/test_audit.py tests/test_audit_first_link.py"),
    "sweep": ("casetrack/services/deadlines/sweep.py", ["def _due", "def _batch"], "tests/test_sweep.py"),
    "on_time": ("casetrack/services/figures/summaries.py", ["def in_time", "def closed_on_time"],
                "tests/test_bulletin.py"),
    "rates": ("casetrack/services/reports/bulletin.py", ["def ratio", "def rate_parts"], "tests/test_bulletin.py"),
}


def lines_of(path: str, starts: list[str] | None) -> list[int]:
    """The line numbers (1-based) of the named definitions, each to its last indented line."""
    lines = (ROOT / path).read_text().splitlines()
    if starts is None:
        return list(range(1, len(lines) + 1))
    chosen = []
    for start in starts:
        first = next(i for i, line in enumerate(lines) if line.startswith(start))
        indent = len(start) - len(start.lstrip())
        last = first + 1
        while last < len(lines) and (not lines[last].strip() or len(lines[last]) - len(lines[last].lstrip()) > indent
                                     or lines[last].lstrip().startswith(")")):
            last += 1
        chosen.extend(range(first + 1, last + 1))
    return chosen


def patch_for(path: str, numbers: list[int]) -> str:
    """A patch that 'adds' the given lines, one hunk each: mutmut mutates only those."""
    lines = (ROOT / path).read_text().splitlines()
    hunks = "".join(f"@@ -0,0 +{n},1 @@\n+{lines[n - 1]}\n" for n in numbers)
    return f"--- {path}\n+++ {path}\n{hunks}"


def run(name: str) -> str:
    path, starts, tests = TARGETS[name]
    (ROOT / ".mutmut-cache").unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".patch") as patch:
        patch.write(patch_for(path, lines_of(path, starts)))
        patch.flush()
        out = subprocess.run([PYTHON, "-m", "mutmut", "run", "--paths-to-mutate", path, "--use-patch-file",
                              patch.name, "--runner", f"{PYTEST} {tests}", "--simple-output"],
                             cwd=ROOT, capture_output=True, text=True).stdout
    tally = re.findall(r"(\d+)/(\d+)\s+KILLED (\d+)\s+TIMEOUT (\d+)\s+SUSPICIOUS (\d+)\s+SURVIVED (\d+)", out)[-1]
    done, total, killed, timeout, suspicious, survived = map(int, tally)
    results = subprocess.run([PYTHON, "-m", "mutmut", "results"], cwd=ROOT, capture_output=True, text=True).stdout
    block = re.search(r"Survived[^\n]*\n\n---- [^\n]+ ----\n\n([^\n]*)", results)
    survivors = [n for part in (block.group(1).split(", ") if block else []) for n in span(part)]
    summary = (f"{name}: {path} ({', '.join(s.strip() for s in starts) if starts else 'whole file'}) "
               f"against {tests}: {killed + timeout} of {total} killed ({timeout} by timeout), "
               f"{survived} survived, {suspicious} suspicious")
    diffs = [subprocess.run([PYTHON, "-m", "mutmut", "show", str(n)], cwd=ROOT, capture_output=True,
                            text=True).stdout for n in survivors]
    (ROOT / f"mutation-{name}.txt").write_text("\n".join([summary, "", *diffs]))
    print(summary, flush=True)
    return summary


def span(part: str) -> list[int]:
    a, _, b = part.strip().partition("-")
    return list(range(int(a), int(b or a) + 1)) if a else []


if __name__ == "__main__":
    for target in sys.argv[1:] or TARGETS:
        run(target)
