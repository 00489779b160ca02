"""Registers and their schemas (configuration: writes need the admin role)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Response

from openconnector import jsonutil
from openconnector.api import resources as res
from openconnector.api.deps import Admin, ServiceDep, Viewer
from openconnector.api.errors import ApiError, not_found
from openconnector.api.models import (
    API_ERRORS,
    CreateResource,
    CreateSchema,
    ErrorBody,
    ListPage,
    ResourceDoc,
    SchemaDoc,
)
from openconnector.api.responses import OrjsonResponse
from openconnector.api.service import Service
from openconnector.registers import NotFound

router = APIRouter(prefix="/api/registers", tags=["registers"], responses=API_ERRORS)

SECTION = "registers"


def _page(results: list[Any]) -> dict[str, Any]:
    return {"results": results, "total": len(results), "limit": len(results), "offset": 0}


def _register_meta(service: Service, name: str) -> dict[str, Any]:
    return {
        "schemas": sorted(k.split("/", 1)[1] for k in service.project.schemas if k.startswith(f"{name}/"))
    }


@router.get("", response_model=ListPage[ResourceDoc], summary="List registers")
def list_registers(service: ServiceDep, _: Viewer) -> OrjsonResponse:
    return OrjsonResponse(_page(res.list_blocks(service, SECTION, _register_meta)))


@router.post("", response_model=ResourceDoc, status_code=201, summary="Create a register")
def create_register(service: ServiceDep, _: Admin, body: CreateResource) -> OrjsonResponse:
    res.put_block(service, SECTION, body.name, body.config, create=True)
    return OrjsonResponse(_one(service, body.name), status_code=201)


def _one(service: Service, name: str) -> dict[str, Any]:
    return res.present(service, SECTION, name, res.get_block(service, SECTION, name), _register_meta)


@router.get("/{register}", response_model=ResourceDoc, responses={404: {"model": ErrorBody}})
def get_register(register: str, service: ServiceDep, _: Viewer) -> OrjsonResponse:
    return OrjsonResponse(_one(service, register))


@router.put("/{register}", response_model=ResourceDoc, summary="Create or replace a register")
def put_register(
    register: str, service: ServiceDep, _: Admin, body: dict[str, Any] = Body(...)
) -> OrjsonResponse:
    created = res.put_block(service, SECTION, register, body)
    return OrjsonResponse(_one(service, register), status_code=201 if created else 200)


@router.delete("/{register}", status_code=204, response_class=Response)
def delete_register(register: str, service: ServiceDep, _: Admin) -> Response:
    res.delete_block(service, SECTION, register)
    return Response(status_code=204)


# -- schemas ----------------------------------------------------------------------------------------


def _schema_spec(service: Service, register: str, name: str) -> Any:
    block = res.get_block(service, SECTION, register)
    schemas = block.get("schemas") if isinstance(block, dict) else None
    if not isinstance(schemas, dict) or name not in schemas:
        raise not_found(f"schema {register}/{name} does not exist")
    return schemas[name]


def _schema_doc(service: Service, register: str, name: str, spec: Any) -> dict[str, Any]:
    key = f"{register}/{name}"
    try:
        stored = service.store.get_schema(register, name)
    except NotFound:
        stored = {"version": None, "hash": None, "updated_at": None}
    return {
        "register": register,
        "name": name,
        "version": stored["version"],
        "hash": stored["hash"],
        "schema": service.project.schemas.get(key, {}),
        "updated_at": stored["updated_at"],
        "file": spec if isinstance(spec, str) else None,
    }


@router.get("/{register}/schemas", response_model=ListPage[SchemaDoc], summary="List a register's schemas")
def list_schemas(register: str, service: ServiceDep, _: Viewer) -> OrjsonResponse:
    block = res.get_block(service, SECTION, register)
    schemas = block.get("schemas") if isinstance(block, dict) else None
    items = schemas if isinstance(schemas, dict) else {}
    return OrjsonResponse(_page([_schema_doc(service, register, str(n), s) for n, s in items.items()]))


@router.get("/{register}/schemas/{schema}", response_model=SchemaDoc, responses={404: {"model": ErrorBody}})
def get_schema(register: str, schema: str, service: ServiceDep, _: Viewer) -> OrjsonResponse:
    spec = _schema_spec(service, register, schema)
    return OrjsonResponse(_schema_doc(service, register, schema, spec))


def _write_schema(
    service: Service, register: str, name: str, schema: dict[str, Any], create: bool | None
) -> bool:
    created = False

    def change(raw: dict[str, Any]) -> dict[Path, bytes] | None:
        nonlocal created
        regs = raw.get(SECTION)
        if not isinstance(regs, dict) or register not in regs:
            raise not_found(f"register {register!r} does not exist")
        block = regs[register]
        if not isinstance(block, dict):
            block = regs[register] = {}
        schemas = block.get("schemas")
        if not isinstance(schemas, dict):
            schemas = block["schemas"] = {}
        if create is True and name in schemas:
            raise ApiError(409, "exists", f"schema {register}/{name} exists already; PUT replaces it")
        created = name not in schemas
        spec = schemas.get(name)
        schemas[name] = schema  # validated inline; a schema kept in its own file is written there
        if isinstance(spec, str):
            path = Path(spec).expanduser()
            path = path if path.is_absolute() else service.config.path.parent / path
            return {path: jsonutil.dumps(schema) + b"\n"}
        return None

    # A schema kept in its own file: the change is that file; the config file stays as it is.
    try:
        spec = _schema_spec(service, register, name)
    except ApiError:
        spec = None
    res.update(service, change, write_config=not isinstance(spec, str))
    return created


@router.post("/{register}/schemas", response_model=SchemaDoc, status_code=201, summary="Add a schema")
def create_schema(register: str, service: ServiceDep, _: Admin, body: CreateSchema) -> OrjsonResponse:
    _write_schema(service, register, body.name, body.schema_, create=True)
    spec = _schema_spec(service, register, body.name)
    return OrjsonResponse(_schema_doc(service, register, body.name, spec), status_code=201)


@router.put(
    "/{register}/schemas/{schema}",
    response_model=SchemaDoc,
    summary="Create or replace a schema (the body is the JSON Schema)",
)
def put_schema(
    register: str, schema: str, service: ServiceDep, _: Admin, body: dict[str, Any] = Body(...)
) -> OrjsonResponse:
    created = _write_schema(service, register, schema, body, create=None)
    spec = _schema_spec(service, register, schema)
    return OrjsonResponse(_schema_doc(service, register, schema, spec), status_code=201 if created else 200)


@router.delete("/{register}/schemas/{schema}", status_code=204, response_class=Response)
def delete_schema(register: str, schema: str, service: ServiceDep, _: Admin) -> Response:
    def change(raw: dict[str, Any]) -> None:
        regs = raw.get(SECTION)
        block = regs.get(register) if isinstance(regs, dict) else None
        schemas = block.get("schemas") if isinstance(block, dict) else None
        if not isinstance(schemas, dict) or schema not in schemas:
            raise not_found(f"schema {register}/{schema} does not exist")
        del schemas[schema]

    res.update(service, change)
    return Response(status_code=204)
