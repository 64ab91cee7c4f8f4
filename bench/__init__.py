"""The benchmark of issue 5: the project's handlers against a bare handler and FastAPI + Mangum.

Its modules import the project's test helpers (``tests``) and the layer's package
(``learning_sessions``); importing this package makes both importable, whatever the caller's
working directory.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (str(REPO_ROOT / "shared"), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
