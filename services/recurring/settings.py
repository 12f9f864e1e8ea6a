"""The recurring service's environment."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import WorkerSettings


class RecurringSettings(WorkerSettings):
    # The repair sweep's own timer; 0 turns it off where the Dapr cron binding drives the sweep
    # (POST /reminder-check) instead.
    recurring_sweep_seconds: float = Field(300, ge=0, le=86_400)
    # Completions younger than this are the event consumer's; the sweep leaves them alone.
    recurring_sweep_grace_seconds: float = Field(120, ge=0, le=86_400)
    recurring_sweep_batch_size: int = Field(100, ge=1, le=10_000)
