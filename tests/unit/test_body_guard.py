"""The body guard in front of routing: size, encoding and media type, before any parsing."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_sessions.domain.errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMediaType
from learning_sessions.http.api import parse_json_object, with_decoded_body


def event(body: str | None, *, encoded: bool = False, headers: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "body": body,
        "isBase64Encoded": encoded,
        "headers": {"content-type": "application/json", **(headers or {})},
    }


def test_limit_is_measured_in_utf8_bytes() -> None:
    body = '"' + "é" * 6 + '"'  # 8 characters, 14 bytes
    with pytest.raises(PayloadTooLarge):
        with_decoded_body(event(body), max_bytes=13)
    assert with_decoded_body(event(body), max_bytes=14)["body"] == body


def test_base64_limit_applies_to_the_decoded_size() -> None:
    raw = b'{"title":"x"}'
    encoded = base64.b64encode(raw).decode()
    assert with_decoded_body(event(encoded, encoded=True), max_bytes=len(raw))["body"] == raw.decode()
    with pytest.raises(PayloadTooLarge):
        with_decoded_body(event(encoded, encoded=True), max_bytes=len(raw) - 1)


def test_decoded_event_is_marked_plain_text() -> None:
    decoded = with_decoded_body(event(base64.b64encode(b"{}").decode(), encoded=True), max_bytes=10)
    assert decoded["isBase64Encoded"] is False


@pytest.mark.parametrize(
    ("headers", "error"),
    [({"content-type": "text/plain"}, UnsupportedMediaType), ({"content-encoding": "deflate"}, UnsupportedMediaType)],
)
def test_refusals(headers: dict[str, str], error: type[ApiError]) -> None:
    with pytest.raises(error):
        with_decoded_body(event("{}", headers=headers), max_bytes=100)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_json_constant_is_named_in_the_400(constant: str) -> None:
    with pytest.raises(BadRequest, match=f"^Request body contains {constant}, which is not JSON$"):
        parse_json_object(f'{{"difficulty": {constant}}}')


def test_no_body_passes_untouched() -> None:
    assert with_decoded_body(event(None), max_bytes=1)["body"] is None


@given(raw=st.binary(max_size=200))
@settings(max_examples=500, deadline=None)
def test_any_bytes_either_decode_and_parse_or_raise_a_client_error(raw: bytes) -> None:
    try:
        text = with_decoded_body(event(base64.b64encode(raw).decode(), encoded=True), max_bytes=150)["body"]
        assert isinstance(text, str)
        parse_json_object(text)
    except ApiError as exc:
        assert 400 <= exc.status < 500


@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
@settings(max_examples=300, deadline=None)
def test_only_json_objects_are_accepted(value: object) -> None:
    import json

    text = json.dumps(value)
    if isinstance(value, dict):
        assert parse_json_object(text) == value
    else:
        with pytest.raises(BadRequest):
            parse_json_object(text)


def test_timestamptz_parser_matches_pg8000_including_its_fallbacks() -> None:
    from pg8000 import converters

    from learning_sessions.data.pg8000_dialect import timestamptz_in

    for text in ("2025-11-12 15:30:36.737687+00", "2025-11-12 15:30:36+05:30", "1999-01-08 04:05:06.5-08"):
        assert timestamptz_in(text) == converters.timestamptz_in(text)
    for text in ("infinity", "-infinity", "294276-12-31 23:59:59+00"):
        assert timestamptz_in(text) == converters.timestamptz_in(text)
