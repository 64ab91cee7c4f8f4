"""Which variables of the server's environment are the service's own settings.

`sam local` passes a shell variable to a function only when the template declares it. Settings
such as MAX_BODY_BYTES have defaults in code and are not in the template, so by that rule
`MAX_BODY_BYTES=100 make dev` would silently do nothing. The local server therefore also passes
every variable the service's settings model reads (its field aliases), taken from the model
itself so the list cannot drift from the code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

# The service's settings model, relative to the project root.
SETTINGS_MODULE = Path("shared") / "learning_sessions" / "config" / "settings.py"


def service_setting_names(project_dir: Path) -> frozenset[str]:
    """The aliases of the project's Settings model; none when the project has no such module."""
    path = project_dir / SETTINGS_MODULE
    if not path.is_file():
        return frozenset()
    spec = importlib.util.spec_from_file_location("_local_api_service_settings", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fields = module.Settings.model_fields
    return frozenset(field.alias for field in fields.values() if field.alias)


def service_settings(environ: Mapping[str, str], names: frozenset[str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name in names}
