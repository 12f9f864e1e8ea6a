"""Benchmark: how late reminders fire, on the real PostgreSQL, Kafka, API, relay and notifier.

    uv run python -m bench.reminders [--reminders 1000] [--spread 60] [--lead 15]

Creates ``--reminders`` reminders through the API (10 per task), due at random instants within
one ``--spread``-second window that opens ``--lead`` seconds later, and a webhook receiver in
this process. Prints, for every reminder:
- claim lateness: the notifier's ``sent_at`` - ``remind_at`` (the scheduler's own precision);
- delivery lateness: webhook receipt - ``remind_at`` (claim, outbox, relay, Kafka, delivery
  consumer, HTTP: what a user sees);
and the notifier's resident memory (now and peak). Then the same with every reminder due at one
instant (``--spread 0`` runs only that burst), the worst case for the single delivery consumer.
Target (issue 3): delivery lateness p99 under 1 s, the notifier under 120 MB RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from app.core.db.event_models import NotificationDelivery
from app.core.db.models import OutboxEvent, Reminder
from app.core.events.contract import EventType
from app.core.processes import TOPICS
from bench.common import cpu_seconds, peak_rss_mib, percentile, rss_mib
from devtools.api_server import ApiServer
from devtools.kafka import KafkaBroker
from devtools.postgres import PostgresServer
from devtools.testkit.events_support import ServiceProcess
from devtools.testkit.workers_stack import Stack, running_stack
from devtools.testkit.workers_support import Hook, WebhookReceiver, eventually

PER_TASK = 10  # the API's maximum reminders per task


def _line(label: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"  {label:<20} p50 {percentile(ms, 50):7.1f} ms   p99 {percentile(ms, 99):7.1f} ms"
        f"   max {max(ms):7.1f} ms"
    )


async def _create(stack: Stack, count: int, spread: float, lead: float) -> set[str]:
    """``count`` reminders due at random within ``spread`` s from ``lead`` s on; the task ids."""
    user = await stack.new_user()
    window = datetime.now(UTC) + timedelta(seconds=lead)
    times = sorted(window + timedelta(seconds=random.uniform(0, spread)) for _ in range(count))
    task_ids: set[str] = set()
    for start in range(0, count, PER_TASK):
        reminders = [{"at": at.isoformat()} for at in times[start : start + PER_TASK]]
        task = await stack.create_task(user, title="bench", reminders=reminders)
        task_ids.add(task["id"])
    if datetime.now(UTC) > window:
        raise SystemExit(f"creating {count} reminders took longer than --lead {lead:g} s")
    return task_ids


def _first_hooks(receiver: WebhookReceiver, task_ids: set[str]) -> dict[str, Hook]:
    """The first webhook per reminder of these tasks (a redelivery can only come later)."""
    hooks: dict[str, Hook] = {}
    for hook in receiver.hooks:
        if hook.body["subject"] in task_ids:
            hooks.setdefault(hook.body["data"]["reminder_id"], hook)
    return hooks


async def _stages(stack: Stack, task_ids: set[str]) -> dict[str, list[float]]:
    """Per reminder, seconds from remind_at to its claim, to its publication on Kafka, and
    from publication to the delivery row's commit: where the lateness comes from."""
    async with stack.db.sessions() as session:
        rows = (
            await session.execute(
                select(Reminder.id, Reminder.remind_at, Reminder.sent_at).where(
                    Reminder.task_id.in_([uuid.UUID(i) for i in task_ids])
                )
            )
        ).all()
        published: dict[str, datetime] = dict(
            (
                await session.execute(
                    select(
                        OutboxEvent.payload[("data", "reminder_id")].as_string(),
                        OutboxEvent.published_at,
                    ).where(
                        OutboxEvent.event_type == EventType.REMINDER_DUE.value,
                        OutboxEvent.key.in_(task_ids),
                    )
                )
            ).all()
        )
        delivered = dict(
            (
                await session.execute(
                    select(NotificationDelivery.reminder_id, NotificationDelivery.delivered_at)
                )
            ).all()
        )
    stages: dict[str, list[float]] = {"claim": [], "published": [], "published->delivered": []}
    for reminder_id, due, sent in rows:
        out, done = published.get(str(reminder_id)), delivered.get(reminder_id)
        if sent is None or out is None or done is None:
            continue
        stages["claim"].append((sent - due).total_seconds())
        stages["published"].append((out - due).total_seconds())
        stages["published->delivered"].append((done - out).total_seconds())
    return stages


async def _round(
    stack: Stack,
    receiver: WebhookReceiver,
    notifier: ServiceProcess,
    args: argparse.Namespace,
    spread: float,
) -> None:
    count = args.reminders
    task_ids = await _create(stack, count, spread, args.lead)
    processes = {"notifier": notifier.pid, "relay": stack.relay.pid}
    cpu_before = {name: cpu_seconds([pid]) for name, pid in processes.items()}
    await eventually(
        lambda: len(_first_hooks(receiver, task_ids)) >= count,
        within=args.lead + spread + 300,
        what=f"{count} webhooks",
    )
    cpu = {name: cpu_seconds([pid]) - cpu_before[name] for name, pid in processes.items()}
    hooks = _first_hooks(receiver, task_ids)
    delivered = [
        hook.received_at - datetime.fromisoformat(hook.body["data"]["remind_at"]).timestamp()
        for hook in hooks.values()
    ]
    invalid = sum(not hook.signature_valid for hook in hooks.values())
    when = f"within {spread:g} s" if spread else "at one instant"
    print(f"{count} reminders due {when}: {len(hooks)} delivered, {invalid} bad signatures")
    for stage, samples in (await _stages(stack, task_ids)).items():
        print(_line(f"{stage} lateness", samples))
    print(_line("delivery lateness", delivered) + "   (webhook receipt - remind_at)")
    print("  CPU seconds used: " + ", ".join(f"{n} {v:.1f}" for n, v in cpu.items()))


async def _run(api: ApiServer, kafka: KafkaBroker, log_dir: Path, args: argparse.Namespace) -> None:
    secret = secrets.token_urlsafe(32)
    async with WebhookReceiver(secret) as receiver, running_stack(api, kafka, log_dir) as stack:
        notifier: ServiceProcess = stack.service(
            "notifier",
            {
                "NOTIFIER_CHANNELS": "webhook",
                "WEBHOOK_URL": receiver.url,
                "WEBHOOK_SECRET": secret,
            },
        )
        await notifier.start()
        try:
            if args.spread:
                await _round(stack, receiver, notifier, args, args.spread)
            await _round(stack, receiver, notifier, args, 0)
            print(
                f"notifier RSS: {rss_mib(notifier.pid):.0f} MiB now, "
                f"{peak_rss_mib(notifier.pid):.0f} MiB peak (target < 120 MB)"
            )
        finally:
            notifier.stop()
    print(f"logs: {log_dir}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds; 0: burst only")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds to create them in")
    args = parser.parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-reminders-"))
    with PostgresServer(log_dir=log_dir) as postgres, KafkaBroker(log_dir=log_dir) as kafka:
        kafka.create_topics(TOPICS)
        with ApiServer(postgres.url(postgres.create_database()), log_dir=log_dir) as api:
            asyncio.run(_run(api, kafka, log_dir, args))


if __name__ == "__main__":
    main()
