"""The revision template (script.py.mako): a new revision carries only what Alembic reads.

Alembic reads ``branch_labels`` and ``depends_on`` with ``getattr(module, ..., None)``
(alembic/script/base.py, ``Script.__init__``), so the template writes them only when given.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory

from app.core.db.migrate import alembic_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The project's Alembic configuration over a copy of its migrations, to write into."""
    config = alembic_config("sqlite+aiosqlite://")
    copy = tmp_path / "migrations"
    shutil.copytree(
        str(config.get_main_option("script_location")),
        copy,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    config.set_main_option("script_location", str(copy))
    return config


def test_a_new_revision_chains_onto_head_without_optional_attributes(config: Config) -> None:
    head = ScriptDirectory.from_config(config).get_current_head()
    written = command.revision(config, message="Add a column", rev_id="0900")
    assert isinstance(written, Script)
    source = Path(written.path).read_text()
    for absent in ("branch_labels", "depends_on", "Revision ID", "Create Date"):
        assert absent not in source

    loaded = ScriptDirectory.from_config(config).get_revision("0900")
    assert loaded is not None
    assert (loaded.down_revision, loaded.doc) == (head, "Add a column")
    assert (loaded.branch_labels, loaded.dependencies) == (set(), None)


def test_branch_labels_and_dependencies_are_written_when_given(config: Config) -> None:
    command.revision(
        config, message="Reporting", rev_id="0901", branch_label="reports", depends_on="0005"
    )
    loaded = ScriptDirectory.from_config(config).get_revision("reports@head")
    assert loaded is not None
    assert (loaded.revision, loaded.branch_labels, loaded.dependencies) == (
        "0901",
        {"reports"},
        "0005",
    )
