"""The import graph: the layers of pyproject.toml's import-linter contracts hold, and casetrack
has no import cycle at all, imports inside functions included (grimp reads those too)."""
from __future__ import annotations

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

import casetrack
from casetrack.services.casework import follow_up
from casetrack.workflow import AFTER_ACTIONS

ROOT = Path(__file__).resolve().parent.parent


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules of the package that import each other round (Tarjan's strongly
    connected components), each as a chain that closes the loop, shortest first."""
    graph = grimp.build_graph(package, cache_dir=None)
    imports = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:   # iterative: a deep graph must not hit the recursion limit
        work = [(module, iter(imports[module]))]
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in imports[node]:
                        components.append(sorted(component))

    for module in sorted(imports):
        if module not in index:
            visit(module)
    cycles = []
    for component in components:   # each as one loop through its first module
        first = component[0]
        chain = [first, first] if first in imports[first] else None
        for other in imports[first]:
            if chain is None and other in component:
                chain = [first, *graph.find_shortest_chain(importer=other, imported=first)]
        cycles.append(chain)
    return sorted(cycles, key=len)


def test_the_checkout_is_what_is_checked():
    assert Path(casetrack.__file__).resolve().parent == ROOT / "casetrack"


def test_no_import_cycle_in_casetrack():
    cycles = import_cycles("casetrack")
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_imports_inside_functions_are_seen():
    """create_app imports the CLI inside a function: the graph must have that edge."""
    graph = grimp.build_graph("casetrack", cache_dir=None)
    assert "casetrack.cli" in graph.find_modules_directly_imported_by("casetrack")
    assert "casetrack.services.casework.cases" in graph.modules


def test_a_cycle_made_by_an_import_inside_a_function_is_found(tmp_path, monkeypatch):
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loopy import b\n")
    (package / "b.py").write_text("def later():\n    from loopy.c import f\n    return f\n")
    (package / "c.py").write_text("import loopy.a\n\ndef f():\n    return loopy.a\n")
    (package / "d.py").write_text("from loopy import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("loopy") == [["loopy.a", "loopy.b", "loopy.c", "loopy.a"]]


def test_the_layers_hold(capsys):
    """pyproject.toml's contracts: views over services over models, and the services' packages
    each using only those below it (a module outside every package breaks it too)."""
    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 broken" in out and "2 kept" in out


def test_every_after_action_of_a_workflow_file_has_its_function(app):
    """Actions are registered by the modules that hold them (shared registers resolve_members),
    so create_app must have imported each one."""
    assert set(follow_up.AFTER_ACTIONS) == set(AFTER_ACTIONS)
