"""Entity tags from a row's version, and If-Match preconditions (strong comparison, RFC 9110)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from learning_sessions.errors import BadRequest, PreconditionFailed

_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


def etag_for(row: Mapping[Any, Any]) -> str:
    return f'"{row["id"]}.{row["version"]}"'


def check_if_match(if_match: str | None, row: Mapping[Any, Any]) -> None:
    """Raise 412 unless the If-Match header (when sent) names the row's current ETag."""
    if if_match is None:
        return
    if if_match.strip() == "*":
        return
    current = etag_for(row)
    if current not in _strong_tags(if_match):
        raise PreconditionFailed("If-Match does not match the session's current ETag", headers={"ETag": current})


def _strong_tags(header: str) -> set[str]:
    tags: set[str] = set()
    position = 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None or match.end() == position:
            raise BadRequest('If-Match must be "*" or a list of entity tags such as "12.3"')
        weak, opaque = match.groups()
        if not weak:  # weak tags never match under strong comparison
            tags.add(f'"{opaque}"')
        position = match.end()
    return tags
