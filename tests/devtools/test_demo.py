"""The demo video's short version, recorded for real: the local run on its embedded defaults,
the story in headless Chromium, the screencast assembled by ffmpeg; the file read back with
ffprobe (duration, frame count, no blank frames, every step captioned in order)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from devtools.chromium import CHROMIUM
from devtools.demo import STEPS, record
from devtools.screencast import FPS, ToolMissing, tool
from tests.ui.browser_support import unavailable

# A frame with less than this between its darkest and brightest pixel is blank (one flat
# colour, or a page that failed to paint); the story's pages have text and a caption bar.
BLANK_LUMA_RANGE = 40


async def test_the_short_demo_is_a_captioned_video_under_90_seconds(tmp_path: Path) -> None:
    try:
        tool("ffmpeg")
    except ToolMissing as missing:
        unavailable("ffmpeg", missing)
    if not await asyncio.to_thread(Path(CHROMIUM).exists):
        unavailable("Chromium", FileNotFoundError(CHROMIUM))

    out = tmp_path / "demo.mp4"
    result = await record(out, short=True, log_dir=tmp_path)

    video = result.probe
    assert (video.width, video.height) == (1280, 720)
    assert 10 < video.duration < 90
    # A constant rate: one frame per 1/FPS s of the story (give or take the last one).
    assert abs(video.frames - video.duration * FPS) <= 2
    assert len(video.luma_ranges) == video.frames
    assert min(video.luma_ranges) >= BLANK_LUMA_RANGE
    # The picture changes: many distinct average brightnesses, not one still image.
    assert len({round(mean) for mean in video.luma_means}) >= len(STEPS)
    assert [text for _, text in result.captions] == list(STEPS)
    moments = [at for at, _ in result.captions]
    assert moments == sorted(moments)
    assert moments[-1] < video.duration
