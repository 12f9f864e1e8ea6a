"""The generated Alertmanager configuration: valid for amtool, routed by severity, and really
delivered by a running Alertmanager to a Slack webhook and an SMTP server (both local stubs),
with the webhook URL and the SMTP password read from mounted secret files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from devtools.process import LOOPBACK, free_port
from devtools.testkit.http_stub import serving
from infra.observability import EmailReceiver, SlackReceiver, Timings, alertmanager_config
from tests.devtools.subprocesses import output, run
from tests.observability.alert_cases import NAMESPACE, RUNBOOK_URL
from tests.observability.servers import Alertmanager
from tests.observability.tools import debian_tool

SMTP_USER = "alertmanager"
SMTP_PASSWORD = "s3cret-from-a-mounted-file"


@pytest.fixture(scope="module")
def amtool() -> str:
    return debian_tool("amtool", "prometheus-alertmanager")


def _receivers(
    tmp: Path, smtp_port: int = 587, slack_url: str = "https://hooks.example/x"
) -> tuple[EmailReceiver, SlackReceiver]:
    (tmp / "smtp-password").write_text(SMTP_PASSWORD)
    (tmp / "slack-webhook").write_text(slack_url)
    email = EmailReceiver(
        to="oncall@example.com",
        sender="alertmanager@example.com",
        smarthost=f"{LOOPBACK}:{smtp_port}",
        username=SMTP_USER,
        password_file=str(tmp / "smtp-password"),
        require_tls=False,
    )
    return email, SlackReceiver(webhook_url_file=str(tmp / "slack-webhook"))


def _write(tmp: Path, config: dict[str, Any]) -> Path:
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.parametrize("channels", ["both", "email", "slack", "none"])
def test_amtool_accepts_the_config(amtool: str, tmp_path: Path, channels: str) -> None:
    email, slack = _receivers(tmp_path)
    config = alertmanager_config(
        email=email if channels in ("both", "email") else None,
        slack=slack if channels in ("both", "slack") else None,
    )
    result = run([amtool, "check-config", str(_write(tmp_path, config))])
    assert result.returncode == 0, output(result)
    assert "SUCCESS" in result.stdout
    assert " - 3 inhibit rules" in result.stdout
    assert " - 3 receivers" in result.stdout


def test_no_secret_value_is_in_the_config(tmp_path: Path) -> None:
    email, slack = _receivers(tmp_path)
    text = yaml.safe_dump(alertmanager_config(email=email, slack=slack))
    assert SMTP_PASSWORD not in text
    assert "hooks.example" not in text
    assert str(tmp_path / "smtp-password") in text
    assert str(tmp_path / "slack-webhook") in text


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "alertname=TodoOutboxStalled"], "critical"),
        (["severity=warning", "alertname=TodoPodNotReady"], "warning"),
        (["severity=info", "alertname=KubeletTooManyPods"], "null"),
        (["severity=none", "alertname=Watchdog"], "null"),
        (["severity=none", "alertname=InfoInhibitor"], "null"),
        (["alertname=SomethingWithoutSeverity"], "warning"),
    ],
)
def test_routes_by_severity(amtool: str, tmp_path: Path, labels: list[str], receiver: str) -> None:
    email, slack = _receivers(tmp_path)
    path = _write(tmp_path, alertmanager_config(email=email, slack=slack))
    result = run([amtool, "config", "routes", "test", f"--config.file={path}", *labels])
    assert result.returncode == 0, output(result)
    assert result.stdout.strip() == receiver, output(result)


def test_warnings_go_to_email_when_there_is_no_slack(tmp_path: Path) -> None:
    email, slack = _receivers(tmp_path)
    receivers = {r["name"]: r for r in alertmanager_config(email=email)["receivers"]}
    assert set(receivers["warning"]) == {"name", "email_configs"}
    with_slack = {r["name"]: r for r in alertmanager_config(email=email, slack=slack)["receivers"]}
    assert set(with_slack["warning"]) == {"name", "slack_configs"}
    assert set(with_slack["critical"]) == {"name", "email_configs", "slack_configs"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: EmailReceiver("ops", "am@example.com", "smtp:25"), "email to 'ops' is not"),
        (lambda: EmailReceiver("a@b.co", "am@example.com", "smtp"), "must be host:port"),
        (
            lambda: EmailReceiver("a@b.co", "am@example.com", "smtp:25", username="u"),
            "username and password_file go together",
        ),
        (lambda: SlackReceiver("relative/file"), "must be an absolute path"),
        (lambda: Timings(group_wait="soon"), "timing group_wait 'soon'"),
    ],
)
def test_bad_receiver_settings_are_refused_by_name(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --- a running Alertmanager ----------------------------------------------------------------


@dataclass
class _Inbox:
    slack: list[dict[str, Any]] = field(default_factory=list)
    mail: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def _slack_stub(inbox: _Inbox) -> Iterator[str]:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with inbox.lock:
                inbox.slack.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test asserts on what arrived."""

    with serving(Hook) as url:
        yield f"{url}/services/T0/B0/hook"


