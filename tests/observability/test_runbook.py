"""docs/runbook.md: a section for every alert (its runbook_url anchor exists), each with the
meaning, first checks and fixes, and every in-page link pointing at a heading that exists."""

from __future__ import annotations

import re

import pytest

from infra.observability.alerts import Alert, alerts
from tests.observability.alert_cases import NAMESPACE
from tests.observability.tools import ROOT

RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _sections() -> dict[str, str]:
    """Anchor → body of every heading of the runbook."""
    parts = re.split(r"^#{1,6} (.+)$", RUNBOOK, flags=re.MULTILINE)
    return {
        github_anchor(title): body for title, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def test_anchor_rule_matches_github() -> None:
    assert github_anchor("Replay a dead-letter topic") == "replay-a-dead-letter-topic"
    assert github_anchor("TodoHighHttpErrorRatio") == "todohighhttperrorratio"


@pytest.mark.parametrize("alert", alerts(NAMESPACE), ids=lambda alert: alert.name)
def test_every_alert_has_its_section(alert: Alert) -> None:
    sections = _sections()
    anchor = alert.anchor
    assert anchor in sections, f"docs/runbook.md has no heading for #{anchor}"
    body = sections[anchor]
    for part in ("**Meaning.**", "**First checks.**", "**Fix"):
        assert part in body, f"#{anchor} lacks {part}"


def test_in_page_links_point_at_existing_headings() -> None:
    sections = _sections()
    links = re.findall(r"\]\(#([^)]+)\)", RUNBOOK)
    assert links
    assert [link for link in links if link not in sections] == []


@pytest.mark.parametrize(
    "topic",
    [
        "scale-pods",
        "read-logs",
        "restart-a-service",
        "roll-back-a-deployment",
        "rotate-secrets",
        "kafka-problems",
        "reset-a-consumer-group",
        "replay-a-dead-letter-topic",
        "dapr-problems",
        "database-problems",
        "restore-the-database",
    ],
)
def test_general_operations_are_covered(topic: str) -> None:
    assert topic in _sections()
