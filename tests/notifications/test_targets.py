"""The one rule for where the server may send a user's requests (webhooks, push endpoints)."""

from __future__ import annotations

import pytest

from app.notifications.targets import TargetRefused, check_resolved, check_target


@pytest.mark.parametrize(
    "url",
    [
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
        "https://hooks.example.com:8443/reminders?team=7",
        "https://8.8.8.8/hook",
    ],
)
def test_public_https_targets_pass(url: str) -> None:
    assert check_target(url, allow_loopback=False) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "the URL must start with https://"),
        ("ftp://hooks.example.com/x", "the URL must start with https://"),
        ("https://user:pw@hooks.example.com/x", "the URL must not carry a user name or password"),
        ("https://localhost/x", "the URL's host is not a public name"),
        ("https://todo-api/x", "the URL's host is not a public name"),
        ("https://postgres.todo.svc.cluster.local/x", "the URL's host is not a public name"),
        ("https://printer.local/x", "the URL's host is not a public name"),
        ("https://metadata.google.internal/x", "the URL's host is not a public name"),
        ("https://127.0.0.1/x", "the URL's address is not a public one"),
        ("https://10.0.0.5:5432/", "the URL's address is not a public one"),
        ("https://169.254.169.254/latest/meta-data", "the URL's address is not a public one"),
        ("https://[::1]/x", "the URL's address is not a public one"),
        ("https://[fd00::1]/x", "the URL's address is not a public one"),
        ("https:///x", "the URL has no host"),
        (
            "https://hooks.example.com/\x00",
            "the URL must be ASCII without spaces or control characters",
        ),
        (
            "https://hooks.example.com/a b",
            "the URL must be ASCII without spaces or control characters",
        ),
        ("https://bücher.example/x", "the URL must be ASCII without spaces or control characters"),
        ("https://hooks.example.com:99999/x", "not a valid URL"),
        ("https://hooks.example.com/" + "a" * 2048, "the URL is longer than 2048 characters"),
        # Loopback over plain http only with the explicit setting.
        ("http://127.0.0.1:8080/push/x", "the URL must start with https://"),
    ],
)
def test_private_or_malformed_targets_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_target(url, allow_loopback=False)
    assert str(refused.value) == reason


def test_the_loopback_setting_admits_loopback_and_nothing_more() -> None:
    assert check_target("http://127.0.0.1:8080/push/x", allow_loopback=True)
    assert check_target("https://[::1]:8443/x", allow_loopback=True)
    for url in ("http://10.0.0.5/x", "http://hooks.example.com/x", "http://localhost:8080/x"):
        with pytest.raises(TargetRefused):
            check_target(url, allow_loopback=True)


async def test_a_name_resolving_to_a_private_address_is_refused_at_send_time() -> None:
    # "localhost" resolves to loopback: a saved public-looking name that is re-pointed inside
    # is caught the same way when the notifier sends.
    with pytest.raises(TargetRefused) as refused:
        await check_resolved("https://localhost:8443/x", allow_loopback=False)
    assert str(refused.value) == "the URL's host resolves to an address that is not public"
    await check_resolved("https://localhost:8443/x", allow_loopback=True)
    with pytest.raises(TargetRefused, match="does not resolve"):
        await check_resolved("https://no-such-host.invalid/x", allow_loopback=False)
