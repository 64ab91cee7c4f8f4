"""``python -m local_api.mint_token NAME`` (``make token USER=NAME``): a token of the local issuer.

The token's ``sub`` is NAME itself, so ``alice`` and ``bob`` are two users of ``AUTH=jwt make dev``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local_api import local_issuer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_api.mint_token",
        description="Print a bearer token of the local issuer (AUTH=jwt make dev). Run from the project root.",
    )
    parser.add_argument("name", help="the user: the token's sub claim")
    parser.add_argument(
        "--lifetime",
        type=int,
        default=local_issuer.DEFAULT_LIFETIME_SECONDS,
        help=f"seconds until it expires (default: {local_issuer.DEFAULT_LIFETIME_SECONDS})",
    )
    args = parser.parse_args(argv)
    name = args.name.strip()
    if not name:
        parser.error("the user name must not be empty (make token USER=alice)")
    if args.lifetime < 1:
        parser.error("--lifetime must be at least 1")
    issuer = local_issuer.load_or_create(Path.cwd())
    print(issuer.mint(name, lifetime_seconds=args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
