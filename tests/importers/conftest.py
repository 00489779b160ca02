"""Shared helpers: where the original's real exports are, and a writer for hand-made exports."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: the upstream configurations, read where they are (they are not copied into this repository)
COMPAT = Path(
    os.environ.get("OPENCONNECTOR_COMPAT_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "compat"
)
UPSTREAM = COMPAT / "openconnector-configurations"


@pytest.fixture
def upstream() -> Path:
    if not (UPSTREAM / "xxllnc-zgw").is_dir():
        pytest.fail(f"the upstream configurations are not at {UPSTREAM} (set OPENCONNECTOR_COMPAT_DIR)")
    return UPSTREAM


Writer = Callable[[str, Any], Path]


@pytest.fixture
def export(tmp_path: Path) -> Writer:
    """``export("sources/a.json", {...})`` writes a JSON export file under ``tmp_path/exports``."""
    root = tmp_path / "exports"

    def write(name: str, doc: Any) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2), encoding="utf-8")
        return path

    write.root = root  # type: ignore[attr-defined]
    return write
