"""The chat's optional AI agent as the stack configures it (``CHAT_AI_*`` of
``app/core/settings.py``): the service's URL, model and bounds as the API's plain environment,
its API key in a Secret of its own that only the API reads (not the app Secret, which the Dapr
secret store serves to every sidecar), and the port the API's egress policy opens for it.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_kubernetes as k8s

from infra.workloads import pods

SECRET_NAME: Final = "todo-chat-ai"  # noqa: S105 (a name, not a secret)
API_KEY_KEY: Final = "api-key"
HTTPS_PORT: Final = 443

core = k8s.core.v1


@dataclass(frozen=True)
class ChatAgent:
    base_url: str  # https only: the key travels as a bearer token
    model: str
    api_key: pulumi.Input[str] | None = None  # secret
    max_turns: int = 6
    max_tokens: int = 800
    token_budget: int = 20_000
    timeout_seconds: int = 20
    history_messages: int = 20

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"base_url must be an https:// URL, got {self.base_url!r}")
        if not self.model:
            raise ValueError("model is required")

    @property
    def port(self) -> int:
        """The port the API connects to: the URL's own, else HTTPS's."""
        return urllib.parse.urlsplit(self.base_url).port or HTTPS_PORT

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        """The Secret's entries; empty for a service that needs no key."""
        if self.api_key is None:
            return {}
        return {API_KEY_KEY: pulumi.Output.secret(self.api_key)}

    def environment(self) -> list[core.EnvVarArgs]:
        """The API container's ``CHAT_AI_*``; the key only through ``secretKeyRef``."""
        plain = {
            "CHAT_AI_BASE_URL": self.base_url,
            "CHAT_AI_MODEL": self.model,
            "CHAT_AI_MAX_TURNS": str(self.max_turns),
            "CHAT_AI_MAX_TOKENS": str(self.max_tokens),
            "CHAT_AI_TOKEN_BUDGET": str(self.token_budget),
            "CHAT_AI_TIMEOUT_SECONDS": str(self.timeout_seconds),
            "CHAT_AI_HISTORY_MESSAGES": str(self.history_messages),
        }
        env = [core.EnvVarArgs(name=name, value=value) for name, value in plain.items()]
        if self.api_key is not None:
            env.append(pods.secret_env("CHAT_AI_API_KEY", API_KEY_KEY, SECRET_NAME))
        return env
