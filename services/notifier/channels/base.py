"""What every delivery channel is: a name and a ``send`` that succeeds or says how it failed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Protocol

from app.core.events.contract import CloudEvent, ReminderDueData
from app.notifications.routes import Routes


@dataclass(frozen=True, slots=True)
class Notice:
    """One due reminder on its way to a person."""

    event: CloudEvent  # the reminder.due event, as published
    reminder_id: uuid.UUID
    task_id: uuid.UUID
    owner_id: uuid.UUID
    title: str
    remind_at: datetime
    due_date: datetime | None
    recipient: str | None  # the owner's verified e-mail address, if e-mail is on for them
    # Where the owner's own channels go (push subscriptions, their webhook): read at delivery.
    routes: Routes = field(default_factory=Routes)

    @classmethod
    def of(cls, event: CloudEvent, recipient: str | None = None) -> Notice:
        """The notice of a ``reminder.due`` event."""
        # The notice's fields between ``event`` and ``recipient`` are the event's data fields.
        data = ReminderDueData.model_validate(event.data).model_dump()
        return cls(event=event, recipient=recipient, **data)


class DeliveryFailed(Exception):
    """A send that did not succeed. ``transient`` failures are worth retrying (network, 5xx,
    429, SMTP 4xx); the others (a 4xx answer, a refused address) never succeed on retry."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# Worth retrying: the receiver is overloaded, restarting or asks us to slow down.
_TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})


def unreachable(receiver: str, error: Exception) -> DeliveryFailed:
    """A request that got no answer (connection refused, timeout): transient."""
    return DeliveryFailed(f"{receiver} not reachable: {type(error).__name__}", transient=True)


def answered(receiver: str, status: int) -> DeliveryFailed:
    """An HTTP answer that is no success: transient for 5xx, 408, 425 and 429."""
    return DeliveryFailed(
        f"{receiver} answered HTTP {status}",
        transient=status >= 500 or status in _TRANSIENT_STATUSES,
    )


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a successful send learnt besides success: push subscriptions the push service
    reported gone (404/410), for the delivery to delete in its transaction."""

    gone_subscriptions: tuple[uuid.UUID, ...] = ()


class Channel(Protocol):
    name: str

    def applies(self, notice: Notice) -> bool:
        """Whether this reminder goes through this channel at all (the owner's choices)."""
        ...

    async def send(self, notice: Notice) -> Receipt | None:
        """Deliver ``notice`` once; raise :class:`DeliveryFailed` on failure."""
        ...
