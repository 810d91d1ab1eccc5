"""Status listener watermarks: where each broker port's history polling resumes.

Revision ID: 0003_listener_watermarks
Revises: 0002_projection_checkpoints
Create Date: 2026-11-24

Derived data like the projection checkpoints: losing a row costs one full read of that
port's history, never a fact (the listener's events are idempotent by deal ticket and order).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_listener_watermarks"
down_revision: str | Sequence[str] | None = "0002_projection_checkpoints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listener_watermarks",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("listener_watermarks")
