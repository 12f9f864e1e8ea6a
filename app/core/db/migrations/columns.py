"""Column shapes that several revisions share.

Released revisions call these, so what each builds is frozen history: a change would make a fresh
database differ from every deployed one (tests/db/test_migrations.py compares what the revisions
build on PostgreSQL with the record in tests/db/schema_postgres.txt). A revision that needs another
shape writes its own. Nothing here may import the models: a revision's effect must not follow
later changes of the app.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa


def owner_column(*, primary_key: bool = False) -> sa.Column[uuid.UUID]:
    """``owner_id``: the user a row belongs to; the row is deleted with its user."""
    return sa.Column(
        "owner_id",
        sa.Uuid(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=primary_key,
        nullable=False,
    )


def row_number_column() -> sa.Column[int]:
    """``id``: a 64-bit number the database gives each new row, in insertion order.

    INTEGER on SQLite, which numbers the rows itself only in an INTEGER primary key.
    """
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    )
