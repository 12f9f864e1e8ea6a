"""Request and response bodies of the REST API (Pydantic v2).

Task bodies are the task service's own inputs (``app.tasks.inputs``) under the API's names, so
the API and the web UI validate a task the same way; requests forbid unknown fields.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator

from app.auth.password_policy import password_problem
from app.tasks.inputs import NewTask, Priority, TaskChanges
from app.tasks.records import TaskShown


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_Request):
    email: EmailStr = Field(max_length=320)
    password: str = Field(
        min_length=8,
        max_length=128,
        description="not only spaces, not the e-mail address, not one of the commonest",
    )

    @field_validator("password")
    @classmethod
    def _acceptable(cls, value: str, info: ValidationInfo) -> str:
        problem = password_problem(value, info.data.get("email"))
        if problem is not None:
            raise ValueError(problem)
        return value


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    created_at: datetime
    # Reminders are e-mailed only to a verified address (GET /auth/verify-email).
    email_verified: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="seconds until the token expires")


class TaskCreate(NewTask):
    """A task to create (the task service's :class:`NewTask`, under the API's name)."""


class TaskUpdate(TaskChanges):
    """Only the fields present change; ``null`` clears an optional field."""


class ReminderOut(BaseModel):
    id: uuid.UUID
    remind_at: datetime
    before: timedelta | None
    sent_at: datetime | None
    cancelled_at: datetime | None


class TaskOut(BaseModel, TaskShown):
    # The task's columns as TaskShown declares them (BaseModel first: pydantic's methods win),
    # its priority as the API's choice, and what the API adds. A comment, not a docstring: that
    # would become the schema's description.
    priority: Priority
    recurrence_text: str | None = Field(description="the rule in words, e.g. 'every 2 weeks'")
    reminders: list[ReminderOut]


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


class OccurrenceOut(BaseModel):
    index: int
    due_date: datetime
    task_id: uuid.UUID | None = Field(description="the task of this occurrence, once created")
    completed: bool | None


class OccurrencesOut(BaseModel):
    series_id: uuid.UUID
    rule: dict[str, Any]
    description: str
    timezone: str
    occurrences: list[OccurrenceOut]
