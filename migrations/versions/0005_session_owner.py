"""Every session belongs to its creator: an owner column, and list indexes that lead with it.

Existing sessions are given the owner named by MIGRATION_BACKFILL_OWNER (default "local-user",
the local server's user when authentication is off, so a local database stays visible to
`make dev`). A deployed stack whose existing sessions belong to one person sets it to that
person's `sub` before the upgrade.

The steps are the ones that stay safe on a large, live Postgres table:
1. add the column nullable: a catalog change only, no table rewrite;
2. backfill in bounded batches, so no statement updates (and locks, and writes WAL for) the
   whole table at once; the loop also picks up rows inserted meanwhile by code without an owner;
3. CHECK (owner IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT: the scan that proves the rule
   runs under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on, instead of under the
   ACCESS EXCLUSIVE lock that SET NOT NULL holds while it scans; SET NOT NULL then trusts the
   validated CHECK (Postgres 12+) and does not scan again, and the CHECK is dropped;
4. the new indexes, then the old ones dropped.
How much of this keeps locks short depends on where the transactions end: functions/migrate runs
all of `upgrade head` in ONE transaction (so a failure leaves nothing half-done), and there every
lock taken is held until the end. The steps above are then still bounded per statement, and they
are what a transaction-per-step run needs.

Indexes are built with a plain CREATE INDEX, not CONCURRENTLY: CONCURRENTLY cannot run inside a
transaction, and alembic's autocommit_block cannot work inside the migrate function's one
transaction (it would have to commit it half way). A plain build blocks writes (not reads) while
it runs. For a table too large for that, an operator adds the nullable column and builds the two
indexes CONCURRENTLY by hand beforehand, under the same names; the upgrade then finds them
(IF NOT EXISTS) and only backfills, constrains and drops the old indexes.

SQLite cannot change a column's nullability in place: batch mode rebuilds the table.

Downgrade drops the owner: every session becomes visible to everyone again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_BACKFILL_OWNER = "local-user"
DEFAULT_BATCH_SIZE = 10_000

_TABLE = "learning_sessions"
_OLD_INDEXES = {
    "ix_learning_sessions_created_at_id": ["created_at", "id"],
    "ix_learning_sessions_status_created_at_id": ["status", "created_at", "id"],
}
_NEW_INDEXES = {
    "ix_learning_sessions_owner_created_at_id": ["owner", "created_at", "id"],
    "ix_learning_sessions_owner_status_created_at_id": ["owner", "status", "created_at", "id"],
}
_NOT_NULL_CHECK = "ck_learning_sessions_owner_not_null"


def backfill_owner() -> str:
    owner = os.environ.get("MIGRATION_BACKFILL_OWNER") or DEFAULT_BACKFILL_OWNER
    if len(owner) > 255:
        raise ValueError("MIGRATION_BACKFILL_OWNER must be at most 255 characters (the owner column's size)")
    return owner


def batch_size() -> int:
    size = int(os.environ.get("MIGRATION_BACKFILL_BATCH_SIZE") or DEFAULT_BATCH_SIZE)
    if size < 1:
        raise ValueError("MIGRATION_BACKFILL_BATCH_SIZE must be at least 1")
    return size


def _backfill(owner: str, size: int) -> None:
    # The subquery bounds each UPDATE to `size` rows; Postgres has no UPDATE ... LIMIT.
    statement = sa.text(
        f"UPDATE {_TABLE} SET owner = :owner WHERE id IN (SELECT id FROM {_TABLE} WHERE owner IS NULL LIMIT :size)"
    )
    connection = op.get_bind()
    while connection.execute(statement, {"owner": owner, "size": size}).rowcount:
        pass


@contextmanager
def _rebuilt_sqlite_table() -> Iterator[BatchOperations]:
    """Batch mode on SQLite, keeping what makes ids never reused after a delete.

    The rebuilt table must be AUTOINCREMENT again, and its sqlite_sequence high-water mark must
    survive the copy: the copy only knows the highest id still present, not a deleted higher one.
    """
    connection = op.get_bind()
    sequence = sa.text("SELECT seq FROM sqlite_sequence WHERE name = :table")
    high_water = connection.execute(sequence, {"table": _TABLE}).scalar()
    with op.batch_alter_table(_TABLE, recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
        yield batch
    if high_water is not None:
        connection.execute(
            sa.text("UPDATE sqlite_sequence SET seq = MAX(seq, :seq) WHERE name = :table"),
            {"seq": high_water, "table": _TABLE},
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # IF NOT EXISTS (Postgres only; SQLite has no such syntax): an operator may have added the
    # column and built the indexes CONCURRENTLY by hand beforehand (see docs/deploying.md).
    op.add_column(_TABLE, sa.Column("owner", sa.String(255), nullable=True), if_not_exists=postgres or None)
    _backfill(backfill_owner(), batch_size())
    if postgres:
        op.execute(f"ALTER TABLE {_TABLE} ADD CONSTRAINT {_NOT_NULL_CHECK} CHECK (owner IS NOT NULL) NOT VALID")
        op.execute(f"ALTER TABLE {_TABLE} VALIDATE CONSTRAINT {_NOT_NULL_CHECK}")
        op.alter_column(_TABLE, "owner", existing_type=sa.String(255), nullable=False)
        op.execute(f"ALTER TABLE {_TABLE} DROP CONSTRAINT {_NOT_NULL_CHECK}")
    else:
        with _rebuilt_sqlite_table() as batch:
            batch.alter_column("owner", existing_type=sa.String(255), nullable=False)
    for name, columns in _NEW_INDEXES.items():
        op.create_index(name, _TABLE, columns, if_not_exists=True)
    for name in _OLD_INDEXES:
        op.drop_index(name, table_name=_TABLE)


def downgrade() -> None:
    for name, columns in _OLD_INDEXES.items():
        op.create_index(name, _TABLE, columns)
    for name in _NEW_INDEXES:
        op.drop_index(name, table_name=_TABLE)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column(_TABLE, "owner")
    else:
        with _rebuilt_sqlite_table() as batch:
            batch.drop_column("owner")
