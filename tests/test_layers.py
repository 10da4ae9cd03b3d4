"""The import contract: what each layer of ``watcher`` may import (docs/architecture.md).

Read from the source's syntax tree, so an import inside a function counts as well: a core
module that reaches for the store fails here, not only one that imports requests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "watcher"

# layer -> the layers it may import (besides itself). A layer is a folder of ``watcher``;
# the modules at the top (cli, config, errors, ...) are layers of their own name.
ALLOWED: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "read": frozenset({"errors"}),
    "judge": frozenset({"read", "errors"}),
    # the network guard's rules: where a fetch may go (pure)
    "guard": frozenset({"errors"}),
    "config": frozenset({"read", "guard", "errors"}),
    "fetch": frozenset({"read", "guard", "errors"}),
    "store": frozenset({"errors"}),
    "alerts": frozenset({"judge", "read", "store", "config", "errors"}),
    # fetch = "browser": pages loaded in headless Chromium, each request by fetch_page
    "browser": frozenset({"fetch", "guard", "procs", "errors"}),
    "procs": frozenset(),
    # the C allocator's settings: the daemon's arenas, a reader's free heap given back
    "heap": frozenset(),
    "check": frozenset(
        {"read", "judge", "fetch", "browser", "guard", "store", "alerts", "config", "heap"}
        | {"errors"}
    ),
    # sources: feeds, sitemaps and section pages read, their articles recorded as pages
    "discover": frozenset({"check", "fetch", "guard", "store", "config", "errors"}),
    "service": frozenset({"discover", "check", "judge", "store", "alerts", "config", "errors"}),
    # the evidence: versions compared as checks compare them (a version stored by an older
    # watcher is read again in a reader process), WARC export
    "evidence": frozenset({"read", "check", "store", "config", "errors"}),
    # the read-only viewer over the evidence
    "serve": frozenset(
        {"evidence", "read", "judge", "check", "store", "alerts", "config", "errors"}
    ),
    # the command line and what only it uses sit on top and may import any layer
    "cli": frozenset({"*"}),
    "cli_evidence": frozenset({"*"}),
    "cli_browser": frozenset({"*"}),
    "demo": frozenset({"*"}),
    "render": frozenset({"read", "fetch", "config", "errors"}),
    "watchlist": frozenset({"config", "errors"}),
    # `watcher import`: entries validated like `watcher add`, and by the guard's URL rules
    "importing": frozenset({"config", "guard", "watchlist", "errors"}),
    "__main__": frozenset({"cli"}),
    "__init__": frozenset(),
}
# Third-party packages that do I/O or hold state: never in the pure layers.
EDGE_PACKAGES = frozenset(
    {"requests", "sqlmodel", "sqlalchemy", "apprise", "apscheduler", "pebble"}
)
PURE = frozenset({"read", "judge", "guard"})


def layer_of(module: str) -> str:
    """``watcher.judge.decide.classify`` -> ``judge``; ``watcher.cli`` -> ``cli``;
    ``watcher.__version__`` (the package's only content) -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__version__" else "__init__"


def module_name(path: Path, root: Path) -> str:
    """``root/judge/classify.py`` -> ``watcher.judge.decide.classify`` (``root`` is the package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, anywhere in it, as (line, name); "." for a relative
    import, which the contract does not allow (it hides which layer is imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "."
            elif node.module == "watcher":  # ``from watcher import outbox``: modules
                for alias in node.names:
                    yield node.lineno, f"watcher.{alias.name}"
            else:
                yield node.lineno, node.module or ""


def violations(root: Path = PACKAGE) -> list[str]:
    """Every import in ``root`` that the contract forbids, as ``file:line: message``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue  # alembic's revisions: they import alembic and sqlalchemy only
        here = layer_of(module_name(path, root))
        allowed = ALLOWED.get(here)
        where = path.relative_to(root.parent)
        if allowed is None:
            found.append(f"{where}: module in no layer ({here}); add it to the contract")
            continue
        for line, name in imports_of(path):
            top = name.split(".")[0]
            if name == ".":
                found.append(f"{where}:{line}: relative import; name the layer")
            elif top == "watcher":
                there = layer_of(name)
                # every layer may name the package's version, the one thing __init__ holds
                if there not in (here, "__init__") and "*" not in allowed and there not in allowed:
                    found.append(f"{where}:{line}: {here} may not import {there} ({name})")
            elif here in PURE and top in EDGE_PACKAGES:
                found.append(f"{where}:{line}: {here} is pure and may not import {name}")
    return found


def test_every_import_follows_the_contract() -> None:
    """No module imports a layer above or beside it that the contract does not allow."""
    found = violations()
    assert not found, "imports the contract does not allow:\n" + "\n".join(found)


def test_the_contract_catches_a_core_module_importing_the_store(tmp_path: Path) -> None:
    """A judge module importing the store (or requests) is reported with file and line."""
    judge = tmp_path / "watcher" / "judge"
    judge.mkdir(parents=True)
    (judge / "sneaky.py").write_text(
        "import requests\n\ndef f():\n    from watcher.store.store import Store\n",
        encoding="utf-8",
    )
    assert violations(tmp_path / "watcher") == [
        "watcher/judge/sneaky.py:1: judge is pure and may not import requests",
        "watcher/judge/sneaky.py:4: judge may not import store (watcher.store.store)",
    ]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_every_layer_of_the_contract_exists(layer: str) -> None:
    """The contract names only folders and modules that exist, so it cannot go stale."""
    assert (PACKAGE / layer).is_dir() or (PACKAGE / f"{layer}.py").is_file()
