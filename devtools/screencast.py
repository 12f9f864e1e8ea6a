"""Recording a Chromium page to a video: the DevTools screencast's frames, assembled by ffmpeg.

`Screencast` asks the page for `Page.startScreencast` frames over a CDP session and keeps each
JPEG with the time the browser painted it (a frame comes only when the page changes, so a still
page costs nothing). `assemble` hands them to Debian's ffmpeg with their real durations (the
concat demuxer) and writes a constant-rate H.264 MP4. `probe` reads a video back with ffprobe:
duration, frame count and each frame's luminance range (signalstats), which is what the demo's
test checks.

Chrome DevTools Protocol: https://chromedevtools.github.io/devtools-protocol/tot/Page/#method-startScreencast
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from playwright.async_api import CDPSession, Page

FPS: Final = 15  # enough for typing and page changes; a still page repeats its frame
FFMPEG_TIMEOUT_S: Final = 300.0
PAINT_DEADLINE_S: Final = 15.0


class ToolMissing(RuntimeError):
    """ffmpeg or ffprobe is not installed (Debian: apt-get install ffmpeg)."""


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} is not installed: apt-get install -y ffmpeg")
    return path


@dataclass
class Screencast:
    """The frames of one page, as (seconds since the epoch, JPEG bytes)."""

    page: Page
    width: int
    height: int
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    _session: CDPSession | None = None
    _acks: set[asyncio.Task[Any]] = field(default_factory=set)
    _fresh: asyncio.Event = field(default_factory=asyncio.Event)
    ended_at: float | None = None

    async def start(self) -> None:
        self._session = await self.page.context.new_cdp_session(self.page)
        self._session.on("Page.screencastFrame", self._frame)
        await self._session.send(
            "Page.startScreencast",
            {"format": "jpeg", "quality": 85, "maxWidth": self.width, "maxHeight": self.height},
        )

    async def painted_after(self, moment: float) -> None:
        """Wait until the browser has sent a frame painted after `moment` (time.time()), so the
        video holds what the page shows now and not an earlier paint."""
        async with asyncio.timeout(PAINT_DEADLINE_S):
            while not self.frames or self.frames[-1][0] <= moment:
                self._fresh.clear()
                await self._fresh.wait()

    def _frame(self, params: dict[str, Any]) -> None:
        self._fresh.set()
        self.frames.append(
            (float(params["metadata"]["timestamp"]), base64.b64decode(params["data"]))
        )
        # The browser sends the next frame only once this one is acknowledged.
        assert self._session is not None
        ack = asyncio.ensure_future(
            self._session.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        )
        self._acks.add(ack)
        ack.add_done_callback(self._acks.discard)

    async def stop(self) -> None:
        assert self._session is not None
        await self._session.send("Page.stopScreencast")
        await asyncio.gather(*self._acks, return_exceptions=True)
        await self._session.detach()
        self.ended_at = time.time()


def assemble(frames: list[tuple[float, bytes]], ended_at: float, out: Path, work: Path) -> None:
    """Write `frames` (each shown until the next; the last until `ended_at`) to the MP4 `out`."""
    if not frames:
        raise ValueError("no frames were recorded")
    ffmpeg = tool("ffmpeg")
    work.mkdir(parents=True, exist_ok=True)
    lines = []
    times = [at for at, _ in frames] + [max(ended_at, frames[-1][0] + 1 / FPS)]
    for index, (at, jpeg) in enumerate(frames):
        name = work / f"frame-{index:05d}.jpg"
        name.write_bytes(jpeg)
        lines += [f"file '{name.name}'", f"duration {max(times[index + 1] - at, 0.0):.4f}"]
    # The concat demuxer ignores the last entry's duration unless the file is listed again.
    lines.append(f"file 'frame-{len(frames) - 1:05d}.jpg'")
    listing = work / "frames.txt"
    listing.write_text("\n".join(lines) + "\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(listing),
        # Even sides for yuv420p; a constant frame rate that players and browsers all take.
        "-vf", f"fps={FPS},scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=FFMPEG_TIMEOUT_S, capture_output=True)  # noqa: S603


@dataclass(frozen=True)
class Probe:
    duration: float
    frames: int
    width: int
    height: int
    luma_ranges: list[float]  # per frame: brightest minus darkest pixel (0: a flat frame)
    luma_means: list[float]


def _json(argv: list[str]) -> Any:
    done = subprocess.run(argv, check=True, capture_output=True, timeout=FFMPEG_TIMEOUT_S)  # noqa: S603
    return json.loads(done.stdout)


def probe(video: Path) -> Probe:
    """What ffprobe reads from `video`: its stream's size, duration, frames and luminance."""
    ffprobe = tool("ffprobe")
    entries = "stream=width,height,nb_read_frames:format=duration"
    read = [ffprobe, "-v", "error", "-select_streams", "v:0", "-count_frames"]
    stream = _json([*read, "-show_entries", entries, "-of", "json", str(video)])
    # signalstats measures every decoded frame (lavfi's movie source reads the file itself).
    source = str(video).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
    luma = "frame_tags=lavfi.signalstats.YMIN,lavfi.signalstats.YMAX,lavfi.signalstats.YAVG"
    measure = [ffprobe, "-v", "error", "-f", "lavfi", "-i", f"movie='{source}',signalstats"]
    tags = [
        frame["tags"] for frame in _json([*measure, "-show_entries", luma, "-of", "json"])["frames"]
    ]
    [video_stream] = stream["streams"]
    return Probe(
        duration=float(stream["format"]["duration"]),
        frames=int(video_stream["nb_read_frames"]),
        width=int(video_stream["width"]),
        height=int(video_stream["height"]),
        luma_ranges=[
            float(t["lavfi.signalstats.YMAX"]) - float(t["lavfi.signalstats.YMIN"]) for t in tags
        ],
        luma_means=[float(t["lavfi.signalstats.YAVG"]) for t in tags],
    )
