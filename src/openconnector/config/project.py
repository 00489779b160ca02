"""A loaded, validated and resolved configuration: what every face and the engine work from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openconnector.config.models import MappingConfig, PipelineConfig, ProjectConfig
from openconnector.config.yamlfile import KeyPath
from openconnector.connectors import Connector, ReadBase, SourceBase


@dataclass(eq=False)
class Project:
    """Everything in the config file, checked: a ``Project`` only exists when the config is valid.

    ``sources`` and ``reads`` are the connector models (``get_connector(type).Source`` / ``.Read``)
    with ``${VAR}`` already resolved; ``schemas`` maps ``register/schema`` to the JSON Schema,
    loaded from its file (relative to the config file) or taken inline.
    """

    path: Path
    base_dir: Path
    config: ProjectConfig
    sources: dict[str, SourceBase]
    reads: dict[str, ReadBase]
    schemas: dict[str, dict[str, Any]]
    mappings: dict[str, MappingConfig]
    pipelines: dict[str, PipelineConfig]
    connectors: dict[str, type[Connector]] = field(default_factory=dict, repr=False)
    #: key path → the string as written (``${CRM_TOKEN}``), so an export never writes the secret
    references: dict[KeyPath, str] = field(default_factory=dict, repr=False)
    #: key path → hash of the value it resolved to at load time (tells an unchanged value from an edit
    #: without keeping a second copy of the secret)
    resolved: dict[KeyPath, str] = field(default_factory=dict, repr=False)

    def connector_for(self, pipeline: str) -> type[Connector]:
        """The connector class of the pipeline's source."""
        return self.connectors[self.pipelines[pipeline].source]

    def __repr__(self) -> str:
        return (
            f"Project({str(self.path)!r}, registers={sorted(self.config.registers)}, "
            f"sources={sorted(self.sources)}, pipelines={sorted(self.pipelines)})"
        )
