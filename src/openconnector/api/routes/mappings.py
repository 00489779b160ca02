"""Mappings, and testing one against sample input without running a pipeline."""

from __future__ import annotations

from typing import Any

from openconnector.api.deps import ServiceDep, Viewer
from openconnector.api.errors import ApiError, not_found
from openconnector.api.models import ErrorBody, MappingTestRequest, MappingTestResult
from openconnector.api.responses import OrjsonResponse
from openconnector.api.routes.sections import section_router
from openconnector.registers import CompiledSchema

router = section_router("mappings")


@router.post(
    "/{name}/test",
    response_model=MappingTestResult,
    summary="Apply a mapping to sample input; validate the output against a schema",
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def test_mapping(name: str, body: MappingTestRequest, service: ServiceDep, _: Viewer) -> OrjsonResponse:
    from openconnector.mapping import MappingConfigError, compile_mapping

    project = service.project
    if name not in project.mappings:
        raise not_found(f"mapping {name!r} does not exist")
    if body.schema_ is not None and body.schema_ not in project.schemas:
        raise ApiError(
            422,
            "invalid_request",
            f"unknown schema {body.schema_!r}",
            [{"path": "body.schema", "message": f"known: {', '.join(sorted(project.schemas)) or 'none'}"}],
        )
    try:
        mapping = compile_mapping(name, project.mappings[name], resolver=project.mappings.get)
    except MappingConfigError as exc:  # pragma: no cover - the loader compiled it already
        raise ApiError(422, "invalid_mapping", str(exc)) from None
    errors: list[dict[str, Any]] = []
    valid: bool | None = None
    output: Any = None
    try:
        if body.list:
            output = mapping.apply_list(body.input)
        elif not isinstance(body.input, dict):
            raise ApiError(
                422,
                "invalid_request",
                "input must be a JSON object (a record); send list=true to map a list",
                [{"path": "body.input", "message": f"is {type(body.input).__name__}"}],
            )
        else:
            output = mapping.apply(body.input)
    except ApiError:
        raise
    except Exception as exc:
        valid = False
        errors.append({"path": getattr(exc, "key", None) or "", "message": str(exc)})
    if body.schema_ is not None and output is not None:
        compiled = CompiledSchema(project.schemas[body.schema_])
        items = output if body.list and isinstance(output, list) else [output]
        for i, item in enumerate(items):
            for e in compiled.errors(item):
                path = f"$[{i}]" + e.path[1:] if body.list else e.path
                errors.append({"path": path, "message": e.message})
        valid = not errors
    return OrjsonResponse({"output": output, "valid": valid, "errors": errors})
