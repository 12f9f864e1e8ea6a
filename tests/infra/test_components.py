"""The ``(name, args, opts)`` convention: what a component's ``opts.depends_on`` names, each
child waits for (infra/components.py), since Pulumi does not pass it on to children."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from devtools.testkit.pulumi_mocks import evaluate
from infra.components import waits_for
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
