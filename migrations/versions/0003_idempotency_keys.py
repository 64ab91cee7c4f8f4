"""Replace idempotency_records with idempotency_keys, written in the session's own transaction.

Powertools' records were written after the session row committed, so a failed record write
left a row that the client's retry duplicated. The new table's rows are inserted in the same
transaction as the session. Records of the old table are not carried over: they hold
Powertools' own format, and a client retrying a key from before the upgrade gets a new row,
as after the key's expiry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("session_id", _IdType, nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("response_etag", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", "idempotency_key", name=op.f("pk_idempotency_keys")),
    )
    op.drop_table("idempotency_records")


def downgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("expiration", sa.BigInteger(), nullable=False),
        sa.Column("in_progress_expiration", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("validation", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
    )
    op.drop_table("idempotency_keys")
