"""Objects of a register schema: list (filters, paging, ordering), get, create, replace, delete.

Writes are validated against the schema and versioned exactly like a pipeline's writes; the token's
name is recorded as the actor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from openconnector.api.deps import Operator, ServiceDep, Viewer
from openconnector.api.errors import ApiError, not_found
from openconnector.api.models import API_ERRORS, MAX_OFFSET, ListPage, ObjectDoc, ObjectVersion
from openconnector.api.responses import OrjsonResponse
from openconnector.api.service import Service

router = APIRouter(
    prefix="/api/objects",
    tags=["objects"],
    responses=API_ERRORS,
)

_RESERVED = {"_limit", "_offset", "_order"}


def _check_schema(service: Service, register: str, schema: str) -> None:
    if f"{register}/{schema}" not in service.project.schemas:
        raise not_found(f"schema {register}/{schema} does not exist")


def _object_in(service: Service, register: str, schema: str, object_id: str) -> dict[str, Any]:
    doc = service.store.get_object(object_id, include_deleted=False)
    meta = doc["@self"]
    if meta["register"] != register or meta["schema"] != schema:
        raise not_found(f"object {object_id} does not exist in {register}/{schema}")
    return doc


def _data(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "@self"}


@router.get(
    "/{register}/{schema}",
    response_model=ListPage[ObjectDoc],
    summary="List objects",
    description="Any query parameter not starting with `_` is an equality filter on a (dot-path) "
    "field, e.g. `?address.city=Utrecht&active=true`.",
)
def list_objects(
    register: str,
    schema: str,
    request: Request,
    service: ServiceDep,
    _: Viewer,
    limit: Annotated[int, Query(alias="_limit", ge=0, le=1000)] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=MAX_OFFSET)] = 0,
    order: Annotated[
        str | None,
        Query(alias="_order", description="Field dot-path or @self.created_at etc.; '-' for descending."),
    ] = None,
) -> OrjsonResponse:
    _check_schema(service, register, schema)
    filters: list[tuple[str, str]] = []
    for key, value in request.query_params.multi_items():
        if key.startswith("_"):
            if key not in _RESERVED:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"unknown parameter {key!r}; parameters starting with '_' are "
                    + ", ".join(sorted(_RESERVED)),
                )
            continue
        if not key:
            raise ApiError(422, "invalid_request", "a filter needs a field name")
        filters.append((key, value))
    try:
        page = service.store.list_objects(
            register, schema, filters=filters, limit=limit, offset=offset, order=order
        )
    except ValueError as exc:
        raise ApiError(
            422, "invalid_request", str(exc), [{"path": "query._order", "message": str(exc)}]
        ) from None
    return OrjsonResponse(page.as_dict())


@router.post("/{register}/{schema}", response_model=ObjectDoc, status_code=201, summary="Create an object")
def create_object(
    register: str, schema: str, service: ServiceDep, who: Operator, body: dict[str, Any] = Body(...)
) -> OrjsonResponse:
    _check_schema(service, register, schema)
    doc = service.store.save_object(register, schema, _data(body), actor=who.actor)
    return OrjsonResponse(doc, status_code=201)


@router.get("/{register}/{schema}/{object_id}", response_model=ObjectDoc, summary="Get an object")
def get_object(register: str, schema: str, object_id: str, service: ServiceDep, _: Viewer) -> OrjsonResponse:
    _check_schema(service, register, schema)
    return OrjsonResponse(_object_in(service, register, schema, object_id))


@router.get(
    "/{register}/{schema}/{object_id}/history",
    response_model=list[ObjectVersion],
    summary="Every version of an object, newest first",
)
def object_history(
    register: str, schema: str, object_id: str, service: ServiceDep, _: Viewer
) -> OrjsonResponse:
    _check_schema(service, register, schema)
    doc = service.store.get_object(object_id)
    if doc["@self"]["register"] != register or doc["@self"]["schema"] != schema:
        raise not_found(f"object {object_id} does not exist in {register}/{schema}")
    return OrjsonResponse(service.store.object_history(object_id))


@router.put("/{register}/{schema}/{object_id}", response_model=ObjectDoc, summary="Replace an object")
def put_object(
    register: str,
    schema: str,
    object_id: str,
    service: ServiceDep,
    who: Operator,
    body: dict[str, Any] = Body(...),
) -> OrjsonResponse:
    _check_schema(service, register, schema)
    _object_in(service, register, schema, object_id)
    doc = service.store.save_object(register, schema, _data(body), object_id=object_id, actor=who.actor)
    return OrjsonResponse(doc)


@router.delete(
    "/{register}/{schema}/{object_id}",
    status_code=204,
    response_class=Response,
    summary="Delete an object (its history stays)",
)
def delete_object(register: str, schema: str, object_id: str, service: ServiceDep, who: Operator) -> Response:
    _check_schema(service, register, schema)
    _object_in(service, register, schema, object_id)
    service.store.delete_object(object_id, actor=who.actor)
    return Response(status_code=204)
