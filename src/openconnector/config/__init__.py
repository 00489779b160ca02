"""The configuration file: load it, check it (every problem at once), export it back to YAML.

``load_project()`` is the one entry point the CLI, the API and the engine use; a
:class:`Project` exists only when the configuration is valid.
"""

from openconnector.config.errors import ConfigError, ConfigFileNotFound, Problem
from openconnector.config.export import dump_project_yaml
from openconnector.config.loader import default_config_path, load_project
from openconnector.config.models import (
    MappingConfig,
    PipelineConfig,
    ProjectConfig,
    RegisterConfig,
    SettingsConfig,
)
from openconnector.config.project import Project

__all__ = [
    "ConfigError",
    "ConfigFileNotFound",
    "MappingConfig",
    "PipelineConfig",
    "Problem",
    "Project",
    "ProjectConfig",
    "RegisterConfig",
    "SettingsConfig",
    "default_config_path",
    "dump_project_yaml",
    "load_project",
]