class _Mailbox:
    def __init__(self, inbox: _Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        with self.inbox.lock:
            self.inbox.mail.append(envelope)
        return "250 OK"


@contextmanager
def _smtp_stub(inbox: _Inbox) -> Iterator[int]:
    def authenticate(
        server: object, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login = (auth_data.login.decode(), auth_data.password.decode())
        with inbox.lock:
            inbox.logins.append(login)
        return AuthResult(success=login == (SMTP_USER, SMTP_PASSWORD))

    port = free_port()
    controller = Controller(
        _Mailbox(inbox),
        hostname=LOOPBACK,
        port=port,
        authenticator=authenticate,
        # Loopback only; Go's SMTP client sends PLAIN credentials in clear to 127.0.0.1 only.
        auth_require_tls=False,
        # Alertmanager's LOGIN client expects the challenge "Username:", aiosmtpd sends
        # "User Name": offer PLAIN only, which both speak alike.
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _alert(name: str, severity: str, component: str) -> dict[str, Any]:
    return {
        "labels": {
            "alertname": name,
            "severity": severity,
            "component": component,
            "namespace": NAMESPACE,
        },
        "annotations": {
            "summary": f"{name} summary",
            "description": f"{name} description",
            "runbook_url": f"{RUNBOOK_URL}#{name.lower()}",
        },
    }


def test_alertmanager_delivers_by_severity_and_inhibits_warnings(tmp_path: Path) -> None:
    debian_tool("prometheus-alertmanager", "prometheus-alertmanager")
    inbox = _Inbox()
    with _slack_stub(inbox) as hook, _smtp_stub(inbox) as smtp_port:
        email, slack = _receivers(tmp_path, smtp_port, hook)
        config = alertmanager_config(
            email=email,
            slack=slack,
            timings=Timings(group_wait="1s", group_interval="1s"),
        )
        with Alertmanager(config) as alertmanager:
            alertmanager.post(
                [
                    _alert("TodoOutboxStalled", "critical", "outbox"),
                    # Same component and namespace as the critical one: inhibited.
                    _alert("TodoOutboxBacklogGrowing", "warning", "outbox"),
                    _alert("TodoKafkaConsumerLagHigh", "warning", "kafka"),
                ]
            )

            def delivered() -> bool:
                with inbox.lock:
                    return len(inbox.slack) >= 2 and len(inbox.mail) >= 1

            alertmanager.wait_for(delivered, "2 Slack posts and 1 e-mail")
            states = {
                a["labels"]["alertname"]: (a["status"]["state"], a["status"]["inhibitedBy"])
                for a in alertmanager.alerts()
            }
            log = alertmanager.log_path.read_text()

    assert states["TodoOutboxStalled"] == ("active", [])
    assert states["TodoKafkaConsumerLagHigh"] == ("active", [])
    state, inhibited_by = states["TodoOutboxBacklogGrowing"]
    assert (state, len(inhibited_by)) == ("suppressed", 1), log

    titles = sorted(post["attachments"][0]["title"] for post in inbox.slack)
    assert titles == ["[FIRING:1] TodoKafkaConsumerLagHigh", "[FIRING:1] TodoOutboxStalled"]
    critical = next(p for p in inbox.slack if "TodoOutboxStalled" in p["attachments"][0]["title"])
    assert critical["attachments"][0]["text"] == (
        "*TodoOutboxStalled summary*\nTodoOutboxStalled description\n"
        f"Runbook: {RUNBOOK_URL}#todooutboxstalled\n"
    )

    # Only the critical alert pages by e-mail; warnings go to Slack when there is one.
    assert len(inbox.mail) == 1, log
    message = message_from_bytes(inbox.mail[0].original_content or b"")
    assert inbox.mail[0].rcpt_tos == ["oncall@example.com"]
    assert "TodoOutboxStalled" in message["Subject"]
    assert inbox.logins == [(SMTP_USER, SMTP_PASSWORD)]
