"""E-mail channel: one plain-text message per reminder to the task owner, over SMTP."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Literal

import aiosmtplib
from pydantic import SecretStr

from services.notifier.channels.base import DeliveryFailed, Notice


def _transient_code(code: int) -> bool:
    # SMTP 4xx replies are temporary by definition (RFC 5321 4.2.1); 5xx are permanent.
    return 400 <= code < 500


class EmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: Literal["starttls", "tls", "none"],
        username: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout

    def applies(self, notice: Notice) -> bool:
        # No recipient: the owner turned e-mail off, or has no verified address.
        return notice.recipient is not None

    def message(self, notice: Notice) -> EmailMessage:
        if not notice.recipient:
            raise DeliveryFailed("the task owner has no e-mail address", transient=False)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = notice.recipient
        message["Subject"] = f"Reminder: {notice.title}"
        message["Message-ID"] = make_msgid(idstring=notice.event.id.hex)
        # Lets a mail filter or a support person tie the message to the reminder.
        message["X-Todo-Reminder-Id"] = str(notice.reminder_id)
        due = f"\nDue: {notice.due_date:%Y-%m-%d %H:%M} UTC" if notice.due_date else ""
        message.set_content(f"Reminder for your task: {notice.title}{due}\n")
        return message

    async def send(self, notice: Notice) -> None:
        message = self.message(notice)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=None if self._password is None else self._password.get_secret_value(),
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout,
            )
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
