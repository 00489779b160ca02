"""Export a configuration back to YAML that :func:`load_project` accepts.

Resources managed through the HTTP API or the web UI end up here, so the export has to be safe to
commit: a value that was written as ``${CRM_TOKEN}`` is written as ``${CRM_TOKEN}`` again (as long
as it was not changed since), never as the secret it resolved to, and any other literal ``${`` is
escaped as ``$${`` so loading the export does not try to interpolate it. Schemas are written inline
by default, so the export stands alone wherever it is saved.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from openconnector.config.interpolate import digest, escape
from openconnector.config.models import ProjectConfig
from openconnector.config.project import Project
from openconnector.config.yamlfile import KeyPath


def dump_project_yaml(project_or_config: Project | ProjectConfig, *, inline_schemas: bool = True) -> str:
    """The whole configuration as YAML text.

    A bare :class:`ProjectConfig` (built by the API, say) was never interpolated: its strings are
    as written, so a ``${VAR}`` in it is a reference and is written verbatim.
    """
    if not isinstance(project_or_config, Project):
        return _yaml(_sections(project_or_config))
    project = project_or_config
    doc = _sections(project.config)
    if inline_schemas:
        for register, reg in (doc.get("registers") or {}).items():
            for name in reg.get("schemas") or {}:
                if f"{register}/{name}" in project.schemas:
                    reg["schemas"][name] = copy.deepcopy(project.schemas[f"{register}/{name}"])

    def restore(value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            original = project.references.get(path)
            if original is not None and project.resolved.get(path) == digest(value):
                return original
            return escape(value)
        if isinstance(value, dict):
            return {k: restore(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v, (*path, i)) for i, v in enumerate(value)]
        return value

    return _yaml(restore(doc, ()))


def _sections(config: ProjectConfig) -> dict[str, Any]:
    """What was set, by the names the file uses; empty sections left out."""
    doc = config.model_dump(mode="python", exclude_unset=True, by_alias=True)
    return {k: v for k, v in doc.items() if v not in ({}, None)}


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as people write them by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _yaml(doc: Any) -> str:
    return yaml.dump(
        doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110
    )
