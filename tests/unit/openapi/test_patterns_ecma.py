"""The document's patterns mean under ECMA-262 what the server's rules say (issue 8, item 17).

OpenAPI 3.1 patterns are JSON Schema's, that is ECMA-262 regular expressions (with the "u" flag,
as JSON Schema validators such as Ajv compile them), not Python's: `\\s` and `$` differ. Each
pattern is run by Node's own engine against tricky strings, and its verdict (with the schema's
length bounds, counted in code points as JSON Schema does) must be the server's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Annotated, Any, get_args

import pytest
from pydantic import StringConstraints, TypeAdapter, ValidationError

from learning_sessions.domain.errors import BadRequest, PreconditionFailed
from learning_sessions.domain.etags import IF_MATCH_PATTERN, check_if_match
from learning_sessions.domain.schemas import Description, Difficulty, RequestDateTime, Title
from learning_sessions.http.api import IdempotencyKey

Verdict = Callable[[str], bool]

_NODE_SCRIPT = """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const verdicts = input.patterns.map((p) => {
  const re = new RegExp(p, "u");
  return input.strings.map((s) => re.test(s));
});
process.stdout.write(JSON.stringify(verdicts));
"""

WHITESPACE_AND_LOOKALIKES = [
    "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85", "\xa0", "\u1680",
    "\u180e", "\u2000", "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff",
]  # fmt: skip
TEXTS = [
    "",
    "a",
    "Learn Flask",
    "\x00",
    "a\x00b",
    "\ud800",
    "a\udfffb",
    "\U0001f600",
    " \U0001f600 ",
    "a\n",
    "\na",
    "x" * 50,
    "x" * 51,
    "x" * 200,
    "x" * 201,
    "\U0001f600" * 200,
    *WHITESPACE_AND_LOOKALIKES,
    *(f"{c}{c}" for c in WHITESPACE_AND_LOOKALIKES),
    *(f"{c}x{c}" for c in WHITESPACE_AND_LOOKALIKES),
]
# Calendar-valid values only: a pattern cannot know that 2025-02-30 does not exist (the README
# says the server refuses it besides the pattern).
DATETIMES = [
    "2025-01-01T10:00:00Z",
    "2025-01-01T10:00:00z",
    "2025-01-01t10:00:00Z",
    "2025-01-01T10:00:00",
    "2025-01-01T10:00:00.1Z",
    "2025-01-01T10:00:00.123456+05:30",
    "2025-01-01T10:00:00.1234567Z",
    "2025-01-01T10:00:00.Z",
    "2025-01-01T10:00:00-00:00",
    "2025-01-01T23:59:59+23:59",
    "2025-01-01T10:00:00+24:00",
    "2025-01-01T10:00:00+01",
    "2025-01-01T10:00:00+0100",
    "2025-01-01T24:00:00Z",
    "2025-01-01T10:60:00Z",
    "2025-01-01T10:00:60Z",
    "2025-13-01T10:00:00Z",
    "2025-00-01T10:00:00Z",
    "2025-01-00T10:00:00Z",
    "2025-01-32T10:00:00Z",
    "0000-01-01T10:00:00Z",
    "0001-01-01T10:00:00",
    "9999-12-31T23:59:59.999999Z",
    "2025-01-01",
    "2025-W01-1",
    "2025-001",
    "20250101T100000Z",
    "2025-01-01 10:00:00Z",
    "2025-01-01T10:00Z",
    "2025-01-01T10:00:00Z\n",
    "\n2025-01-01T10:00:00Z",
    " 2025-01-01T10:00:00Z",
    "\u0662025-01-01T10:00:00Z",
    "2025-01-01T10:00:00\u00a0Z",
    "2025-01-01T10:00:00\ud800",
]
IF_MATCH = [
    "*",
    " * ",
    '"1.2"',
    'W/"1.2"',
    '"1.2", "3.4"',
    '"1.2",W/"3.4"',
    '\t"1.2"\t',
    '"1.2"\n',
    '\n"1.2"',
    '\x0b"1.2"',
    '\xa0"1.2"',
    '\ufeff"1.2"',
    '\x1f"1.2"',
    '"1.2" "3.4"',
    "1.2",
    "**",
    '"a\udfffb"',
    '"\U0001f600"',
    "",
]
# The header's own constraints, as the resolver applies them.
IDEMPOTENCY_KEY_HEADER = get_args(IdempotencyKey)[1]
IDEMPOTENCY_KEYS = [
    "k",
    "key-1",
    "a b",
    "\tkey",
    "key\x00",
    "\x00",
    "key\n",
    "\x1f",
    "\x7f",
    "\x80",
    "\xff",
    "\u00e9t\u00e9",
    "\U0001f600",
    "k" * 255,
    "k" * 256,
    "",
]


def _accepts(adapter: TypeAdapter[Any]) -> Verdict:
    def verdict(value: str) -> bool:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    return verdict


def _if_match_accepted(value: str) -> bool:
    # Both checks the server makes: the header's pattern (Pydantic, at validation) and the parser.
    if not _accepts(TypeAdapter(Annotated[str, StringConstraints(pattern=IF_MATCH_PATTERN, max_length=1024)]))(value):
        return False
    try:
        check_if_match(value, {"id": 1, "version": 2})
    except BadRequest:
        return False
    except PreconditionFailed:  # a 412: the header was understood
        return True
    return True


# Where a pattern sits in the document -> the server's own verdict and the strings to try.
SERVER_RULES: dict[str, tuple[Verdict, list[str]]] = {
    "title": (_accepts(TypeAdapter(Title)), TEXTS),
    "description": (_accepts(TypeAdapter(Description)), TEXTS),
    "difficulty": (_accepts(TypeAdapter(Difficulty)), TEXTS),
    "started_at": (_accepts(TypeAdapter(RequestDateTime)), DATETIMES),
    "completed_at": (_accepts(TypeAdapter(RequestDateTime)), DATETIMES),
    "if-match": (_if_match_accepted, IF_MATCH),
    "idempotency-key": (_accepts(TypeAdapter(Annotated[str, IDEMPOTENCY_KEY_HEADER])), IDEMPOTENCY_KEYS),
}


def patterns(node: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every schema in the document that has a pattern, with the path of keys that leads to it."""
    if isinstance(node, dict):
        if "pattern" in node:
            yield where, node
        for key, value in node.items():
            name = str(node["name"]) if key == "schema" and "name" in node else key
            yield from patterns(value, (*where, name))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from patterns(item, (*where, str(index)))


