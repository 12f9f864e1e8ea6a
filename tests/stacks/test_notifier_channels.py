"""Reminder delivery from stack config to the notifier's container: channel settings as its
environment, channel secrets through a Secret of their own, read by the real NotifierSettings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.core import vapid
from app.core.settings import ApiSettings, load
from devtools.testkit.pulumi_mocks import ProgramRun, RecordedResource, load_config
from infra.workloads.notifier import NotifierChannels
from services.notifier.settings import NotifierSettings
from stacks.config import StackConfigError

WEBHOOK_SECRET = "w" * 40
SMTP_PASSWORD = "relay-pass"
ALL_CHANNELS = {
    "notifierChannels": "webhook,email,log",
    "notifierWebhookUrl": "https://hooks.example.com/reminders",
    "notifierSmtpHost": "smtp.example.com",
    "notifierSmtpPort": 465,
    "notifierSmtpFrom": "reminders@example.com",
    "notifierSmtpUsername": "reminders",
}
# Where ALL_CHANNELS sends e-mail through: host, port, sender.
RELAY = ("smtp.example.com", 465, "reminders@example.com")
CHANNEL_SECRETS = {"notifierWebhookSecret": WEBHOOK_SECRET, "notifierSmtpPassword": SMTP_PASSWORD}


def notifier_container(run: ProgramRun, name: str = "todo-notifier") -> dict[str, Any]:
    (deployment,) = [
        r
        for r in run.resources
        if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] == name
    ]
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    return dict(container)


def channel_secret(run: ProgramRun) -> RecordedResource | None:
    found = [
        r
        for r in run.resources
        if r.type == "kubernetes:core/v1:Secret"
        and r.inputs["metadata"]["name"] == "todo-notifier-channels"
    ]
    return found[0] if found else None


def settings_as_deployed(
    container: dict[str, Any], secret: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> NotifierSettings:
    environment_as_deployed(container, secret, monkeypatch)
    return load(NotifierSettings)


def environment_as_deployed(
    container: dict[str, Any],
    secret: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    secret_name: str = "todo-notifier-channels",  # noqa: S107 (a name, not a secret)
) -> None:
    """The container's environment as its process reads it; secretKeyRefs resolved from the
    Secret ``secret_name`` (its entries ``secret``), the app Secret's entries stood in."""
    for entry in container["env"]:
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref is None:
            value = entry["value"]
        elif ref["name"] == secret_name:
            value = secret[ref["key"]]
        else:
            value = "postgresql://todo:pw@db.example.com/todo"
        monkeypatch.setenv(entry["name"], value)


@pytest.fixture
def all_channels(run_stack: Callable[..., ProgramRun]) -> tuple[ProgramRun, RecordedResource]:
    """The aks stack with ALL_CHANNELS configured, and its channel Secret."""
    run = run_stack("aks", settings=ALL_CHANNELS, secrets=CHANNEL_SECRETS).ok()
    secret = channel_secret(run)
    assert secret is not None
    return run, secret


