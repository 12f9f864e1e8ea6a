"""What the task service refuses, in its own terms: the API maps these to problem+json
(``app.api.problems``), the web UI to form errors and pages. None of them knows HTTP."""

from __future__ import annotations


class TaskError(Exception):
    """Base of every refusal of the task service; nothing was written when one is raised."""


class TaskNotFound(TaskError):
    """No such ``what`` for this user: another user's task is indistinguishable from none."""

    def __init__(self, what: str = "task") -> None:
        super().__init__(f"no such {what}")
        self.what = what


class InvalidTaskInput(TaskError):
    """One input is unacceptable; ``field`` names it as the API's request body does
    (``reminders[0].before``, ``recurrence``, ``cursor``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class VersionConflict(TaskError):
    """The task changed since the caller read it (optimistic concurrency); ``current`` is its
    version now, when known."""

    def __init__(self, current: int | None) -> None:
        super().__init__("the task changed since you read it")
        self.current = current


class IdempotencyKeyReused(TaskError):
    """An idempotency key already used for a different request."""

    def __init__(self) -> None:
        super().__init__("already used with a different request body")