def rule_for(where: tuple[str, ...]) -> str:
    names = [key for key in where if key in SERVER_RULES]
    assert names, f"no server rule for the pattern at {'/'.join(where)}: add it to SERVER_RULES"
    return names[-1]


def ecma_verdicts(pattern_list: list[str], strings: list[str]) -> list[list[bool]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (an ECMA-262 engine) is not installed")
    payload = json.dumps({"patterns": pattern_list, "strings": strings})  # lone surrogates as \\u escapes
    done = subprocess.run([node, "-e", _NODE_SCRIPT], input=payload, capture_output=True, text=True, check=True)
    verdicts: list[list[bool]] = json.loads(done.stdout)
    return verdicts


def document_accepts(schema: dict[str, Any], matches: bool, value: str) -> bool:
    return matches and schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))


def test_every_pattern_gives_the_servers_verdict_under_ecma_262(generated: dict[str, Any]) -> None:
    found = list(patterns(generated))
    assert {rule_for(where) for where, _ in found} == set(SERVER_RULES)
    strings = sorted({value for _, values in SERVER_RULES.values() for value in values})
    matrix = ecma_verdicts([schema["pattern"] for _, schema in found], strings)
    disagreements = []
    for (where, schema), row in zip(found, matrix, strict=True):
        server, values = SERVER_RULES[rule_for(where)]
        for value, matches in zip(strings, row, strict=True):
            if value in values and document_accepts(schema, matches, value) != server(value):
                disagreements.append(("/".join(where), value, "server accepts" if server(value) else "server refuses"))
    assert not disagreements, disagreements


def test_the_reported_titles_get_one_verdict(generated: dict[str, Any]) -> None:
    title = generated["components"]["schemas"]["SessionCreate"]["properties"]["title"]
    [verdicts] = ecma_verdicts([title["pattern"]], ["\ufeff", "\x1f", "\x85"])
    assert verdicts == [True, False, False]
    server = SERVER_RULES["title"][0]
    assert [server(value) for value in ("\ufeff", "\x1f", "\x85")] == [True, False, False]


def test_the_whitespace_class_is_what_str_strip_removes() -> None:
    import re

    from learning_sessions.domain.schemas import WHITESPACE

    whitespace = re.compile(f"[{WHITESPACE}]")
    assert [chr(c) for c in range(0x110000) if whitespace.fullmatch(chr(c))] == [
        chr(c) for c in range(0x110000) if chr(c).isspace()
    ]


def test_request_datetimes_have_no_format_that_would_refuse_a_naive_time(generated: dict[str, Any]) -> None:
    started_at = generated["components"]["schemas"]["SessionCreate"]["properties"]["started_at"]["anyOf"][0]
    assert "format" not in started_at
    assert started_at["pattern"].startswith("^")
    assert started_at["pattern"].endswith("$")
