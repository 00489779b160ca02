"""Request dependencies: the service, and bearer-token auth by role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openconnector.api.errors import ApiError
from openconnector.api.service import Service
from openconnector.auth import Principal, Role, allows

bearer = HTTPBearer(
    auto_error=False,
    description="A token from `openconnector tokens create --role R --name N`.",
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def principal(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "this endpoint needs an 'Authorization: Bearer <token>' header "
            "(create a token with: openconnector tokens create --role viewer --name NAME)",
            headers=_CHALLENGE,
        )
    found = service.tokens.verify(credentials.credentials)
    if found is None:
        raise ApiError(401, "unauthorized", "the token is not valid (unknown or revoked)", headers=_CHALLENGE)
    return found


def require(role: Role) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not allows(who.role, role):
            raise ApiError(
                403,
                "forbidden",
                f"this needs the {role} role; token {who.name!r} has the {who.role} role",
            )
        return who

    return check


Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
