"""The ``(name, args, opts)`` convention: what a component's ``opts.depends_on`` names, each
child waits for (infra/components.py), since Pulumi does not pass it on to children."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

import infra
from devtools.testkit.pulumi_mocks import evaluate
from infra.components import Component, waits_for
from infra.platform.namespaces import Namespaces, NamespacesArgs, NamespaceSpec


def test_every_child_waits_for_what_the_component_comes_after(tmp_path: Path) -> None:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="apiVersion: v1")
        first = k8s.core.v1.ConfigMap("first", opts=pulumi.ResourceOptions(provider=provider))
        specs = [NamespaceSpec("one", "restricted"), NamespaceSpec("two", "baseline")]
        Namespaces(
            "spaces", NamespacesArgs(provider, specs), pulumi.ResourceOptions(depends_on=[first])
        )

    run = evaluate("local", tmp_path, preview=False, program=program).ok()
    (first,) = [r for r in run.resources if r.name == "first"]
    children = run.of_type("kubernetes:core/v1:Namespace")
    assert sorted(r.name for r in children) == ["one", "two"]
    assert all(first.urn in r.dependencies for r in children)


def test_depends_on_is_read_as_a_list_of_resources() -> None:
    assert waits_for(None) == []
    assert waits_for(pulumi.ResourceOptions()) == []
    # An Output stands where a resource should: what it resolves to is known too late.
    later: list[Any] = [pulumi.Output.from_input("a resource, some day")]
    with pytest.raises(TypeError, match="must list resources, not Outputs of them"):
        waits_for(pulumi.ResourceOptions(depends_on=later))


def _components() -> list[type[pulumi.ComponentResource]]:
    """Every component class infra/ defines."""
    root = Path(infra.__file__).parent
    # A __main__ is an entry point (the policy pack serves on import), not a definition.
    for path in sorted(p for p in root.rglob("*.py") if p.name != "__main__.py"):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        importlib.import_module(module.removesuffix(".__init__"))
    found, pending = [], list(pulumi.ComponentResource.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("infra."):
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


def test_every_component_takes_name_args_and_opts() -> None:
    components = _components()
    # The guard against a walk that found nothing: the platform's own components are in it.
    assert {"Platform", "Kafka", "Dapr", "Workloads", "OkeCluster"} <= {
        cls.__name__ for cls in components
    }
    odd = {
        cls.__qualname__: list(inspect.signature(cls.__init__).parameters)
        for cls in components
        if list(inspect.signature(cls.__init__).parameters) != ["self", "name", "args", "opts"]
    }
    assert odd == {}


def test_every_component_names_its_own_type() -> None:
    """A type token is part of every child's URN: renaming one makes `pulumi up` on an existing
    stack replace everything below it, and two components sharing one would clash."""
    components = _components()
    assert all(issubclass(cls, Component) for cls in components)
    types = {cls.__name__: vars(cls)["TYPE"] for cls in components if "TYPE" in vars(cls)}
    # The bases build nothing themselves, and cannot be used as components.
    bases = [cls for cls in components if cls.__name__ not in types]
    assert sorted(cls.__name__ for cls in bases) == ["ChartComponent", "CloudCluster", "Component"]
    for base in bases:
        with pytest.raises(TypeError, match=r"abstract method '?_build"):
            base("nothing", "args")
    assert sorted(types.values()) == [
        "todo:cloud:AcrRegistry",
        "todo:cloud:AksCluster",
        "todo:cloud:ArtifactRegistry",
        "todo:cloud:GkeCluster",
        "todo:cloud:GkeNetwork",
        "todo:cloud:LocalCluster",
        "todo:cloud:OcirRegistry",
        "todo:cloud:OkeCluster",
        "todo:cloud:OkeNetwork",
        "todo:images:AppImage",
        "todo:platform:Dapr",
        "todo:platform:Database",
        "todo:platform:Ingress",
        "todo:platform:Kafka",
        "todo:platform:Keda",
        "todo:platform:Monitoring",
        "todo:platform:Namespaces",
        "todo:platform:OperatorCrds",
        "todo:platform:Platform",
        "todo:workloads:Workloads",
    ]
    assert all(token.endswith(f":{name}") for name, token in types.items())
