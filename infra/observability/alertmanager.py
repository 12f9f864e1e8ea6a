"""Alertmanager configuration: routes by severity to e-mail and Slack receivers.

Secrets never enter this configuration. The Slack webhook URL and the SMTP password are Pulumi
secrets that the monitoring component writes into a Kubernetes Secret mounted into Alertmanager
(``alertmanagerSpec.secrets``); the configuration names the mounted *files*
(``api_url_file``, ``auth_password_file``), so the rendered config, the Helm values and the
Pulumi state hold no secret value.

Routing: ``critical`` pages through every configured channel and repeats hourly; ``warning``
goes to Slack when configured (else e-mail) and repeats every 4 hours; ``info`` and the
kube-prometheus-stack helper alerts (Watchdog, InfoInhibitor) go nowhere. A critical alert
silences the warnings of the same ``component`` in the same namespace (e.g. TodoOutboxStalled
mutes TodoOutboxBacklogGrowing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

NULL: Final = "null"
CRITICAL: Final = "critical"
WARNING: Final = "warning"
# The catch-all for alerts with no or an unknown severity: treated as warnings.
DEFAULT: Final = WARNING

_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST_PORT: Final = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
_DURATION: Final = re.compile(r"^\d+[smh]$")

_SLACK_TITLE: Final = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
    "{{ end }}] {{ .CommonLabels.alertname }}"
)
_SLACK_TEXT: Final = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)


@dataclass(frozen=True)
class EmailReceiver:
    """Alert e-mail through an SMTP relay; ``password_file`` is a mounted secret."""

    to: str
    sender: str
    smarthost: str  # host:port
    username: str | None = None
    password_file: str | None = None
    require_tls: bool = True

    def __post_init__(self) -> None:
        for name in ("to", "sender"):
            if not _EMAIL.match(getattr(self, name)):
                raise ValueError(f"email {name} {getattr(self, name)!r} is not an e-mail address")
        if not _HOST_PORT.match(self.smarthost):
            raise ValueError(f"email smarthost {self.smarthost!r} must be host:port")
        if (self.username is None) != (self.password_file is None):
            raise ValueError("email username and password_file go together")
        _check_path("email password_file", self.password_file)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "to": self.to,
            "from": self.sender,
            "smarthost": self.smarthost,
            "require_tls": self.require_tls,
            "send_resolved": True,
        }
        if self.username is not None:
            config["auth_username"] = self.username
            config["auth_password_file"] = self.password_file
        return config


@dataclass(frozen=True)
class SlackReceiver:
    """A Slack incoming webhook; ``webhook_url_file`` is a mounted secret holding the URL."""

    webhook_url_file: str

    def __post_init__(self) -> None:
        _check_path("slack webhook_url_file", self.webhook_url_file)

    def config(self) -> dict[str, Any]:
        return {
            "api_url_file": self.webhook_url_file,
            "send_resolved": True,
            "title": _SLACK_TITLE,
            "text": _SLACK_TEXT,
        }


@dataclass(frozen=True)
class Timings:
    """How long Alertmanager batches and how often it repeats, per severity."""

    group_wait: str = "30s"
    group_interval: str = "5m"
    critical_repeat: str = "1h"
    warning_repeat: str = "4h"

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not _DURATION.match(value):
                raise ValueError(f"timing {name} {value!r} must look like 30s, 5m or 4h")


def _check_path(what: str, path: str | None) -> None:
    if path is not None and not path.startswith("/"):
        raise ValueError(f"{what} must be an absolute path to a mounted file, got {path!r}")


def _receiver(
    name: str, email: EmailReceiver | None, slack: SlackReceiver | None
) -> dict[str, Any]:
    receiver: dict[str, Any] = {"name": name}
    if email is not None:
        receiver["email_configs"] = [email.config()]
    if slack is not None:
        receiver["slack_configs"] = [slack.config()]
    return receiver


def _route(receiver: str, matcher: str, repeat: str | None = None) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": receiver, "matchers": [matcher]}
    if repeat is not None:
        route["repeat_interval"] = repeat
    return route


def alertmanager_config(
    *,
    email: EmailReceiver | None = None,
    slack: SlackReceiver | None = None,
    timings: Timings | None = None,
) -> dict[str, Any]:
    """The whole ``alertmanager.yml`` (kube-prometheus-stack's ``alertmanager.config``).

    With neither receiver the routes still exist and alerts are visible in Alertmanager's UI,
    but nobody is notified.
    """
    t = timings or Timings()
    # Warnings are noisy by nature: Slack when there is one, e-mail otherwise.
    warning_email = email if slack is None else None
    return {
        "route": {
            "receiver": DEFAULT,
            "group_by": ["alertname", "namespace"],
            "group_wait": t.group_wait,
            "group_interval": t.group_interval,
            "repeat_interval": t.warning_repeat,
            "routes": [
                # kube-prometheus-stack's always-firing heartbeat and inhibition helper.
                _route(NULL, 'alertname = "Watchdog"'),
                _route(NULL, 'alertname = "InfoInhibitor"'),
                _route(CRITICAL, 'severity = "critical"', t.critical_repeat),
                _route(WARNING, 'severity = "warning"', t.warning_repeat),
                _route(NULL, 'severity = "info"'),
            ],
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity = "critical"', 'component =~ ".+"'],
                "target_matchers": ['severity = "warning"', 'component =~ ".+"'],
                "equal": ["namespace", "component"],
            },
            # kube-prometheus-stack's own convention for its alerts.
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity =~ "warning|info"'],
                "equal": ["namespace", "alertname"],
            },
            {
                "source_matchers": ['alertname = "InfoInhibitor"'],
                "target_matchers": ['severity = "info"'],
                "equal": ["namespace"],
            },
        ],
        "receivers": [
            {"name": NULL},
            _receiver(CRITICAL, email, slack),
            _receiver(WARNING, warning_email, slack),
        ],
    }
