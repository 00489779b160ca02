"""The service fixtures (tests/triggers/service.py)."""

from tests.triggers.service import _env, project_path, server  # noqa: F401
