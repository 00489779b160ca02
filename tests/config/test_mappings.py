"""Mapping problems found by the mapping engine's compiler land at mappings.<name>.<key path>."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from openconnector.config import ConfigError, load_project
from openconnector.config import loader as loader_module
from tests.config.conftest import WriteProject, line_of

CONFIG = """\
mappings:
  person:
    mapping:
      name: "{{ first }}"
      age: age
      address.city: city
    cast:
      age: nonsense
  other:
    mapping: {x: y}
"""


class FakeMappingConfigError(Exception):
    def __init__(self, problems: list[tuple[Any, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def test_compiler_problems_are_placed_at_their_keys(
    write_project: WriteProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The translation of the compiler's key paths, including output keys that contain dots."""
    calls: list[str] = []

    def compile_mapping(name: str, cfg: Any, resolver: Any = None) -> None:
        calls.append(name)
        assert resolver("other") is not None
        if name == "person":
            raise FakeMappingConfigError(
                [("cast.age", "unknown cast 'nonsense'"), ("mapping.address.city", "bad path"), ("", "whole")]
            )
        raise RuntimeError("compiler bug")

    monkeypatch.setattr(
        loader_module, "_mapping_api", lambda: (compile_mapping, FakeMappingConfigError, None)
    )
    path = write_project(CONFIG)
    with pytest.raises(ConfigError) as info:
        load_project(path, env={})
    got = {p.path: p for p in info.value.problems}
    assert calls == ["person", "other"]
    assert got["mappings.person.cast.age"].line == line_of(path, "age: nonsense")
    assert got["mappings.person.mapping.address.city"].line == line_of(path, "address.city:")
    assert got["mappings.person"].message == "whole"
    assert got["mappings.other"].message == "cannot be compiled: RuntimeError: compiler bug"


def _real_mapping_module() -> Any:
    try:
        module = importlib.import_module("openconnector.mapping")
    except ImportError:
        return None
    return module if hasattr(module, "compile_mapping") else None


@pytest.mark.skipif(_real_mapping_module() is None, reason="openconnector.mapping not built yet")
def test_real_compiler_rejects_an_unknown_cast(write_project: WriteProject) -> None:
    path = write_project(CONFIG.replace("  other:\n    mapping: {x: y}\n", ""))
    with pytest.raises(ConfigError) as info:
        load_project(path, env={})
    (p,) = [p for p in info.value.problems if p.path.startswith("mappings.person")]
    assert p.path == "mappings.person.cast.age" and "nonsense" in p.message
    assert p.line == line_of(path, "age: nonsense")


@pytest.mark.skipif(_real_mapping_module() is None, reason="openconnector.mapping not built yet")
def test_real_compiler_accepts_a_good_mapping(write_project: WriteProject) -> None:
    project = load_project(write_project(CONFIG.replace("nonsense", "int")), env={})
    assert set(project.mappings) == {"person", "other"}
