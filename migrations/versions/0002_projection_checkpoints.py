"""Projection checkpoints (the position each projection has applied) and snapshots.

Revision ID: 0002_projection_checkpoints
Revises: 0001_journal_events
Create Date: 2026-11-24

Both tables hold derived data: they can be emptied at any time and the projections rebuilt
from the journal. Snapshots are zlib-compressed canonical JSON.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_projection_checkpoints"
down_revision: str | Sequence[str] | None = "0001_journal_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("position >= 0", name="projection_checkpoints_position_ok"),
    )
    op.create_table(
        "projection_snapshots",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger(), primary_key=True),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("position >= 0", name="projection_snapshots_position_ok"),
    )


def downgrade() -> None:
    op.drop_table("projection_snapshots")
    op.drop_table("projection_checkpoints")
