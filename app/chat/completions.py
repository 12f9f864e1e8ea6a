"""A client of an OpenAI-compatible Chat Completions service, the AI agent's model.

Speaks the wire protocol directly with httpx (already the project's HTTP client): one
`POST {base}/chat/completions` per model call, with `tools` declared as JSON Schemas and the
model's `tool_calls` read back. Every response is validated against the part of the protocol
the agent uses, so a service that answers something else is a `ServiceFailed`, never a crash.
The API key travels only in the Authorization header; it is never logged or put in an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.settings import ApiSettings


class ServiceFailed(Exception):
    """The service did not give a usable answer; str() says why, in words for the user."""


class _Wire(BaseModel):
    # Services add fields of their own (logprobs, refusal, ...): read what the agent needs.
    model_config = ConfigDict(extra="ignore")


class FunctionCall(_Wire):
    name: str
    arguments: str = Field(description="JSON text, as the model wrote it (it may be malformed)")


class ToolCall(_Wire):
    id: str = Field(min_length=1)
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(_Wire):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """The message as it goes back to the service in the next call's history."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.model_dump() for call in self.tool_calls]
        return message


class _Choice(_Wire):
    message: AssistantMessage
    finish_reason: str | None = None


class _Usage(_Wire):
    total_tokens: int = Field(ge=0)


class _Completion(_Wire):
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    message: AssistantMessage
    tokens: int  # prompt + completion, as the service counted them (0 if it did not say)


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: its name, what it does, its arguments' JSON Schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


class Completions:
    """The configured service; `close()` when the app stops."""

    def __init__(
        self, *, base_url: str, model: str, api_key: str | None, timeout: float, max_tokens: int
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)
        self._model = model
        self._max_tokens = max_tokens

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Completions | None:
        """The service the settings name, or None when none is configured."""
        if settings.chat_ai_base_url is None or settings.chat_ai_model is None:
            return None
        key = settings.chat_ai_api_key
        return cls(
            base_url=settings.chat_ai_base_url,
            model=settings.chat_ai_model,
            api_key=None if key is None else key.get_secret_value(),
            timeout=settings.chat_ai_timeout_seconds,
            max_tokens=settings.chat_ai_max_tokens,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def complete(self, messages: list[dict[str, Any]], tools: list[Tool]) -> Answer:
        body = {
            "model": self._model,
            "messages": messages,
            "tools": [tool.wire() for tool in tools],
            "tool_choice": "auto",
            # max_tokens, not max_completion_tokens: the name every compatible server reads.
            "max_tokens": self._max_tokens,
        }
        try:
            response = await self._http.post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise ServiceFailed("it did not answer in time") from None
        except httpx.HTTPError as error:
            raise ServiceFailed(f"it could not be reached ({type(error).__name__})") from None
        if response.status_code != 200:
            raise ServiceFailed(f"it answered HTTP {response.status_code}")
        try:
            completion = _Completion.model_validate_json(response.content)
        except ValidationError:
            raise ServiceFailed("its answer was not a chat completion") from None
        usage = completion.usage
        return Answer(completion.choices[0].message, 0 if usage is None else usage.total_tokens)
