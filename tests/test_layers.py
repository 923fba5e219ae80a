"""Layers: every import points down, as DESIGN.md draws them.

    app        vault/: app factory, CLI, middleware, OpenAPI assembly
    handlers   handlers/, plus what they share from vault/ (HTTP errors, app keys, OpenAPI building blocks)
    jobs       jobs/
    store      store/
    domain     vault/: models, inputs, queries, ids, clock, json, converter, configuration, telemetry

A module may import its own layer and the layers below it, never one above.
Imports inside functions count too: they are how a cycle hides.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"vault": "vault", "store": "vault.store", "handlers": "vault.handlers", "jobs": "vault.jobs"}
LAYERS = ("domain", "store", "jobs", "handlers", "app")

# The layer of each module of vault/ itself; a new one must be placed here.
VAULT_MODULES = {
    "vault": "domain",  # the package: its version only
    "vault.clock": "domain",
    "vault.ids": "domain",
    "vault.jsonutil": "domain",
    "vault.merge_patch": "domain",
    "vault.search": "domain",
    "vault.models": "domain",
    "vault.inputs": "domain",
    "vault.queries": "domain",
    "vault.converter": "domain",
    # Read by the store and the jobs, so they sit with the domain.
    "vault.config": "domain",
    "vault.settings": "domain",
    "vault.telemetry": "domain",
    # Content codings on the wire: which one a client accepts, and zstd itself.
    "vault.accept_encoding": "domain",
    "vault.zstd_codec": "domain",
    # What the handlers share: HTTP errors, the app's typed keys, how a route is described.
    "vault.errors": "handlers",
    "vault.appkeys": "handlers",
    "vault.stop_deadline": "handlers",  # kept under an app key
    "vault.openapi.error_responses": "handlers",
    "vault.openapi.operation": "handlers",
    "vault.openapi.parameters": "handlers",
    "vault.openapi.schemas": "handlers",
    "vault.__main__": "app",
    "vault.app": "app",
    "vault.cli": "app",
    "vault.collector": "app",
    "vault.copying": "app",
    "vault.logs": "app",
    "vault.middleware": "app",
    "vault.read_positions": "app",
    "vault.request_decoding": "app",
    "vault.response_compression": "app",
    "vault.security": "app",
    "vault.server": "app",
    "vault.openapi": "app",
    "vault.openapi.spec": "app",
}
# The Python client, and the framework adapters built on it, are their own thing:
# of the server side they share the models only.
CLIENT_SIDE = ("vault.client", "vault.integrations")
CLIENT_MAY_IMPORT = (*CLIENT_SIDE, "vault.models")


def on_client_side(module: str) -> bool:
    return module.startswith(CLIENT_SIDE)


def _module_files() -> dict[str, Path]:
    modules = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


MODULES = _module_files()


def layer_of(module: str) -> str | None:
    for package in ("vault.store", "vault.jobs", "vault.handlers"):
        if module == package or module.startswith(package + "."):
            return package.removeprefix("vault.")
    return VAULT_MODULES.get(module)


def rank_of(module: str) -> int:
    layer = layer_of(module)
    assert layer is not None, f"{module} has no layer"
    return LAYERS.index(layer)


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")
    drop = node.level - 1 if path.name == "__init__.py" else node.level
    base = package[: len(package) - drop]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of the project in the file, at any depth, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, module, path)
            # `from vault import clock` imports the module vault.clock; `from vault import __version__` the package.
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.append((node.lineno, submodule if submodule in MODULES else source))
    return [(line, name) for line, name in found if name == "vault" or name.startswith("vault.")]


def test_every_module_of_vault_has_a_layer():
    # Rule: a new module of vault/ states its layer, so the check below covers it.
    unplaced = [name for name in MODULES if not on_client_side(name) and layer_of(name) is None]
    assert unplaced == [], f"add these to VAULT_MODULES in {Path(__file__).name}: {unplaced}"


@pytest.mark.parametrize("module", sorted(name for name in MODULES if not on_client_side(name)))
def test_imports_point_down(module):
    # Rule: a layer imports only its own layer and the ones below it.
    rank = rank_of(module)
    upward = [
        f"{module} ({layer_of(module)}) imports {name} ({layer_of(name)}) at line {line}"
        for line, name in imported_modules(module, MODULES[module])
        if not on_client_side(name) and rank_of(name) > rank
    ]
    assert upward == []


def test_the_client_shares_only_the_models():
    # Rule: the Python client imports nothing from the server side but the models.
    reaches = [
        f"{module} imports {name} at line {line}"
        for module, path in MODULES.items()
        if on_client_side(module)
        for line, name in imported_modules(module, path)
        if not any(name == allowed or name.startswith(allowed + ".") for allowed in CLIENT_MAY_IMPORT)
    ]
    assert reaches == []


def test_no_server_module_imports_the_client():
    # Rule: the service runs without its client; the dependency goes one way.
    reaches = [
        f"{module} imports {name} at line {line}"
        for module, path in MODULES.items()
        if not on_client_side(module)
        for line, name in imported_modules(module, path)
        if on_client_side(name)
    ]
    assert reaches == []


def _imports_inside_functions(module: str, path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [_absolute(node, module, path)]
            else:
                continue
            found += [f"{module} imports {name} inside {function.name}() at line {node.lineno}" for name in names]
    return [line for line in found if " imports vault" in line]


def test_no_module_imports_the_project_inside_a_function():
    # Rule: an import inside a function is how a cycle between packages hides; each module imports at its top.
    hidden = [line for module, path in MODULES.items() for line in _imports_inside_functions(module, path)]
    assert hidden == []
