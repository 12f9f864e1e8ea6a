"""The demo video: `python -m devtools.demo` (or `bash scripts/demo.sh`) → artifacts/demo.mp4.

Starts the platform as `scripts/run-local.sh` does (the local run on its embedded defaults: a
SQLite file and the in-process event bus, in a temporary directory), then plays a scripted
story in headless Chromium while recording the page's screencast:

1. sign up; 2. a daily recurring task typed into the chat; 3. a reminder by chat;
4. complete the task and watch its next occurrence appear without a reload;
5. the reminder arrives; 6. the task's history (the audit log); 7. the API docs.

Each step's caption is drawn into the page (a banner kept across navigations), so what the
video says is what the browser showed. Waiting is always for something on the page, with a
deadline (Playwright's expect); only the pauses that let a viewer read are plain waits, and
`--short` (what the test suite runs) makes those short.

The reminder: reminders are set in whole minutes before a due time, and a page hears only the
reminders that fire while it is open. So the chat asks for a reminder at the next minute
boundary at least REMINDER_LEAD away, and before recording the demo waits for the clock to
place that boundary about 20 s after the reminder step (instead of anywhere up to 72 s), so
the video does not stand still for a minute. A slower machine only makes the wait longer.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from playwright.async_api import Page, async_playwright, expect

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.local_run import LocalRun
from devtools.screencast import Probe, Screencast, assemble, probe

ROOT: Final = Path(__file__).resolve().parents[1]
DEFAULT_OUT: Final = ROOT / "artifacts" / "demo.mp4"
ZONE: Final = "Europe/Berlin"
WIDTH, HEIGHT = 1280, 720
REMINDER_LEAD: Final = timedelta(seconds=12)
REMINDER_SECOND: Final = 40
# Deadlines for what the platform does on its own (events through the bus and the workers).
EVENTUAL_MS: Final = 60_000
STEP_DEADLINE_MS: Final = 20_000
STEPS: Final = (
    "Sign up: an account of your own",
    "Add a daily task by chat, in plain English",
    "A reminder by chat too",
    "Complete it: the next occurrence appears live",
    "The reminder arrives on time",
    "Every change is in the task's history",
    "And the REST API behind it, documented at /docs",
)
CAPTION_SCRIPT: Final = """
(() => {
  const show = () => {
    const text = sessionStorage.getItem("demo-caption");
    if (!text || !document.documentElement) return;
    let banner = document.getElementById("demo-caption");
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "demo-caption";
      banner.setAttribute("aria-hidden", "true");
      Object.assign(banner.style, {
        position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483647",
        padding: "14px 24px", background: "rgba(17, 24, 39, 0.92)", color: "#fff",
        font: "600 24px/1.3 system-ui, sans-serif", textAlign: "center",
      });
      document.documentElement.appendChild(banner);
    }
    banner.textContent = text;
  };
  window.__demoCaption = (text) => { sessionStorage.setItem("demo-caption", text); show(); };
  // From the document's first element on, so even a page's first paint carries the caption
  // (a page that loads a big script, such as the API docs, paints before DOMContentLoaded).
  const early = new MutationObserver(() => {
    if (document.documentElement) { early.disconnect(); show(); }
  });
  early.observe(document, { childList: true });
})();
"""


@dataclass(frozen=True)
class Pace:
    """How long a viewer gets to read each step, and how fast text is typed."""

    hold_ms: int
    typing_ms: int
    reminder_step_s: float  # about when the reminder step comes, from the recording's start

    @classmethod
    def of(cls, short: bool) -> Pace:
        return cls(400, 0, 4.0) if short else cls(2200, 28, 8.0)


@dataclass
class Story:
    page: Page
    cast: Screencast
    url: str
    pace: Pace
    captions: list[tuple[float, str]] = field(default_factory=list)

    async def caption(self, text: str) -> None:
        number = len(self.captions) + 1
        self.captions.append((time.time(), text))
        await self.page.evaluate("t => window.__demoCaption(t)", f"{number}/{len(STEPS)} · {text}")

    async def hold(self) -> None:
        await self.page.wait_for_timeout(self.pace.hold_ms)

    async def say(self, message: str, answer: str) -> None:
        box = self.page.get_by_label("Tell me what to do")
        await box.press_sequentially(message, delay=self.pace.typing_ms)
        await box.press("Enter")
        await expect(self.page.locator(".chat-text")).to_contain_text(answer)

    async def play(self) -> None:
        """The story, from the sign-in page the browser shows now."""
        page = self.page
        await self.caption(STEPS[0])
        await page.get_by_role("link", name="Sign up").click()
        await page.get_by_label("Email").fill(f"demo-{uuid.uuid4().hex[:8]}@example.com")
        await page.get_by_label("Password").fill(secrets.token_urlsafe(12))
        await self.hold()
        await page.get_by_role("button", name="Create account").click()
        await expect(page.get_by_role("heading", name="Your tasks")).to_be_visible()

        await self.caption(STEPS[1])
        await self.say("water the plants every day at 8am #home !high", "Added “water the plants”")
        await self.hold()

        await self.caption(STEPS[2])
        fires = reminder_time(datetime.now(ZoneInfo(ZONE)))
        due = fires + timedelta(minutes=1)
        await self.say(f"call mum at {due:%H:%M}, remind me 1 minute before", "Added “call mum”")
        await self.hold()

        await self.caption(STEPS[3])
        await page.get_by_role("link", name="Back to tasks").click()
        await expect(page.locator("body")).to_have_attribute("data-live", "connected")
        plants = page.locator("li.task", has_text="water the plants")
        await expect(plants).to_have_count(1)
        await page.get_by_role("button", name="Complete “water the plants”").click()
        # The recurring service makes the next one from the completion; the list shows it live.
        await expect(plants).to_have_count(2, timeout=EVENTUAL_MS)
        await self.hold()

        await self.caption(STEPS[4])
        await page.evaluate("window.scrollTo(0, 0)")  # where the reminder will show
        await expect(page.locator("body")).to_have_attribute("data-live", "connected")
        wait_ms = (fires - datetime.now(UTC)).total_seconds() * 1000 + EVENTUAL_MS
        toast = page.locator("#reminder-toasts .toast")
        await expect(toast).to_have_text(
            re.compile(r"^Reminder: call mum"), timeout=max(wait_ms, EVENTUAL_MS)
        )
        await toast.scroll_into_view_if_needed()
        await self.hold()

        await self.caption(STEPS[5])
        completed = page.locator('section[data-group="completed"] li.task')
        await completed.get_by_role("link", name="History of “water the plants”").click()
        rows = page.locator("table.history tbody tr")
        # The audit service writes the history from the events: reload until it has caught up.
        deadline = time.monotonic() + EVENTUAL_MS / 1000
        while await rows.count() < 2 and time.monotonic() < deadline:
            await page.reload()
        await expect(rows.locator("td:nth-child(2)")).to_have_text(["Created", "Completed"])
        await self.hold()

        await self.caption(STEPS[6])
        await page.goto(f"{self.url}/docs")
        title = page.get_by_role("heading", name=re.compile(r"^todo-platform"), level=1)
        await expect(title).to_be_visible()
        opened = time.time()
        await page.locator(".opblock-summary", has_text="/chat").first.click()
        await expect(page.get_by_role("button", name="Try it out")).to_be_visible()
        # The video must end on the docs, opened, not on a paint from before they loaded.
        await self.cast.painted_after(opened)
        await self.hold()


def reminder_time(now: datetime) -> datetime:
    """The first whole minute at least REMINDER_LEAD after `now`."""
    earliest = now + REMINDER_LEAD
    minute = earliest.replace(second=0, microsecond=0)
    return minute if minute == earliest else minute + timedelta(minutes=1)


async def align_clock(seconds_to_reminder: float) -> None:
    """Wait until the reminder step, `seconds_to_reminder` after the recording starts, falls
    at REMINDER_SECOND of a minute: its reminder then fires about 20 s later, right after the
    completion step, instead of anywhere up to a minute later."""
    late = (time.time() + seconds_to_reminder - REMINDER_SECOND) % 60
    await asyncio.sleep((60 - late) % 60)


@dataclass(frozen=True)
class Result:
    video: Path
    probe: Probe
    captions: list[tuple[float, str]]  # (seconds into the video, caption)


async def record(out: Path, *, short: bool, log_dir: Path) -> Result:
    pace = Pace.of(short)
    # Every wait on the page gets this deadline (Playwright's default, 5 s, is short for a
    # machine whose cores other jobs share).
    expect.set_options(timeout=STEP_DEADLINE_MS)
    run = LocalRun(f"sqlite+aiosqlite:///{log_dir / 'demo.db'}", log_dir)
    run.start()
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000
            )
            try:
                context = await browser.new_context(
                    timezone_id=ZONE,
                    locale="en-GB",
                    viewport={"width": WIDTH, "height": HEIGHT},
                )
                context.set_default_timeout(STEP_DEADLINE_MS)
                await context.grant_permissions(["notifications"], origin=run.url)
                await context.add_init_script(CAPTION_SCRIPT)
                page = await context.new_page()
                await align_clock(pace.reminder_step_s)
                # Recording starts on the first page (the sign-in form), not on about:blank.
                await page.goto(f"{run.url}/")
                await expect(page.get_by_role("link", name="Sign up")).to_be_visible()
                cast = Screencast(page, WIDTH, HEIGHT)
                await cast.start()
                story = Story(page, cast, run.url, pace)
                try:
                    await story.play()
                finally:
                    await cast.stop()
            finally:
                await browser.close()
    finally:
        run.stop()
    assert cast.ended_at is not None
    assemble(cast.frames, cast.ended_at, out, log_dir / "frames")
    start = cast.frames[0][0]
    captions = [(max(at - start, 0.0), text) for at, text in story.captions]
    return Result(out, probe(out), captions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--short", action="store_true", help="short pauses (the test's run)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="todo-demo-") as work:
        result = asyncio.run(record(args.out, short=args.short, log_dir=Path(work)))
    seconds = result.probe.duration
    print(f"{result.video}: {seconds:.1f} s, {result.probe.frames} frames")
    for at, text in result.captions:
        print(f"  {math.floor(at // 60)}:{at % 60:04.1f}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
