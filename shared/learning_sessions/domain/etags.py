"""Entity tags from a row's version, and If-Match preconditions (strong comparison, RFC 9110)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from learning_sessions.domain.errors import BadRequest, PreconditionFailed

# "*" or a comma-separated list of entity tags; also stated in the OpenAPI document, so written to
# mean the same in ECMA-262: whitespace is HTTP's (space and tab), not \s, and the server
# matches with fullmatch (Python's $ would also match before a final newline).
_OWS = "[ \\t]*"
# RFC 9110's etagc: visible ASCII but the quote, and obs-text (U+0080-U+00FF).
_TAG = '(W/)?"[\\x21\\x23-\\x7e\\x80-\\xff]*"'
_IF_MATCH_BODY = f"{_OWS}(\\*|{_TAG}({_OWS},{_OWS}{_TAG})*){_OWS}"
IF_MATCH_PATTERN = f"^{_IF_MATCH_BODY}$"
_IF_MATCH = re.compile(_IF_MATCH_BODY)
_ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


def etag_for(row: Mapping[Any, Any]) -> str:
    return f'"{row["id"]}.{row["version"]}"'


def check_if_match(if_match: str | None, row: Mapping[Any, Any]) -> None:
    """Raise 412 unless the If-Match header (when sent) names the row's current ETag."""
    if if_match is None:
        return
    tags = _strong_tags(if_match)
    if if_match.strip() == "*":
        return
    current = etag_for(row)
    if current not in tags:
        raise PreconditionFailed("If-Match does not match the session's current ETag", headers={"ETag": current})


def _strong_tags(header: str) -> set[str]:
    if not _IF_MATCH.fullmatch(header):
        raise BadRequest('If-Match must be "*" or a list of entity tags such as "12.3"')
    # Weak tags never match under strong comparison.
    return {f'"{opaque}"' for weak, opaque in _ENTITY_TAG.findall(header) if not weak}
