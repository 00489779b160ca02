"""The whole configuration as YAML (what `openconnector validate` accepts; secrets masked)."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Response

from openconnector.api.deps import Admin, ServiceDep
from openconnector.api.masking import mask, secret_paths
from openconnector.api.models import API_ERRORS
from openconnector.config import dump_project_yaml

router = APIRouter(prefix="/api/config", tags=["configuration"], responses=API_ERRORS)


@router.get(
    "/export",
    summary="Export the configuration as YAML",
    description="Schemas inline; values written as `${VAR}` stay references; a secret written "
    "literally is masked (keep secrets in environment variables).",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/yaml": {"schema": {"type": "object", "description": "The configuration file."}}
            }
        }
    },
)
def export(service: ServiceDep, _: Admin) -> Response:
    project = service.project
    data: Any = yaml.safe_load(dump_project_yaml(project))
    shown = mask(data or {}, (), secret_paths(project))
    text = yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": 'inline; filename="openconnector.yaml"'},
    )
