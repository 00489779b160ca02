"""Package namespaces that import their modules on first use (PEP 562).

``openconnector.registers``, ``.audit`` and ``.pipelines`` re-export their main classes. Imported
eagerly, asking for one small module of such a package (the writer process wants the batch writer,
not Alembic, Mako, pydantic and the engine) imported all of them: ~30 MB more in every helper
process, and memory is counted per run, children included.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, names: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each exported name to the module
    (relative to ``package``) that defines it."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value  # found directly from now on
        return value

    return __getattr__
