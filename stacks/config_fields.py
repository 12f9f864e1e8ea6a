"""The field types of the stack configuration models (stacks/config.py) and how their errors
become :class:`Problem` lines that name the key a deployer writes in ``Pulumi.<stack>.yaml``.

Pulumi hands every value over as text. Each type here parses that text itself and refuses it
with a sentence saying what the key accepts (``must be an integer from 1 to 9, got '12'``),
because pydantic's own messages name Python types and constraints, not the deployer's key and
its allowed values. A secret's text is never part of a message.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

import pulumi
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, ValidationInfo
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# Created once per stack by `python -m stacks.secrets <stack>` (stacks/secrets.py).
SETUP_STEP: Final = "run `python -m stacks.secrets <stack>` once to generate it as a secret"


@dataclass(frozen=True)
class Problem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class StackConfigError(ValueError):
    """One or more configuration values are missing or invalid; nothing was registered."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            "invalid stack configuration (fix with `pulumi config set <key> <value>`, "
            f"secrets with `pulumi config set --secret <key> <value>`):\n{lines}"
        )


@dataclass(frozen=True)
class SecretValue:
    """A secret config value; its text never shows in a repr, a log line or a traceback."""

    value: str = field(repr=False)

    def output(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(self.value)


def secret_output(value: SecretValue | None) -> pulumi.Output[str] | None:
    return value.output() if value is not None else None


def refuse(message: str, key: str | None = None) -> PydanticCustomError:
    """A refusal of the value being validated, or (``key``) of another key of the section: a
    rule between two keys is reported on the key the deployer has to set."""
    return PydanticCustomError(f"config:{key}" if key else "config", message)


class Section(BaseModel):
    """A group of keys; each field's alias is its key, the section's ``prefix`` + the field."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",  # every section reads its own keys from the one flat config map
        arbitrary_types_allowed=True,
        alias_generator=to_camel,
    )


def prefixed(prefix: str) -> Callable[[str], str]:
    """``kafka`` + ``storage_gi`` -> ``kafkaStorageGi``: the keys of a section share a prefix."""

    def alias(name: str) -> str:
        camel = to_camel(name)
        return prefix + camel[:1].upper() + camel[1:]

    return alias


def one_of(allowed: Sequence[str]) -> str:
    return "one of " + ", ".join(allowed)


def context(info: ValidationInfo) -> dict[str, Any]:
    """The loader's facts every section may depend on (provider, volume minimum, ...)."""
    return info.context or {}


def refused_already(info: ValidationInfo, key: str) -> bool:
    """Whether ``key`` was refused before validation (a plain-text secret): a rule about its
    absence would only repeat that problem."""
    return key in context(info).get("refused", ())


# --- parsers: text in, typed value out, or a refusal naming what the key accepts --------------


def parse_integer(value: object, low: int, high: int) -> int:
    number = value if isinstance(value, int) else _int_or_none(str(value))
    if number is None or not low <= number <= high:
        raise refuse(f"must be an integer from {low} to {high}, got {str(value)!r}")
    return number


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def matching(value: object, pattern: re.Pattern[str], expected: str) -> str:
    text = str(value)
    if not pattern.match(text):
        raise refuse(f"must be {expected}, got {text!r}")
    return text


def integer(low: int, high: int) -> BeforeValidator:
    return BeforeValidator(lambda value: parse_integer(value, low, high))


def text(
    pattern: str | re.Pattern[str], expected: str, *, required: bool = False
) -> BeforeValidator:
    """An optional string matching ``pattern`` (or, ``required``, one that must be set)."""
    compiled = re.compile(pattern)

    def check(value: object) -> str | None:
        if value is None:
            if required:
                raise refuse(f"required: {expected}")
            return None
        return matching(value, compiled, expected)

    return BeforeValidator(check)


def choice(allowed: Sequence[str]) -> BeforeValidator:
    def check(value: object) -> object:
        if value not in allowed:
            raise refuse(f"must be {one_of(allowed)}; got {str(value)!r}")
        return value

    return BeforeValidator(check)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise refuse(f"must be true or false, got {str(value)!r}")


Flag = Annotated[bool, BeforeValidator(_flag)]


def _secret_check(pattern: str, expected: str) -> Callable[[object], SecretValue | None]:
    compiled = re.compile(pattern)

    def check(value: object) -> SecretValue | None:
        if value is None or isinstance(value, SecretValue):
            return value
        if not compiled.match(str(value)):
            raise refuse(f"must be {expected}")
        return SecretValue(str(value))

    return check


def secret(pattern: str, expected: str) -> BeforeValidator:
    """A secret's text: checked, wrapped, never echoed (the refusal says what it must be)."""
    return BeforeValidator(_secret_check(pattern, expected))


def generated_value(value: SecretValue | None, info: ValidationInfo, key: str) -> SecretValue:
    """A secret the setup step generates (stacks/secrets.py): required, its absence named."""
    if value is None:
        if refused_already(info, key):
            return SecretValue("")  # refused already (plain text); the config is not used
        raise refuse(f"not set: {SETUP_STEP}")
    return value


def generated(pattern: str, expected: str, key: str) -> BeforeValidator:
    """A secret the setup step generates: checked like :func:`secret`, and required."""
    check = _secret_check(pattern, expected)

    def present(value: object, info: ValidationInfo) -> SecretValue:
        return generated_value(check(value), info, key)

    return BeforeValidator(present)


def text_list(valid: Callable[[str], bool], expected: str) -> BeforeValidator:
    """A JSON list of strings (Pulumi's array config), each entry ``valid``."""

    def check(value: object) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        try:
            items = json.loads(str(value))
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise refuse(f"must be a list of {expected}, got {str(value)!r}")
        bad = [item for item in items if not valid(item)]
        if bad:
            raise refuse(f"every entry must be {expected}; invalid: {', '.join(bad)}")
        return tuple(items)

    return BeforeValidator(check)


def is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


# --- from pydantic's errors to the deployer's keys ---------------------------------------------


def problems_of(error: ValidationError, key_of: Callable[[tuple[str, ...]], str]) -> list[Problem]:
    """One :class:`Problem` per error, under the key it is about, in the models' field order.

    ``key_of`` names the key of an error's location: pydantic reports a field validated from
    its default (an unset key) by the field's name, not by its alias.
    """
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        key = item["type"].removeprefix("config:") if item["type"].startswith("config:") else ""
        if not key:
            key = key_of(tuple(str(part) for part in item["loc"]))
        message = item["msg"] if item["type"].startswith("config") else f"invalid: {item['msg']}"
        problems.append(Problem(key, message))
    return problems
