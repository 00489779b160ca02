"""The same five routes for every configuration section kept as named blocks: list, create, get,
replace (or create), delete. Writes need the admin role and are validated like the YAML file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from openconnector.api import resources as res
from openconnector.api.deps import Admin, ServiceDep, Viewer
from openconnector.api.models import API_ERRORS, CreateResource, ErrorBody, ListPage, ResourceDoc
from openconnector.api.responses import OrjsonResponse


def section_router(section: str, extra: res.Extra | None = None) -> APIRouter:
    one = res.SINGULAR[section]
    router = APIRouter(
        prefix=f"/api/{section}",
        tags=[section],
        responses=API_ERRORS,
    )

    def doc(service: Any, name: str) -> dict[str, Any]:
        return res.present(service, section, name, res.get_block(service, section, name), extra)

    @router.get("", response_model=ListPage[ResourceDoc], summary=f"List {section}")
    def list_all(service: ServiceDep, _: Viewer) -> OrjsonResponse:
        items = res.list_blocks(service, section, extra)
        return OrjsonResponse({"results": items, "total": len(items), "limit": len(items), "offset": 0})

    @router.post(
        "",
        response_model=ResourceDoc,
        status_code=201,
        summary=f"Create a {one}",
        responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    def create(service: ServiceDep, _: Admin, body: CreateResource) -> OrjsonResponse:
        res.put_block(service, section, body.name, body.config, create=True)
        return OrjsonResponse(doc(service, body.name), status_code=201)

    @router.get(
        "/{name}", response_model=ResourceDoc, summary=f"Get a {one}", responses={404: {"model": ErrorBody}}
    )
    def get(name: str, service: ServiceDep, _: Viewer) -> OrjsonResponse:
        return OrjsonResponse(doc(service, name))

    @router.put(
        "/{name}",
        response_model=ResourceDoc,
        summary=f"Create or replace a {one} (the body is its YAML block as JSON)",
        responses={201: {"model": ResourceDoc}, 422: {"model": ErrorBody}},
    )
    def put(name: str, service: ServiceDep, _: Admin, body: dict[str, Any] = Body(...)) -> OrjsonResponse:
        created = res.put_block(service, section, name, body)
        return OrjsonResponse(doc(service, name), status_code=201 if created else 200)

    @router.delete(
        "/{name}",
        status_code=204,
        response_class=Response,
        summary=f"Delete a {one}",
        responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    def delete(name: str, service: ServiceDep, _: Admin) -> Response:
        res.delete_block(service, section, name)
        return Response(status_code=204)

    return router