def test_configured_channels_reach_the_notifier(
    all_channels: tuple[ProgramRun, RecordedResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, secret = all_channels
    assert secret.secret_inputs == {"stringData"}
    data = secret.inputs["stringData"]
    assert data == {"webhook-secret": WEBHOOK_SECRET, "smtp-password": SMTP_PASSWORD}
    container = notifier_container(run)
    # No channel secret in plain text anywhere in the Deployment.
    assert WEBHOOK_SECRET not in str(container)
    assert SMTP_PASSWORD not in str(container)
    settings = settings_as_deployed(container, data, monkeypatch)
    assert settings.notifier_channels == ("webhook", "email", "log")
    assert str(settings.webhook_url) == "https://hooks.example.com/reminders"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == WEBHOOK_SECRET
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == RELAY
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == SMTP_PASSWORD


def test_the_api_gets_the_relay_for_verification_links(
    all_channels: tuple[ProgramRun, RecordedResource], monkeypatch: pytest.MonkeyPatch
) -> None:
    run, secret = all_channels
    container = notifier_container(run, "todo-api")
    assert SMTP_PASSWORD not in str(container)
    assert WEBHOOK_SECRET not in str(container)
    names = {entry["name"] for entry in container["env"]}
    assert not names & {"WEBHOOK_URL", "WEBHOOK_SECRET", "NOTIFIER_CHANNELS"}
    environment_as_deployed(container, secret.inputs["stringData"], monkeypatch)
    relay = load(ApiSettings).smtp_relay()
    assert relay is not None
    assert (relay.host, relay.port, relay.sender, relay.username) == (*RELAY, "reminders")
    assert relay.password is not None
    assert relay.password.get_secret_value() == SMTP_PASSWORD


def test_web_push_gives_the_notifier_the_private_key_and_the_api_the_public_one(
    run_stack: Callable[..., ProgramRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = vapid.generate()
    settings = {
        "notifierChannels": "log,push,user_webhook",
        "notifierVapidSubject": "mailto:ops@example.com",
    }
    run = run_stack("aks", settings=settings, secrets={"vapidPrivateKey": private}).ok()
    secret = channel_secret(run)
    assert secret is not None
    assert secret.secret_inputs == {"stringData"}
    assert secret.inputs["stringData"] == {"vapid-private-key": private}
    container = notifier_container(run)
    assert private not in str(container)
    deployed = settings_as_deployed(container, secret.inputs["stringData"], monkeypatch)
    assert deployed.notifier_channels == ("log", "push", "user_webhook")
    assert deployed.vapid_private_key is not None
    assert deployed.vapid_private_key.get_secret_value() == private
    assert deployed.vapid_subject == "mailto:ops@example.com"
    (api,) = [
        r
        for r in run.resources
        if r.type == "kubernetes:apps/v1:Deployment" and r.inputs["metadata"]["name"] == "todo-api"
    ]
    (api_container,) = api.inputs["spec"]["template"]["spec"]["containers"]
    api_env = {entry["name"]: entry.get("value") for entry in api_container["env"]}
    assert api_env["VAPID_PUBLIC_KEY"] == public
    assert private not in str(api_container)


def test_default_is_the_log_channel_and_no_secret(
    committed_run: Callable[[str, bool], ProgramRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = committed_run("gke", False).ok()
    assert channel_secret(run) is None
    settings = settings_as_deployed(notifier_container(run), {}, monkeypatch)
    assert settings.notifier_channels == ("log",)


@pytest.mark.parametrize(
    ("settings", "secrets", "problems"),
    [
        (
            {"notifierChannels": "webhook"},
            {},
            {
                "notifierWebhookUrl": "required with the webhook channel (notifierChannels): "
                "the https URL reminders are POSTed to",
                "notifierWebhookSecret": "required with the webhook channel (notifierChannels): "
                "`pulumi config set --secret notifierWebhookSecret <32+ characters>`",
            },
        ),
        (
            {"notifierChannels": "email,sms"},
            {},
            {
                "notifierChannels": "must be a comma list of one of webhook, email, log, push, "
                "user_webhook"
            },
        ),
        (
            {"notifierChannels": "push"},
            {},
            {
                "vapidPrivateKey": "required with the push channel (notifierChannels): "
                "run `python -m stacks.secrets <stack>` once to generate it as a secret",
                "notifierVapidSubject": "required with the push channel (notifierChannels): "
                "mailto: of who runs the service",
            },
        ),
        (
            {"notifierChannels": "email", "notifierSmtpFrom": "reminders@example.com"},
            {},
            {
                "notifierSmtpHost": "required with the email channel (notifierChannels): "
                "the mail relay's host name"
            },
        ),
        (
            {"notifierWebhookUrl": "http://hooks.example.com/x"},
            {"notifierWebhookSecret": "short"},
            {
                "notifierWebhookUrl": "must be an https:// URL, got 'http://hooks.example.com/x'",
                "notifierWebhookSecret": "must be at least 32 characters without spaces",
            },
        ),
        (
            {"notifierSmtpUsername": "reminders", "notifierSmtpPassword": SMTP_PASSWORD},
            {},
            {
                "notifierSmtpPassword": "is stored in plain text; remove it and set it with "
                "`pulumi config set --secret notifierSmtpPassword <value>`",
                "notifierSmtpUsername": "notifierSmtpUsername and the secret "
                "notifierSmtpPassword go together (or neither)",
            },
        ),
    ],
    ids=[
        "webhook-unset",
        "unknown-channel",
        "push-no-key",
        "email-no-host",
        "bad-values",
        "plain-password",
    ],
)
def test_bad_channel_config_is_refused_with_each_key(
    tmp_path: Path, settings: dict[str, Any], secrets: dict[str, str], problems: dict[str, str]
) -> None:
    # The secret's text is never echoed.
    assert_refused(tmp_path, settings, secrets, problems, unsaid=("short", SMTP_PASSWORD))


def assert_refused(
    tmp_path: Path,
    settings: dict[str, Any],
    secrets: dict[str, str],
    problems: dict[str, str],
    unsaid: tuple[str, ...],
) -> None:
    """An aks stack's config is refused with exactly ``problems`` (key: message), and the error's
    text says none of ``unsaid`` (the secrets' values)."""
    with pytest.raises(StackConfigError) as raised:
        load_config("aks", tmp_path, settings, secrets)
    assert {p.key: p.message for p in raised.value.problems} == problems
    assert [value for value in unsaid if value in str(raised.value)] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"channels": ("webhook",)}, "webhook channel needs webhook_url and webhook_secret"),
        ({"channels": ("email",), "smtp_host": "relay"}, "email channel needs smtp_host"),
        ({"channels": ()}, "channels must be some of"),
        ({"smtp_username": "x"}, "go together"),
    ],
)
def test_channels_mirror_the_notifiers_own_rules(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NotifierChannels(**kwargs)
