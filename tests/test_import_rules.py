"""The layers' import rules (docs/architecture.md), read from the source with ``ast``.

Every ``import`` and ``from ... import`` counts, wherever it stands (top level, in a function, under
``TYPE_CHECKING``): a rule is about what a module may know, not only about what loads first.
A second test imports a worker in a fresh interpreter: importing a worker must not load FastAPI
or the API.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from tests.devtools.subprocesses import python_output

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "services", "bench", "infra", "stacks", "devtools", "tests")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                if not is_package:
                    base.pop()
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Each project module -> the project modules (and packages) it imports."""
    paths = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, frozenset[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        names = _imported(tree, module, path.name == "__init__.py")
        # "from app.core.db import models" names a module; "from app.main import create_app"
        # names a function of app.main, which the plain target already covers.
        graph[module] = frozenset(name for name in names if name in paths)
    return graph


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def arrows(sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    """``source -> target`` for every import from a module under ``sources`` into ``targets``."""
    return sorted(
        f"{module} -> {name}"
        for module, names in import_graph().items()
        if _within(module, sources)
        for name in names
        if _within(name, targets)
    )


def test_the_graph_covers_the_layers() -> None:
    # A guard against a rule passing because the walk found nothing.
    graph = import_graph()
    assert {"app.core.db.models", "app.tasks.commands", "app.api.tasks", "services.local"} <= set(
        graph
    )
    assert "app.core.db.models" in graph["app.tasks.commands"]


def test_the_core_depends_on_nothing_above_it() -> None:
    above = ("app.api", "app.ui", "app.chat", "app.auth", "app.tasks", "app.main", "app.security")
    elsewhere = ("services", "infra", "stacks", "bench", "tests", "devtools")
    assert arrows(("app.core",), (*above, *elsewhere)) == []


def test_the_domain_is_pure() -> None:
    everything_else = ("app.core", "app.api", "app.ui", "app.tasks", "app.main", "services")
    assert arrows(("app.domain",), (*everything_else, "infra", "stacks")) == []


def test_the_task_service_uses_only_the_core_and_the_domain() -> None:
    adapters = ("app.api", "app.ui", "app.chat", "app.auth", "app.main", "app.security")
    elsewhere = ("services", "infra", "stacks", "bench", "tests")
    assert arrows(("app.tasks",), (*adapters, *elsewhere)) == []


def test_app_never_reaches_up_into_the_workers() -> None:
    # The local all-in-one runner lives above both: services.local.
    assert arrows(("app",), ("services", "infra", "stacks", "bench", "tests", "devtools")) == []


def test_the_api_and_the_ui_do_not_reach_into_each_other() -> None:
    assert arrows(("app.api",), ("app.ui",)) == []
    # The UI shares the API process's request dependencies (app.api.deps: sessions, settings);
    # tasks and history go through the task service, never through a route handler.
    ui_into_api = [a for a in arrows(("app.ui",), ("app.api",)) if not a.endswith("app.api.deps")]
    assert ui_into_api == [
        # Known remainder: sign-in and sign-up still call the auth routes and catch their
        # Problem; the auth hardening (issue 10.4) rebuilds both and moves them to a service.
        "app.ui.auth_pages -> app.api",
        "app.ui.auth_pages -> app.api.auth",
        "app.ui.auth_pages -> app.api.problems",
        "app.ui.auth_pages -> app.api.schemas",
        # The live stream is an HTTP endpoint of its own: its refusals are problem+json.
        "app.ui.stream -> app.api.problems",
    ]


def test_the_chat_and_the_mcp_server_act_through_the_task_service() -> None:
    assert (
        arrows(("app.chat",), ("app.api", "app.ui", "app.main", "app.mcp_server", "services")) == []
    )
    # The MCP server's results are the REST API's JSON: it shares the rendering, no route.
    assert arrows(("app.mcp_server",), ("app.api", "app.ui", "app.main", "app.chat")) == [
        "app.mcp_server.server -> app.api.history",
        "app.mcp_server.server -> app.api.task_views",
    ]


def test_workers_do_not_import_the_http_adapters() -> None:
    assert arrows(("services",), ("app.api", "app.ui", "app.main")) == [
        "services.local -> app.main",  # the all-in-one runner serves the API too
        "services.local -> app.ui.live",
    ]


def test_bench_does_not_import_the_tests() -> None:
    # Their shared harness is devtools.testkit (worker processes, pollers, the Pulumi mocks).
    assert arrows(("bench",), ("tests",)) == []
    assert "bench.pulumi_stacks -> devtools.testkit.pulumi_mocks" in arrows(
        ("bench",), ("devtools.testkit",)
    )


def test_the_infra_layers_point_down_only() -> None:
    # cloud (the cluster) < platform (operators on it) < workloads (the app); app_names, the
    # names all three share, sits below them all (docs/architecture.md).
    assert arrows(("infra.cloud",), ("infra.platform", "infra.workloads")) == []
    assert arrows(("infra.platform",), ("infra.workloads",)) == []
    assert arrows(("infra.app_names",), ("infra.cloud", "infra.platform", "infra.workloads")) == []
    # The guard against a rule passing on an empty graph: the layers do import downwards.
    assert "infra.platform.ingress -> infra.cloud.ingress_service" in arrows(
        ("infra.platform",), ("infra.cloud",)
    )


def test_importing_a_worker_loads_neither_fastapi_nor_the_api() -> None:
    probe = (
        "import sys, services.audit.__main__; "
        "print(sorted(m for m in sys.modules if m == 'fastapi' or m.startswith("
        "('app.api', 'app.ui', 'app.tasks', 'fastapi.'))))"
    )
    assert python_output(probe).strip() == "[]"
