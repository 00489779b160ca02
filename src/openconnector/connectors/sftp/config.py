"""The ``sources.<name>`` block of an SFTP drop folder."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from openconnector.connectors.auth import BasicAuth, SSHKeyAuth
from openconnector.connectors.files.config import RemoteSourceBase
from openconnector.connectors.files.remote import split_location

SCHEMES = {"sftp": 22}
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")


class SftpSource(RemoteSourceBase):
    type: Literal["sftp"] = "sftp"
    location: str = Field(
        min_length=1,
        description="sftp://host[:port][/folder]. No folder: the login folder; /~/in: relative to it.",
    )
    known_hosts: str | None = Field(
        None,
        description="Path of a known_hosts file, or known_hosts lines themselves. "
        "Neither this nor host_key_fingerprint: ~/.ssh/known_hosts.",
    )
    host_key_fingerprint: str | list[str] | None = Field(
        None, description="Pinned SHA256 fingerprint(s) of the server's host key, as `ssh-keygen -lf` prints."
    )

    @field_validator("location")
    @classmethod
    def _location(cls, v: str) -> str:
        split_location(v, SCHEMES)
        return v

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, v: str | list[str] | None) -> str | list[str] | None:
        for fp in [v] if isinstance(v, str) else v or []:
            if not _FINGERPRINT.match(fp.strip()):
                raise ValueError(
                    f"{fp!r} is not a SHA256 fingerprint such as "
                    "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
                )
        return v

    @model_validator(mode="after")
    def _auth(self) -> SftpSource:
        if not isinstance(self.auth, (BasicAuth, SSHKeyAuth)):
            raise ValueError("SFTP takes auth type basic (password) or ssh_key")
        return self

    @property
    def fingerprints(self) -> set[str]:
        fps = self.host_key_fingerprint
        return {f.strip().rstrip("=") for f in ([fps] if isinstance(fps, str) else fps or [])}
