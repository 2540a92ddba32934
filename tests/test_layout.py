"""The package layout: dependencies point one way and nothing imports in a circle.

commands/cli/demo -> training/export/inference/benchmark -> modeling/data -> config/registry/errors/...

Every ``import`` in every module counts, function-level ones included, so a cycle cannot
hide behind a late import; only those under ``if TYPE_CHECKING:`` (never run) do not.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "ppresnet45"

# The tier of each top-level part of the package. A module may import from its own tier
# (parts of one tier must not import each other in a circle) or from lower tiers.
TIERS = {
    "errors": 0,
    "registry": 0,
    "config": 0,
    "config_schema": 0,
    "_types": 0,
    "charset": 0,
    "utils": 0,
    "version": 0,
    "modeling": 1,
    "data": 1,
    "training": 2,
    "export": 2,
    "inference": 2,
    "benchmark": 2,
    "quantization": 2,
    "demo": 3,
    "engines": 3,
    "serving": 3,
    "commands": 4,
    "cli": 5,
    "__main__": 5,
    "_launch": 5,
}


def _module_name(path):
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module, is_package, node):
    """The absolute names an import statement of ``module`` refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        parts = parts if is_package else parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    if node.module:
        return [base]
    return [f"{base}.{alias.name}" for alias in node.names]  # from . import x: x may be a module


def _is_type_checking_block(node):
    """``if TYPE_CHECKING:``: imports for annotations only, never run, so they make no cycle."""
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports():
    """``{module: set of ppresnet45 modules it imports}`` over the whole package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if _is_type_checking_block(block)
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in typing_only:
                targets.update(
                    t
                    for t in _resolve(name, path.name == "__init__.py", node)
                    if t == "ppresnet45" or t.startswith("ppresnet45.")
                )
        modules[name] = targets
    known = set(modules)
    resolved = {}
    for name, targets in modules.items():
        out = set()
        for t in targets:
            while t not in known and "." in t:  # a name imported from a module -> that module
                t = t.rsplit(".", 1)[0]
            if t != name:
                out.add(t)
        resolved[name] = out
    return resolved


IMPORTS = _imports()


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_tier():
    parts = {_part(m) for m in IMPORTS} - {None}
    assert parts <= set(TIERS), f"parts without a tier in this test: {sorted(parts - set(TIERS))}"


def upward_imports(imports):
    """Messages for every import that goes up the tiers (or to the root package)."""
    wrong = []
    for module, targets in imports.items():
        here = _part(module)
        if here is None:
            continue  # ppresnet45/__init__.py is the public door: it may re-export anything
        for target in targets:
            there = _part(target)
            if there is None:
                wrong.append(f"{module} imports the root package (import the module it needs)")
            elif TIERS[there] > TIERS[here]:
                wrong.append(f"{module} ({here}, tier {TIERS[here]}) imports {target} ({there}, tier {TIERS[there]})")
    return wrong


def test_dependencies_point_down_the_tiers():
    wrong = upward_imports(IMPORTS)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "lower",
    [
        "modeling",
        "data",
        "training",
        "export",
        "inference",
        "benchmark",
        "config",
        "registry",
        "errors",
        "charset",
        "utils",
    ],
)
def test_nothing_below_the_commands_imports_them(lower):
    bad = [m for m, targets in IMPORTS.items() if _part(m) == lower for t in targets if _part(t) in ("commands", "cli")]
    assert not bad


def _find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_module_import_cycles():
    # A package's __init__ importing its own modules is how it re-exports them, not a cycle.
    graph = {m: {t for t in targets if not (m.startswith(t + ".") and t in IMPORTS)} for m, targets in IMPORTS.items()}
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_no_cycles_between_parts_of_the_same_tier():
    graph = {}
    for module, targets in IMPORTS.items():
        here = _part(module)
        for t in targets:
            there = _part(t)
            if here and there and here != there:
                graph.setdefault(here, set()).add(there)
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_rule_checker_sees_violations():
    # The checkers themselves can fail: made-up upward imports and a cycle are reported.
    fake = {
        "ppresnet45.modeling.model": {"ppresnet45.training.trainer", "ppresnet45.data.loader"},
        "ppresnet45.data.loader": {"ppresnet45", "ppresnet45.config"},
    }
    wrong = upward_imports(fake)
    assert len(wrong) == 2
    assert "imports ppresnet45.training.trainer" in wrong[0] and "root package" in wrong[1]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None
