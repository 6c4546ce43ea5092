"""The layout's promises (docs/architecture.md): no import cycle among the project's modules, each
stage imports only the stages before it, and only the command line and the Dagster resource choose
the demo. Every import counts, those inside functions included."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal_index", "orchestration", "expectations")

# stage -> the stages (and shared modules) it may import; `portal_index` is the package's __init__
ALLOWED = {
    "core": {"portal_index", "config", "core"},
    "parse": {"portal_index", "config", "core", "parse"},
    "fetch": {"portal_index", "config", "core", "parse", "fetch"},
    "land": {"portal_index", "config", "core", "parse", "land"},
    "release": {"portal_index", "config", "core", "land", "release", "expectations"},
    "expectations": {"portal_index", "config", "core", "release.catalog", "expectations"},
}
DEMO_CHOOSERS = {"portal_index.cli", "orchestration.defs.resources"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The project's modules a file imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
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
    return {name: imports(path, set(mods)) - {name} for name, path in mods.items()}


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
    assert {m for m in users if not m.startswith("portal_index.demo")} == DEMO_CHOOSERS


def test_only_the_command_line_imports_orchestration_among_the_plain_modules():
    users = {m for m, targets in graph().items() if any(t.startswith("orchestration") for t in targets)}
    assert {m for m in users if not m.startswith("orchestration")} == {"portal_index.cli"}


def test_environment_variables_are_read_in_config_only():
    readers = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if ("os.environ" in text or "getenv" in text) and name != "portal_index.config":
            readers.append(name)
    assert readers == []
