"""Measure the project's import graph: cycles, upward arrows between layers, in-function imports.

    .venv/bin/python -m stack.importgraph [--verbose]

Reads the source with `ast` only (nothing is imported). Prints, for the application packages:
- module-level import cycles (strongly connected components of more than one module), once
  counting only imports at module level and once counting every import (in functions too);
- imports between top-level packages that point up against the layers of the import-linter
  contract (config -> linkpay -> payments -> hub -> ops), and those between payments and
  linkpay in either direction (the issue's first sketch had them as independent siblings);
- how many imports of project modules sit inside functions.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "linkpay", "payments", "hub", "ops")
# Higher number = higher layer (the `layers` contract in pyproject.toml).
LAYER = {"config": 4, "linkpay": 3, "payments": 2, "hub": 1, "ops": 0}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to (a package's attribute resolves to the package)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return True
    return False


def _type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def collect() -> tuple[dict[str, set[str]], dict[str, set[str]], list[tuple[str, str, int]]]:
    """(module-level edges, all edges, in-function imports as (module, target, line))."""
    modules = _modules()
    top: dict[str, set[str]] = defaultdict(set)
    every: dict[str, set[str]] = defaultdict(set)
    inner: list[tuple[str, str, int]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")
                    drop = node.level - (1 if is_package else 0)
                    anchor = anchor[: len(anchor) - drop] if drop else anchor
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            if _type_checking(node, parents):
                continue
            nested = _in_function(node, parents)
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is None or resolved == module:
                    continue
                every[module].add(resolved)
                if nested:
                    inner.append((module, resolved, node.lineno))
                else:
                    top[module].add(resolved)
    return top, every, inner


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    nodes = set(edges) | {t for ts in edges.values() for t in ts}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
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
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from a package to a higher layer."""
    return sorted((source, target) for source, targets in edges.items() for target in targets
                  if LAYER[target.split(".")[0]] > LAYER[source.split(".")[0]])


def between_payments_and_linkpay(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    pair = {"payments", "linkpay"}
    return sorted((source, target) for source, targets in edges.items() for target in targets
                  if {source.split(".")[0], target.split(".")[0]} == pair)


def report(verbose: bool = False) -> dict[str, int]:
    top, every, inner = collect()
    top_cycles, all_cycles, up = cycles(top), cycles(every), upward(every)
    sideways = between_payments_and_linkpay(every)
    figures = {
        "cycles_module_level": len(top_cycles),
        "modules_in_cycles_module_level": sum(len(c) for c in top_cycles),
        "cycles_all_imports": len(all_cycles),
        "modules_in_cycles_all_imports": sum(len(c) for c in all_cycles),
        "upward_imports": len(up),
        "payments_linkpay_imports": len(sideways),
        "in_function_imports": len(inner),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    if verbose:
        for label, found in (("module-level", top_cycles), ("all imports", all_cycles)):
            for component in found:
                print(f"cycle ({label}, {len(component)}): {' '.join(component)}")
        for source, target in up:
            print(f"upward: {source} -> {target}")
        for source, target in sideways:
            print(f"payments/linkpay: {source} -> {target}")
        for module, target, line in inner:
            print(f"in-function: {module}:{line} -> {target}")
    return figures


if __name__ == "__main__":
    report(verbose="--verbose" in sys.argv)
