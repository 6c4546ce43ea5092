"""The layout's promises (docs/architecture.md): no import cycle among the project's modules, each
stage imports only the stages before it, and only the command line and the Dagster resource choose
the demo. Every import counts, those inside functions included."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal_index", "orchestration", "expectations", "benchmarks")

# stage -> the stages (and shared modules) it may import; `portal_index` is the package's __init__
ALLOWED = {
    "config": set(),
    "core": {"portal_index", "config", "core"},
    "parse": {"portal_index", "config", "core", "parse"},
    "fetch": {"portal_index", "config", "core", "parse", "fetch"},
    "land": {"portal_index", "config", "core", "parse", "land"},
    "release": {"portal_index", "config", "core", "land", "release", "expectations"},
    "expectations": {"portal_index", "config", "core", "release.catalog", "expectations"},
}
DEMO_CHOOSERS = {"portal_index.cli", "orchestration.defs.resources"}
# Dagster folder -> the project modules it may import (prefixes); docs/architecture.md's table
DAGSTER_ALLOWED = {
    "orchestration.defs.sources": (
        "portal_index.config",
        "portal_index.core",
        "portal_index.fetch",
        "portal_index.land",
        "portal_index.parse",
        "orchestration.defs.resources",
        "orchestration.defs.sources",
        "orchestration.defs.cluster",
    ),
    "orchestration.defs.cluster": ("portal_index.config",),
    "orchestration.defs.scoring": (
        "portal_index.config",
        "portal_index.core.dbt_manifest",
        "portal_index.core.atomic",
        "portal_index.release.catalog",
        "orchestration.defs.resources",
        "orchestration.defs.scoring",
    ),
    "orchestration.defs.checks": ("expectations", "orchestration.defs.resources", "orchestration.defs.checks"),
    "orchestration.defs.release": (
        "portal_index.release",
        "orchestration.defs.resources",
        "orchestration.defs.release",
    ),
    "orchestration.defs.automation": (
        "portal_index.config",
        "portal_index.core",
        "orchestration.defs.automation",
        "orchestration.defs.resources",
        "orchestration.defs.sources.partitions",
    ),
    "orchestration.defs.resources": ("portal_index", "orchestration.defs.scoring.project"),
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def parse(path: Path) -> ast.Module:
    """The file's syntax tree. CPython 3.11 keeps the AST constructor's recursion count in the
    interpreter's state, shared by its threads (python/cpython#106905), and twice in full runs this
    parse failed with "AST constructor recursion depth mismatch" while a server thread left by
    another test printed a traceback (3.11's traceback module parses source lines too). The parse
    is deterministic, so a failure of that kind is tried again."""
    source = path.read_text(encoding="utf-8")
    for _ in range(2):
        try:
            return ast.parse(source)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e):
                raise
    return ast.parse(source)


def imports(path: Path, known: set[str], module: str = "") -> set[str]:
    """The project's modules a file imports, anywhere in it: import statements (relative ones
    resolved) and `importlib.import_module` / `__import__` of a literal name."""
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names = [node.args[0].value]
        else:
            continue
        for name in names:
            while name and name not in known:  # `import a.b.c` names a.b.c; `from a import b` may name a.b
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, set(mods), name) - {name} for name, path in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def stage(module: str) -> str | None:
    if module.startswith("expectations"):
        return "expectations"
    parts = module.split(".")
    if parts[0] != "portal_index":
        return None
    if len(parts) == 1:
        return "portal_index"
    return "release.catalog" if parts[1:3] == ["release", "catalog"] else parts[1]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_the_projects_modules():
    assert cycles(graph()) == []


def test_each_stage_imports_only_the_stages_before_it():
    wrong = []
    for module, targets in graph().items():
        own = stage(module)
        if own not in ALLOWED:
            continue
        for target in targets:
            theirs = stage(target)
            allowed = ALLOWED[own]
            if (
                theirs not in allowed
                and not (theirs == "release.catalog" and "release" in allowed)
                and not (own == "release" and theirs == "release.catalog")
            ):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_only_the_command_line_and_the_dagster_resource_choose_the_demo():
    users = {m for m, targets in graph().items() if any(t.startswith("portal_index.demo") for t in targets)}
    assert {m for m in users if not m.startswith(("portal_index.demo", "benchmarks"))} == DEMO_CHOOSERS


def test_the_dagster_folders_import_what_the_architecture_says():
    wrong = []
    for module, targets in graph().items():
        rule = next((allowed for folder, allowed in DAGSTER_ALLOWED.items() if module.startswith(folder)), None)
        if rule is None:
            continue
        wrong += [f"{module} imports {t}" for t in targets if not t.startswith(rule)]
    assert wrong == []


def test_relative_and_dynamic_imports_are_seen(tmp_path):
    mods = {
        "portal_index",
        "portal_index.release",
        "portal_index.release.publish",
        "portal_index.demo",
        "portal_index.demo.simulator",
        "portal_index.land",
        "portal_index.parse",
    }
    # each name is reached one way only: a relative import, import_module, __import__
    path = tmp_path / "publish.py"  # read as if it were portal_index/release/publish.py
    path.write_text(
        "from ..demo import simulator\nimport importlib\n"
        "importlib.import_module('portal_index.land')\n__import__('portal_index.parse')\n"
    )
    assert imports(path, mods, "portal_index.release.publish") == {
        "portal_index.demo",
        "portal_index.demo.simulator",
        "portal_index.land",
        "portal_index.parse",
    }
    # a package's __init__.py: its relative imports start from the package itself
    package = tmp_path / "__init__.py"  # read as portal_index/release/__init__.py
    package.write_text("from . import publish\nfrom ..demo import simulator\n")
    assert imports(package, mods, "portal_index.release") == {
        "portal_index.release",
        "portal_index.release.publish",
        "portal_index.demo",
        "portal_index.demo.simulator",
    }


def test_only_the_command_line_imports_orchestration_among_the_plain_modules():
    users = {m for m, targets in graph().items() if any(t.startswith("orchestration") for t in targets)}
    assert {m for m in users if not m.startswith(("orchestration", "benchmarks"))} == {"portal_index.cli"}


def test_environment_variables_are_read_and_set_in_config_only():
    readers = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if any(w in text for w in ("environ", "getenv", "putenv")) and name != "portal_index.config":
            readers.append(name)
    assert readers == []
