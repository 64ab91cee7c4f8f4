"""Create the learning_sessions table and the indexes that serve its list order.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learning_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("difficulty", sa.String(50), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        # A CHECK, not a native ENUM: `downgrade base` then leaves no type behind on Postgres.
        sa.CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed')", name=op.f("ck_learning_sessions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_sessions")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_learning_sessions_created_at_id", "learning_sessions", ["created_at", "id"])
    op.create_index("ix_learning_sessions_status_created_at_id", "learning_sessions", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_learning_sessions_status_created_at_id", table_name="learning_sessions")
    op.drop_index("ix_learning_sessions_created_at_id", table_name="learning_sessions")
    op.drop_table("learning_sessions")
