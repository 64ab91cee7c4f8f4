"""Schemathesis hooks for the fuzz run."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

from learning_sessions.etags import IF_MATCH_PATTERN

_KEY_HEADER = "idempotency-key"
_MAX_KEY_LENGTH = 255
_IF_MATCH = re.compile(IF_MATCH_PATTERN)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Make every generated Idempotency-Key unique.

    The generator reuses short values ("0", "") across unrelated requests, and the same key with
    another body is rightly refused (422, tested in tests/handlers). Keys that are invalid on
    purpose (empty, too long) are left alone so that their refusal is still checked.
    """
    headers = case.headers or {}
    for name, value in list(headers.items()):
        suffix = f"-{uuid.uuid4().hex}"
        if (
            name.lower() == _KEY_HEADER
            and isinstance(value, str)
            and value
            and len(value) + len(suffix) <= _MAX_KEY_LENGTH
        ):
            headers[name] = value + suffix
        elif (
            name.lower() == "if-match" and _is_positive(case) and isinstance(value, str) and not _IF_MATCH.match(value)
        ):
            # The coverage phase puts only letters and digits in headers, so it cannot build an
            # entity tag (which is quoted) and sends e.g. `0` as "valid". Quote it: a well-formed
            # tag of no current version, which must get 412.
            headers[name] = '"' + value.replace('"', "") + '"'


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return bool(meta is not None and meta.generation.mode.is_positive)
