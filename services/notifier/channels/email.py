"""E-mail channel: one plain-text message per reminder to the task owner, over SMTP."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from app.core.mail import SmtpRelay
from services.notifier.channels.base import DeliveryFailed, Notice


def _transient_code(code: int) -> bool:
    # SMTP 4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are permanent.
    return 400 <= code < 500


class EmailChannel:
    name = "email"

    def __init__(self, relay: SmtpRelay) -> None:
        self._relay = relay

    def applies(self, notice: Notice) -> bool:
        # No recipient: the owner turned e-mail off, or has no verified address.
        return notice.recipient is not None

    def message(self, notice: Notice) -> EmailMessage:
        if not notice.recipient:
            raise DeliveryFailed("the task owner has no e-mail address", transient=False)
        due = f"\nDue: {notice.due_date:%Y-%m-%d %H:%M} UTC" if notice.due_date else ""
        message = self._relay.message(
            notice.recipient,
            f"Reminder: {notice.title}",
            f"Reminder for your task: {notice.title}{due}\n",
        )
        message["Message-ID"] = make_msgid(idstring=notice.event.id.hex)
        # Lets a mail filter or a support person tie the message to the reminder.
        message["X-Todo-Reminder-Id"] = str(notice.reminder_id)
        return message

    async def send(self, notice: Notice) -> None:
        message = self.message(notice)
        try:
            await self._relay.send(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            raise DeliveryFailed(
                f"SMTP server refused the recipient ({', '.join(map(str, codes))})",
                transient=all(_transient_code(code) for code in codes),
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"SMTP server answered {exc.code}", transient=_transient_code(exc.code)
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused or dropped, timeouts, TLS negotiation: the server may be back.
            raise DeliveryFailed(f"SMTP failed: {type(exc).__name__}", transient=True) from None
