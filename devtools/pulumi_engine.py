"""The real Pulumi engine, offline: the CLI and Kubernetes provider built by devtools.gobuild.

A :class:`PulumiHome` is a temporary ``PULUMI_HOME`` with the provider plugin installed from
the local build (``pulumi plugin install --file``), a local file backend and a passphrase
secrets provider, with update checks and plugin downloads switched off. Stacks run the
project's program function through the Automation API as an *inline* program: the ``pulumi``
Python package serves the language runtime in this process and drives the CLI's engine
(``pulumi preview/up/destroy`` with ``--client``). A plain ``pulumi up`` of the Python project
would need the CLI's Python language host, which is not built here; ``__main__.py`` and the
program are exactly what users run with ``pulumi up`` either way.

Each stack works in its own directory holding a copy of ``Pulumi.yaml`` (the declared keys and
their defaults) and the stack file, so no test writes into the repository's ``Pulumi.*.yaml``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final

from pulumi import automation

from devtools import gobuild
from devtools.process import Component, ComponentError, make_temp_dir, remove_tree, run_tool

COMPONENT: Final = "pulumi"
ROOT: Final = Path(__file__).resolve().parents[1]
PROJECT: Final = "todo-platform"
PROVIDER_VERSION: Final = "4.25.0"
# A test-only passphrase: the state it protects lives in a temporary directory.
PASSPHRASE: Final = "todo-platform-deploy-tests"  # noqa: S105
_PLUGIN_INSTALL_TIMEOUT_S: Final = 120.0


class PulumiHome(Component):
    """A private Pulumi home and file backend with the locally built CLI and provider."""

    def __init__(self, pulumi_dir: Path, provider_dir: Path) -> None:
        self.pulumi_dir = pulumi_dir
        self.provider_binary = provider_dir / "pulumi-resource-kubernetes"
        self._root: Path | None = None
        self._command: automation.PulumiCommand | None = None
        self.env: dict[str, str] = {}

    @classmethod
    def from_builds(cls, timeout: float) -> PulumiHome:
        """Wait for (or find cached) builds of the CLI and the provider."""
        return cls(
            gobuild.wait_for_component("pulumi", timeout),
            gobuild.wait_for_component("pulumi-kubernetes", timeout),
        )

    @property
    def log_path(self) -> Path | None:
        return self._root / "plugin-install.log" if self._root is not None else None

    @property
    def root(self) -> Path:
        if self._root is None:
            raise ComponentError(COMPONENT, "not started")
        return self._root

    def start(self) -> None:
        root = make_temp_dir("todo-pulumi-")
        self._root = root
        (root / "state").mkdir()
        # PulumiCommand looks for <root>/bin/pulumi.
        (root / "cli" / "bin").mkdir(parents=True)
        (root / "cli" / "bin" / "pulumi").symlink_to(self.pulumi_dir / "pulumi")
        self.env = {
            "PULUMI_HOME": str(root / "home"),
            "PULUMI_BACKEND_URL": f"file://{root / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            # Every plugin comes from a local build; a download attempt is an error.
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }
        run_tool(
            COMPONENT,
            [
                str(self.pulumi_dir / "pulumi"),
                "plugin",
                "install",
                "resource",
                "kubernetes",
                f"v{PROVIDER_VERSION}",
                "--file",
                str(self.provider_binary),
            ],
            log_path=root / "plugin-install.log",
            timeout=_PLUGIN_INSTALL_TIMEOUT_S,
            env={**os.environ, **self.env},
        )
        self._command = automation.PulumiCommand(root=str(root / "cli"))

    def close(self) -> None:
        if self._root is not None:
            remove_tree(self._root)
            self._root = None

    def stack(
        self,
        name: str,
        program: Callable[[], None],
        config: Mapping[str, str],
        stack_file: Path | None = None,
    ) -> automation.Stack:
        """A new stack ``name`` running ``program``, from ``stack_file`` plus ``config`` (plain).

        ``stack_file`` defaults to the repository's ``Pulumi.<name>.yaml``.
        """
        if self._command is None:
            raise ComponentError(COMPONENT, "not started")
        work_dir = self.root / "projects" / name
        work_dir.mkdir(parents=True)
        shutil.copyfile(ROOT / "Pulumi.yaml", work_dir / "Pulumi.yaml")
        shutil.copyfile(
            stack_file if stack_file is not None else ROOT / f"Pulumi.{name}.yaml",
            work_dir / f"Pulumi.{name}.yaml",
        )
        stack = automation.create_stack(
            stack_name=name,
            project_name=PROJECT,
            program=program,
            opts=automation.LocalWorkspaceOptions(
                work_dir=str(work_dir),
                pulumi_home=self.env["PULUMI_HOME"],
                env_vars=self.env,
                secrets_provider="passphrase",
                pulumi_command=self._command,
            ),
        )
        for key, value in config.items():
            stack.set_config(key, automation.ConfigValue(value=value))
        return stack
