"""Host-key checking: a known_hosts file or lines, and/or pinned fingerprints. An unknown key is
refused — before any password or key is sent, because asyncssh checks it during key exchange."""

from __future__ import annotations

import os
from typing import Any

import asyncssh

from openconnector.connectors.sftp.config import SftpSource


class PinnedHostKeyClient(asyncssh.SSHClient):
    """Accepts a host key that known_hosts does not list only if its fingerprint is pinned; notes
    the fingerprint it saw either way, so the refusal can tell the operator what to check."""

    def __init__(self, pins: set[str]) -> None:
        self.pins = pins
        self.seen: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.seen = key.get_fingerprint("sha256")
        return self.seen.rstrip("=") in self.pins


def known_hosts_arg(source: SftpSource) -> Any:
    """What asyncssh's ``known_hosts`` should be.

    Lines (anything with a space or newline) are parsed as known_hosts entries; otherwise it is a
    file path. With only pinned fingerprints: an empty trust list, so every key goes through
    :class:`PinnedHostKeyClient`. With neither: asyncssh's default, ``~/.ssh/known_hosts`` (and no
    file there means no key is trusted).
    """
    value = source.known_hosts
    if value is not None:
        value = value.strip()
        if "\n" in value or " " in value:
            return value.encode()
        path = os.path.expanduser(value)
        if not os.path.isfile(path):
            raise FileNotFoundError(path)
        return path
    if source.fingerprints:
        return ([], [], [])
    return ()
