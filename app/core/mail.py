"""Sending e-mail through the configured SMTP relay: reminders (the notifier's e-mail channel)
and address verification links (the API)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from pydantic import SecretStr

SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    host: str
    port: int
    sender: str
    # "starttls" (submission, port 587), "tls" (implicit TLS, port 465) or "none" (a relay on
    # a trusted network, and the tests' local server).
    security: SmtpSecurity
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 10.0

    def message(self, recipient: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = subject
        message.set_content(body)
        return message

    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the relay; aiosmtplib's exceptions (and OSError) pass through,
        for the caller to judge transient or permanent."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=None if self.password is None else self.password.get_secret_value(),
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            timeout=self.timeout,
        )
