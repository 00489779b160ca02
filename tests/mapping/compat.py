"""Loading the original's reference cases (never copied: read from ../shared/compat at test time)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openconnector.config.models import MappingConfig

COMPAT = Path(__file__).resolve().parents[2] / ".." / "shared" / "compat"
CASES_FILE = COMPAT / "openconnector-mapping-cases.json"


def load_cases() -> list[dict[str, Any]]:
    if not CASES_FILE.exists():
        return []
    return list(json.loads(CASES_FILE.read_text())["cases"])


def require_compat() -> None:
    if not CASES_FILE.exists():
        pytest.skip(f"{CASES_FILE} is not present")


def case_config(case: dict[str, Any]) -> MappingConfig:
    m = case["mapping"]
    return MappingConfig(
        dialect="openconnector",
        mapping=m.get("mapping") or {},
        cast=m.get("cast") or {},
        unset=m.get("unset") or [],
        passThrough=bool(m.get("passThrough")),
    )


def same(actual: Any, expected: Any) -> bool:
    """The cases' notes.how_to_compare: key order ignored, types strict, an empty [] equals {}."""
    if isinstance(expected, (dict, list)) and not expected:
        return isinstance(actual, (dict, list)) and not actual
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(same(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return len(actual) == len(expected) and all(same(a, e) for a, e in zip(actual, expected, strict=True))
    return bool(actual == expected)
