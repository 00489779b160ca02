"""The ``sources.<name>`` block of an FTP / FTPS drop folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from openconnector.connectors.auth import BasicAuth, NoAuth
from openconnector.connectors.files.config import RemoteSourceBase
from openconnector.connectors.files.remote import split_location

SCHEMES = {"ftp": 21, "ftps": 21}


class FtpSource(RemoteSourceBase):
    type: Literal["ftp"] = "ftp"
    location: str = Field(
        min_length=1,
        description="ftp://host[:port][/folder] (ftps:// = tls: true). No folder: the login folder.",
    )
    tls: bool = Field(
        False, description="Explicit FTPS (AUTH TLS): control and data connections are encrypted."
    )
    ca_file: str | None = Field(
        None, description="PEM file of the CA (or the server certificate) to trust; default: the system's."
    )

    @field_validator("location")
    @classmethod
    def _location(cls, v: str) -> str:
        split_location(v, SCHEMES)
        return v

    @field_validator("auth")
    @classmethod
    def _auth(cls, v: object) -> object:
        if not isinstance(v, (NoAuth, BasicAuth)):
            raise ValueError("FTP takes auth type basic (or none for anonymous)")
        return v

    @property
    def use_tls(self) -> bool:
        return self.tls or self.location.startswith("ftps://")
