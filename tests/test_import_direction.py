"""The layers point one way (README, Layout): api -> workflows / educonnect;
activities -> educonnect; workflows -> educonnect. educonnect imports none of
them, and production code leaves the dev stack (`educonnect.devtools`) alone.

Read from the source with `ast` (nothing is imported): each refusal names the
module, the line and the import.

Workflows do reference activities: `workflow.execute_activity(
XActivities.method, ...)` needs the activity class, imported inside
`with workflow.unsafe.imports_passed_through():`. That is the one import of
`activities` a workflow may make: `from activities.<module> import
<Name>Activities` in such a block. Anything else the two sides share (models,
error types) lives in `educonnect`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_PACKAGES = ("api", "activities", "workflows", "educonnect")
PRODUCTION_MODULES = ("worker",)
DEVTOOLS = "educonnect.devtools"
# Production modules that serve the dev stack only: they may import the dev
# tools, and are themselves imported only when the dev pages are on (inside a
# function, never when the module is loaded).
DEV_ONLY_MODULES = frozenset({"api.routers.dev"})


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    path: Path
    line: int
    target: str  # the imported module (`from a.b import c`: "a.b")
    names: tuple[str, ...]  # what `from ... import` takes ("" for a plain `import`)
    at_load: bool  # at module level (runs when the module is imported), not in a function
    passed_through: bool  # inside `with workflow.unsafe.imports_passed_through():`

    def targets(self) -> list[str]:
        """The module and, for `from a import b`, `a.b` too (b may be a module)."""
        return [self.target] + [f"{self.target}.{name}" for name in self.names if name != "*"]

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.module}"

    def statement(self) -> str:
        if self.names == ("",):
            return f"import {self.target}"
        return f"from {self.target} import {', '.join(self.names)}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_pass_through(node: ast.With | ast.AsyncWith) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and ast.unparse(item.context_expr.func).endswith("imports_passed_through")
        for item in node.items
    )


def _imports(path: Path) -> list[Import]:
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, at_load: bool, passed_through: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(
                        Import(
                            module, path, child.lineno, alias.name, ("",), at_load, passed_through
                        )
                    )
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: resolve against the importing package
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                names = tuple(alias.name for alias in child.names)
                found.append(
                    Import(module, path, child.lineno, target, names, at_load, passed_through)
                )
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, False, passed_through)
            elif isinstance(child, ast.With | ast.AsyncWith):
                visit(child, at_load, passed_through or _is_pass_through(child))
            else:
                visit(child, at_load, passed_through)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), True, False)
    return found


def _production_files() -> list[Path]:
    files = [ROOT / f"{name}.py" for name in PRODUCTION_MODULES]
    for package in PRODUCTION_PACKAGES:
        files += sorted((ROOT / package).rglob("*.py"))
    return files


def _all_imports() -> list[Import]:
    return [imp for path in _production_files() for imp in _imports(path)]


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _reaches(imp: Import, *packages: str) -> bool:
    return any(_within(t, p) for t in imp.targets() for p in packages)


# --- the rules: each returns the offending imports, with why ----------------------------------


def api_does_not_import_activities(imports: list[Import]) -> list[str]:
    return [
        f"{i.where()} `{i.statement()}`: api/ must not import activities/ "
        "(move what both need into educonnect)"
        for i in imports
        if _within(i.module, "api") and _reaches(i, "activities")
    ]


def educonnect_imports_no_outer_layer(imports: list[Import]) -> list[str]:
    return [
        f"{i.where()} `{i.statement()}`: educonnect/ must not import workflows/, activities/ "
        "nor api/ (only educonnect/devtools, the dev stack, may)"
        for i in imports
        if _within(i.module, "educonnect")
        and not _within(i.module, DEVTOOLS)
        and _reaches(i, "workflows", "activities", "api", "worker")
    ]


def activities_import_only_educonnect(imports: list[Import]) -> list[str]:
    return [
        f"{i.where()} `{i.statement()}`: activities/ must not import workflows/ nor api/"
        for i in imports
        if _within(i.module, "activities") and _reaches(i, "workflows", "api", "worker")
    ]


def workflows_reference_activities_only(imports: list[Import]) -> list[str]:
    refused = []
    for i in imports:
        if not _within(i.module, "workflows"):
            continue
        if _reaches(i, "api", "worker"):
            refused.append(f"{i.where()} `{i.statement()}`: workflows/ must not import api/")
        elif _reaches(i, "activities"):
            activity_classes = i.names != ("",) and all(n.endswith("Activities") for n in i.names)
            if not (activity_classes and i.passed_through and i.target != "activities"):
                refused.append(
                    f"{i.where()} `{i.statement()}`: a workflow imports from activities/ only "
                    "activity classes (`from activities.x import YActivities`, inside "
                    "`with workflow.unsafe.imports_passed_through():`); what both sides share "
                    "belongs in educonnect"
                )
    return refused


def production_leaves_devtools_alone(imports: list[Import]) -> list[str]:
    refused = []
    for i in imports:
        if _within(i.module, DEVTOOLS) or not i.at_load:
            continue
        if _reaches(i, DEVTOOLS) and i.module not in DEV_ONLY_MODULES:
            refused.append(
                f"{i.where()} `{i.statement()}`: production code must not import "
                f"{DEVTOOLS} when it is loaded (only the dev-only modules "
                f"{sorted(DEV_ONLY_MODULES)} may)"
            )
        dev_only = [m for m in DEV_ONLY_MODULES if any(t == m for t in i.targets())]
        if dev_only:
            refused.append(
                f"{i.where()} `{i.statement()}`: {dev_only[0]} is imported only where the dev "
                "pages are switched on (inside a function), never when a module is loaded"
            )
    return refused


RULES = [
    api_does_not_import_activities,
    educonnect_imports_no_outer_layer,
    activities_import_only_educonnect,
    workflows_reference_activities_only,
    production_leaves_devtools_alone,
]


@pytest.mark.parametrize("rule", RULES, ids=[r.__name__ for r in RULES])
def test_layers_point_one_way(rule):
    refused = rule(_all_imports())
    assert not refused, "\n".join(["imports against the layers:", *refused])


def test_the_reader_sees_every_production_module():
    """The rules above read something: each layer is there, with its imports."""
    imports = _all_imports()
    modules = {i.module.split(".")[0] for i in imports}
    assert {"api", "activities", "workflows", "educonnect", "worker"} <= modules
    # the activity references of the workflows are seen, inside their pass-through block
    assert any(
        _within(i.module, "workflows") and _within(i.target, "activities") and i.passed_through
        for i in imports
    )
    # and the dev pages' router is imported lazily by the app
    assert any(
        i.module == "api.app" and "api.routers.dev" in i.targets() and not i.at_load
        for i in imports
    )
