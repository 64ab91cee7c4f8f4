"""Lambda SnapStart runtime hooks, without Powertools: what must not survive in a snapshot.

With SnapStart (template.yaml's EnableSnapStart), Lambda initialises a published version once,
snapshots the memory, and starts every new execution environment from that snapshot, possibly
hours or days later and many at a time. So:

- before the snapshot, the database engine's pooled connection is closed: a TCP connection
  restored into many environments at once would be one server session shared by all of them,
  and a dead one by then anyway;
- after a restore, cached secrets are dropped: the database password may have been rotated since
  the snapshot, and the next connection must read the current one.

The hooks register with ``snapshot_restore_py``, the module the Lambda Python runtime provides
(3.12 and later); elsewhere it does not exist and nothing is registered.
"""

from __future__ import annotations

from collections.abc import Callable

Hook = Callable[[], None]


def before_snapshot() -> None:
    """Close the pooled database connection, if a connection was ever made; never open one."""
    from learning_sessions.data.database import get_engine

    if get_engine.cache_info().currsize:
        get_engine().dispose()


def after_restore() -> None:
    """Forget cached secrets, so that the next connection reads the current password."""
    from learning_sessions.config.database_config import forget_cached_secrets

    forget_cached_secrets()


def register() -> bool:
    """Register both hooks with the runtime's snapshot_restore_py; False where it does not exist."""
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
