"""Log channel: one structured line per due reminder (local runs, and an audit trail)."""

from __future__ import annotations

import logging

from services.notifier.channels.base import Notice

_log = logging.getLogger("services.notifier.reminders")


class LogChannel:
    name = "log"

    def applies(self, notice: Notice) -> bool:
        return True

    async def send(self, notice: Notice) -> None:
        # Ids and times only: titles are user content and stay out of the logs.
        _log.info(
            "reminder due",
            extra={
                "reminder_id": str(notice.reminder_id),
                "task_id": str(notice.task_id),
                "owner_id": str(notice.owner_id),
                "remind_at": notice.remind_at.isoformat(),
            },
        )
