from __future__ import annotations

from pathlib import Path

import pytest

from openconnector.connectors import get_connector
from openconnector.connectors.files import FilesConnector


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


@pytest.fixture
def files(drop: Path) -> FilesConnector:
    cls = get_connector("files")
    connector = cls("drop", cls.Source.model_validate({"type": "files", "location": str(drop)}))
    assert isinstance(connector, FilesConnector)
    return connector
