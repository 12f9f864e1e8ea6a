"""The garbage-collector settings: applied by a process's own entry point, never by a test's."""

from __future__ import annotations

import gc
import subprocess
import sys

from app.core.gc_tuning import THRESHOLDS
from app.main import create_app
from tests.api.conftest import api_settings
from tests.devtools.subprocesses import REPO


def test_settling_freezes_start_up_objects_and_raises_the_thresholds() -> None:
    probe = (
        "import gc, app.main; from app.core.gc_tuning import settle_after_startup; "
        "before = gc.get_freeze_count(); settle_after_startup(); "
        "print(before, gc.get_freeze_count() > 10_000, gc.get_threshold())"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.split(maxsplit=2) == ["0", "True", f"{THRESHOLDS}\n"]


async def test_an_app_built_with_given_settings_leaves_the_collector_alone(
    tmp_path: object,
) -> None:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    app = create_app(api_settings(f"sqlite+aiosqlite:///{tmp_path}/gc.db"))
    async with app.router.lifespan_context(app):
        pass
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)
