from __future__ import annotations

from typing import Any

import pytest

from tools import openapi


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return openapi.build_document()
