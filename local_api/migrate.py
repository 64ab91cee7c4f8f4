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
        # Collected, then passed to stderr: stdout is reserved for the one "Serving ..." line, and
        # on a known failure alembic's chatter is replaced by its one line.
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    failure = _alembic_failure(result.stdout)
    if result.returncode != 0 and failure:
        # A known failure (an unreachable database, say): alembic's own one line is the whole story.
        raise MigrationError(f"alembic upgrade head failed: {failure}")
    sys.stderr.write(result.stdout)
    if result.returncode != 0:
        raise MigrationError(f"alembic upgrade head failed with exit status {result.returncode}")
    return True


def _alembic_failure(output: str) -> str | None:
    """The message of alembic's "FAILED: ..." line (a CommandError, e.g. from migrations/env.py), if any."""
    for line in reversed(output.splitlines()):
        if line.startswith("FAILED: "):
            return line.removeprefix("FAILED: ")
    return None
