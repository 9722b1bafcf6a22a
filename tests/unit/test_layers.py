"""The dependency rule, read from the source: domain <- remedies <- services <- slack <- app.

Every module under `bot/` is parsed with `ast`; every import (module level, inside functions,
under `TYPE_CHECKING`) is an edge. The test fails on any import cycle among `bot` modules and on
any import of a higher layer, naming the modules; it also keeps the lower layers free of the
libraries that belong above them (no Slack SDK below `bot.slack`, no I/O libraries in the
domain). The checker itself is tested on a small synthetic package, so it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Layers, lowest first. A module may import its own layer (no cycles) and any lower one.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("bot", "bot.settings", "bot.seam")),
    ("domain", ("bot.domain",)),
    ("store", ("bot.store",)),
    ("remedies", ("bot.remedies",)),
    ("services", ("bot.services",)),
    ("edge", ("bot.slack", "bot.web")),  # Slack and the other HTTP routes (Seam webhooks)
    ("app", ("bot.app",)),
    ("entry", ("bot.cli", "bot.__main__")),
)

#: What a layer must not import: libraries (and modules) that belong to other layers' work.
FORBIDDEN_LIBRARIES: Mapping[str, tuple[str, ...]] = {
    "domain": ("httpx", "aiohttp", "aiosqlite", "slack_sdk", "slack_bolt", "bot.seam.client"),
    "store": ("httpx", "aiohttp", "slack_sdk", "slack_bolt"),
    "remedies": ("aiohttp", "aiosqlite", "slack_sdk", "slack_bolt", "bot.store"),
    "services": ("aiohttp", "slack_sdk", "slack_bolt"),
}


def module_name(path: Path, root: Path) -> str:
    """`bot/slack/ids.py` -> `bot.slack.ids`; `bot/remedies/__init__.py` -> `bot.remedies`."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def collect_modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` under `root`, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def imports_of(path: Path, name: str, modules: Iterable[str]) -> set[str]:
    """Dotted names `path` imports (bot modules resolved to the module file; others as given).

    `from bot.x import y` is an edge to `bot.x.y` when that is a module, else to `bot.x`;
    relative imports are resolved against `name`.
    """
    known = set(modules)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found


def layer_of(name: str) -> int | None:
    """The index in `LAYERS` of a bot module (longest matching prefix), or None."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or name.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best else None


def graph(root: Path, package: str = "bot") -> dict[str, set[str]]:
    """Module -> the bot modules (and outside libraries) it imports."""
    modules = collect_modules(root, package)
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in edges:
                continue
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def upward_imports(edges: Mapping[str, set[str]]) -> list[str]:
    """`"a (layer) imports b (higher layer)"` for every import of a higher layer."""
    problems = []
    for source, targets in sorted(edges.items()):
        here = layer_of(source)
        for target in sorted(targets):
            there = layer_of(target) if target in edges else None
            if here is None or there is None:
                continue
            if there > here:
                problems.append(
                    f"{source} ({LAYERS[here][0]}) imports {target} ({LAYERS[there][0]})"
                )
    return problems


def forbidden_libraries(edges: Mapping[str, set[str]]) -> list[str]:
    """Imports of libraries that belong above the importing module's layer."""
    names = [name for name, _ in LAYERS]
    problems = []
    for source, targets in sorted(edges.items()):
        here = layer_of(source)
        if here is None:
            continue
        banned = set(FORBIDDEN_LIBRARIES.get(names[here], ()))
        for target in sorted(targets):
            if any(target == lib or target.startswith(lib + ".") for lib in banned):
                problems.append(f"{source} ({LAYERS[here][0]}) imports {target}")
    return problems


# ----------------------------------------------------------------------------- the rule


def test_bot_has_no_import_cycles() -> None:
    found = cycles(graph(ROOT))
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_no_module_imports_a_higher_layer() -> None:
    problems = upward_imports(graph(ROOT))
    assert problems == [], "upward imports:\n" + "\n".join(problems)


def test_lower_layers_do_not_import_the_libraries_of_higher_ones() -> None:
    problems = forbidden_libraries(graph(ROOT))
    assert problems == [], "\n".join(problems)


def test_every_bot_module_has_a_layer() -> None:
    unplaced = [name for name in graph(ROOT) if layer_of(name) is None]
    assert unplaced == []


def test_the_old_flat_modules_and_handlers_package_are_gone() -> None:
    names = set(graph(ROOT))
    assert not (ROOT / "handlers").exists()
    assert not {"bot.scanner", "bot.alerts", "bot.blocks", "bot.remedy_views"} & names


# ----------------------------------------------------------------------------- the checker


def _package(tmp: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tmp


def test_checker_finds_a_function_level_cycle_and_an_upward_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/domain/__init__.py": "",
            "bot/domain/rules.py": "def f():\n    from bot.services import runner\n",
            "bot/services/__init__.py": "",
            "bot/services/runner.py": "from bot.domain.rules import f\n",
            "bot/slack/__init__.py": "",
            "bot/slack/ids.py": "from . import views\n",
            "bot/slack/views.py": "from .ids import X\n",
        },
    )
    edges = graph(root)
    assert sorted(map(tuple, cycles(edges))) == [
        ("bot.domain.rules", "bot.services.runner"),
        ("bot.slack.ids", "bot.slack.views"),
    ]
    assert upward_imports(edges) == [
        "bot.domain.rules (domain) imports bot.services.runner (services)"
    ]


def test_checker_finds_a_forbidden_library(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/remedies/__init__.py": "",
            "bot/remedies/x.py": "import slack_sdk.models\n",
        },
    )
    assert forbidden_libraries(graph(root)) == [
        "bot.remedies.x (remedies) imports slack_sdk.models"
    ]
