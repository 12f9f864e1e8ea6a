"""The chat's AI agent from stack config to the API's container: CHAT_AI_* as its environment,
read by the real ApiSettings; the key only through a Secret of its own; egress to the service's
port opened only when one is configured."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from app.core.settings import ApiSettings, load
from devtools.testkit.pulumi_mocks import ProgramRun, RecordedResource, load_config
from infra.workloads.chat_agent import ChatAgent
from infra.workloads.network import PRIVATE_RANGES
from stacks.config import StackConfigError
from tests.stacks.test_notifier_channels import (
    assert_refused,
    environment_as_deployed,
    notifier_container,
)

API_KEY = "sk-test-0123456789abcdef"
SERVICE = {"chatAiBaseUrl": "https://ai.example.com:8443/v1", "chatAiModel": "gpt-4o-mini"}
POLICY = "allow-api-chat-ai"


def named(run: ProgramRun, type_: str, name: str) -> list[RecordedResource]:
    return [r for r in run.of_type(type_) if r.inputs["metadata"]["name"] == name]


def api_settings(
    run: ProgramRun, secret: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ApiSettings:
    environment_as_deployed(
        notifier_container(run, "todo-api"), secret, monkeypatch, "todo-chat-ai"
    )
    return load(ApiSettings)


def test_a_configured_service_reaches_the_api(
    run_stack: Callable[..., ProgramRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds = {
        "chatAiMaxTurns": 3,
        "chatAiMaxTokens": 500,
        "chatAiTokenBudget": 9000,
        "chatAiTimeoutSeconds": 45,
        "chatAiHistoryMessages": 0,
    }
    run = run_stack("aks", settings={**SERVICE, **bounds}, secrets={"chatAiApiKey": API_KEY}).ok()
    (secret,) = named(run, "kubernetes:core/v1:Secret", "todo-chat-ai")
    assert secret.secret_inputs == {"stringData"}
    assert secret.inputs["stringData"] == {"api-key": API_KEY}
    container = notifier_container(run, "todo-api")
    # The key only by reference: never in the Deployment, nor in any stack output.
    assert API_KEY not in str(container)
    assert API_KEY not in str({name: out.value for name, out in run.outputs.items()})
    (key_entry,) = [e for e in container["env"] if e["name"] == "CHAT_AI_API_KEY"]
    assert key_entry == {
        "name": "CHAT_AI_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "todo-chat-ai", "key": "api-key"}},
    }
    settings = api_settings(run, secret.inputs["stringData"], monkeypatch)
    assert settings.chat_ai_base_url == "https://ai.example.com:8443/v1"
    assert settings.chat_ai_model == "gpt-4o-mini"
    assert settings.chat_ai_api_key is not None
    assert settings.chat_ai_api_key.get_secret_value() == API_KEY
    assert (
        settings.chat_ai_max_turns,
        settings.chat_ai_max_tokens,
        settings.chat_ai_token_budget,
        settings.chat_ai_timeout_seconds,
        settings.chat_ai_history_messages,
    ) == (3, 500, 9000, 45.0, 0)
    # No other workload is given the service or its key.
    worker = notifier_container(run)
    assert not [e for e in worker["env"] if e["name"].startswith("CHAT_AI_")]
    (policy,) = named(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", POLICY)
    assert policy.inputs["spec"] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/part-of": "todo-platform",
                "app.kubernetes.io/name": "todo-api",
            }
        },
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}],
                "ports": [{"port": 8443, "protocol": "TCP"}],
            }
        ],
    }


def test_a_service_without_a_key_gets_no_secret_and_port_443(
    run_stack: Callable[..., ProgramRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"chatAiBaseUrl": "https://llm.example.org/v1/", "chatAiModel": "local-8b"}
    run = run_stack("gke", settings=settings).ok()
    assert named(run, "kubernetes:core/v1:Secret", "todo-chat-ai") == []
    deployed = api_settings(run, {}, monkeypatch)
    assert (deployed.chat_ai_base_url, deployed.chat_ai_model) == (
        "https://llm.example.org/v1",
        "local-8b",
    )
    assert deployed.chat_ai_api_key is None
    # The app's own defaults, as the stack's defaults are.
    assert (deployed.chat_ai_max_turns, deployed.chat_ai_token_budget) == (6, 20_000)
    (policy,) = named(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", POLICY)
    assert policy.inputs["spec"]["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}]


def test_unset_adds_nothing(
    committed_run: Callable[[str, bool], ProgramRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = committed_run("gke", False).ok()
    container = notifier_container(run, "todo-api")
    assert [e["name"] for e in container["env"] if e["name"].startswith("CHAT_AI_")] == []
    assert named(run, "kubernetes:core/v1:Secret", "todo-chat-ai") == []
    assert named(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", POLICY) == []
    assert api_settings(run, {}, monkeypatch).chat_ai_base_url is None


@pytest.mark.parametrize(
    ("settings", "secrets", "problems"),
    [
        (
            {**SERVICE, "chatAiApiKey": API_KEY},
            {},
            {
                "chatAiApiKey": "is stored in plain text; remove it and set it with "
                "`pulumi config set --secret chatAiApiKey <value>`"
            },
        ),
        (
            {"chatAiModel": "gpt-4o-mini"},
            {},
            {"chatAiBaseUrl": "chatAiBaseUrl and chatAiModel go together (or neither)"},
        ),
        (
            {"chatAiBaseUrl": "https://ai.example.com/v1"},
            {},
            {"chatAiModel": "chatAiBaseUrl and chatAiModel go together (or neither)"},
        ),
        (
            {},
            {"chatAiApiKey": API_KEY},
            {
                "chatAiApiKey": "set only with chatAiBaseUrl and chatAiModel: the key is sent "
                "to that service"
            },
        ),
        (
            {"chatAiBaseUrl": "http://ai.example.com/v1", "chatAiModel": "m"},
            {},
            {
                "chatAiBaseUrl": "must be an https:// URL, e.g. https://api.openai.com/v1, "
                "got 'http://ai.example.com/v1'"
            },
        ),
        (
            {"chatAiBaseUrl": "https://10.1.2.3/v1", "chatAiModel": "m"},
            {},
            {
                "chatAiBaseUrl": "must be a public address: the API's egress reaches public "
                "addresses only, got '10.1.2.3'"
            },
        ),
        (
            {"chatAiBaseUrl": "https://ai.example.com:70000/v1", "chatAiModel": "m"},
            {},
            {
                "chatAiBaseUrl": "must have a port from 1 to 65535, got "
                "'https://ai.example.com:70000/v1'"
            },
        ),
        (
            {
                "chatAiMaxTurns": 21,
                "chatAiMaxTokens": 15,
                "chatAiTokenBudget": 1_000_001,
                "chatAiTimeoutSeconds": 0,
                "chatAiHistoryMessages": -1,
            },
            {},
            {
                "chatAiMaxTurns": "must be an integer from 1 to 20, got '21'",
                "chatAiMaxTokens": "must be an integer from 16 to 32000, got '15'",
                "chatAiTokenBudget": "must be an integer from 100 to 1000000, got '1000001'",
                "chatAiTimeoutSeconds": "must be an integer from 1 to 300, got '0'",
                "chatAiHistoryMessages": "must be an integer from 0 to 200, got '-1'",
            },
        ),
    ],
    ids=[
        "plain-key",
        "model-alone",
        "url-alone",
        "key-alone",
        "http",
        "private-address",
        "bad-port",
        "bounds",
    ],
)
def test_bad_ai_config_is_refused_with_each_key(
    tmp_path: Path, settings: dict[str, Any], secrets: dict[str, str], problems: dict[str, str]
) -> None:
    assert_refused(tmp_path, settings, secrets, problems, unsaid=(API_KEY,))


@pytest.mark.parametrize(
    "name",
    [
        "chat_ai_max_turns",
        "chat_ai_max_tokens",
        "chat_ai_token_budget",
        "chat_ai_timeout_seconds",
        "chat_ai_history_messages",
    ],
)
def test_the_stack_accepts_exactly_the_apps_range(tmp_path: Path, name: str) -> None:
    """Each bound key's range is ApiSettings' own (app/core/settings.py), written once there."""
    limits = {
        attr: getattr(bound, attr)
        for bound in ApiSettings.model_fields[name].metadata
        for attr in ("ge", "gt", "le")
        if hasattr(bound, attr)
    }
    # Whole seconds: more than 0 is at least 1.
    low, high = limits["ge"] if "ge" in limits else limits["gt"] + 1, limits["le"]
    key = to_camel(name)
    for inside in (low, high):
        assert getattr(load_config("aks", tmp_path, {key: inside}).chat_ai, name[8:]) == inside
    for outside in (low - 1, high + 1):
        with pytest.raises(StackConfigError) as raised:
            load_config("aks", tmp_path, {key: outside})
        assert [p.key for p in raised.value.problems] == [key]


def test_the_agent_refuses_plain_http() -> None:
    with pytest.raises(ValueError, match="base_url must be an https:// URL"):
        ChatAgent(base_url="http://ai.example.com/v1", model="m")
