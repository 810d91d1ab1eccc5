"""The journal's events table, its indexes and the triggers that keep it append-only.

Revision ID: 0001_journal_events
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_journal_events"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: a rowid alias


def upgrade() -> None:
    op.create_table(
        "journal_events",
        sa.Column("position", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False),
        sa.Column("recorded_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("position > 0", name="journal_events_position_positive"),
        sa.CheckConstraint("version > 0", name="journal_events_version_positive"),
        sa.UniqueConstraint("event_id", name="journal_events_event_id_key"),
        sa.UniqueConstraint("stream_id", "version", name="journal_events_stream_version_key"),
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION journal_events_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'journal_events is append-only: % is refused', TG_OP
                    USING HINT = 'the journal is immutable; append a correcting event instead';
            END
            $$
            """
        )
        for name, operation in (
            ("journal_events_no_update", "UPDATE"),
            ("journal_events_no_delete", "DELETE"),
            ("journal_events_no_truncate", "TRUNCATE"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON journal_events "
                "FOR EACH STATEMENT EXECUTE FUNCTION journal_events_refuse_change()"
            )
    else:
        for name, operation in (
            ("journal_events_no_update", "UPDATE"),
            ("journal_events_no_delete", "DELETE"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {operation} ON journal_events BEGIN "
                f"SELECT RAISE(ABORT, 'journal_events is append-only: {operation} is refused'); "
                "END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TABLE journal_events")
        op.execute("DROP FUNCTION journal_events_refuse_change()")
    else:
        op.execute("DROP TRIGGER journal_events_no_update")
        op.execute("DROP TRIGGER journal_events_no_delete")
        op.drop_table("journal_events")
