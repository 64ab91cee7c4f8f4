"""If-Match parsing below the HTTP layer, where the route's header pattern does not guard it."""

from __future__ import annotations

import pytest

from learning_sessions.domain.errors import BadRequest, PreconditionFailed
from learning_sessions.domain.etags import check_if_match

ROW = {"id": 12, "version": 3}


@pytest.mark.parametrize("header", ["12.3", '"12.3', '"12.3",', "", " "])
def test_a_malformed_header_is_a_bad_request_that_says_what_is_expected(header: str) -> None:
    with pytest.raises(BadRequest) as refused:
        check_if_match(header, ROW)
    assert refused.value.message == 'If-Match must be "*" or a list of entity tags such as "12.3"'


@pytest.mark.parametrize("header", ['"12.3"', '"1.1", "12.3"', " * ", '\t"12.3" '])
def test_the_current_tag_or_a_star_passes(header: str) -> None:
    check_if_match(header, ROW)


@pytest.mark.parametrize("header", ['W/"12.3"', '"12.2"', '"12.30"', '"1.1", W/"12.3"'])
def test_anything_else_fails_the_precondition_with_the_current_tag(header: str) -> None:
    with pytest.raises(PreconditionFailed) as failed:
        check_if_match(header, ROW)
    assert failed.value.headers == {"ETag": '"12.3"'}
