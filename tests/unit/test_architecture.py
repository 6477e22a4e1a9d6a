"""The house rules that lint alone does not state: no import cycles inside `idp` (function-local
imports included), thin handlers, small modules, and a layer that ships no development code."""
from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "idp"
MAX_MODULE_LINES = 400
MAX_HANDLER_STATEMENTS = 6  # docstring, settings check, logger, tracer, resolver, handler


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.find_modules_directly_imported_by(node):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_among_idp_modules():
    graph = grimp.build_graph("idp", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_handlers_stay_a_few_lines():
    for app in sorted(ROOT.glob("functions/*/app.py")):
        tree = ast.parse(app.read_text())
        handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler")
        assert len(handler.body) <= 4, f"{app}: lambda_handler has {len(handler.body)} statements"
        wiring = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        assert len(wiring) <= MAX_HANDLER_STATEMENTS, f"{app}: {len(wiring)} top-level statements besides imports"


def test_modules_are_small_or_say_why():
    too_big = []
    for module in sorted(PACKAGE.rglob("*.py")):
        lines = module.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            docstring = ast.get_docstring(ast.parse("\n".join(lines))) or ""
            if "longer than" not in docstring.lower():
                too_big.append(f"{module.relative_to(ROOT)} ({len(lines)} lines)")
    assert too_big == []


def test_the_layer_ships_no_development_code():
    shipped = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert not shipped & {"local", "testing", "tests"}, shipped
    for module in PACKAGE.rglob("*.py"):
        text = module.read_text()
        for forbidden in ("import moto", "from moto", "idp_local", "idp_testing"):
            assert forbidden not in text, f"{module.relative_to(ROOT)} imports {forbidden}"
