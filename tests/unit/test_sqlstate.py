"""sqlstate() reads the server's SQLSTATE from pg8000's error, and is "" for anything else."""

from __future__ import annotations

import pg8000.dbapi
import pytest

from learning_sessions.data.pg8000_dialect import sqlstate


def test_a_server_error_gives_its_sqlstate() -> None:
    assert sqlstate(pg8000.dbapi.DatabaseError({"C": "57P01", "M": "terminating connection"})) == "57P01"


@pytest.mark.parametrize(
    "error",
    [None, RuntimeError(), RuntimeError({"C": "57P01"}), pg8000.dbapi.DatabaseError(), pg8000.dbapi.DatabaseError("x")],
    ids=["none", "other-error", "other-error-with-fields", "database-error-without-args", "database-error-text"],
)
def test_any_other_error_has_none(error: BaseException | None) -> None:
    assert sqlstate(error) == ""
