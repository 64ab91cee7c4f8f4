"""Bring the database schema up to date before the first request, as a deploy would."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

LOG = logging.getLogger(__name__)


class MigrationError(Exception):
    pass


def upgrade_head(project_dir: Path, env: Mapping[str, str]) -> bool:
    """Run ``alembic upgrade head`` with ``env``; False when the project has no alembic.ini.

    A subprocess, not the alembic API: migrations/env.py imports the service's own modules,
    which belong to the functions' environments, not to this server's.
    """
    ini = project_dir / "alembic.ini"
    if not ini.is_file():
        LOG.warning("No %s: skipping migrations", ini)
        return False
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        cwd=project_dir,
        env=dict(env),
        # stdout is reserved for the one "Serving ..." line; alembic's chatter goes to the log.
        stdout=sys.stderr,
        check=False,
    )
    if result.returncode != 0:
        raise MigrationError(f"alembic upgrade head failed with exit status {result.returncode}")
    return True
