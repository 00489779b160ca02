"""Certificates for TLS tests, generated per session with trustme (nothing checked in)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass
class Pki:
    ca: trustme.CA
    server_cert: trustme.LeafCert
    ca_pem: Path  # trusts the server, and signed the client certificate
    client_cert: Path
    client_key: Path
    client_pem: Path  # certificate and key in one file
    other_ca_pem: Path  # a CA that signed nothing here: verification against it fails

    def server_context(self, require_client_cert: bool = False) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(ctx)
        if require_client_cert:
            self.ca.configure_trust(ctx)
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx


def make_pki(folder: Path) -> Pki:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client.openconnector.test")
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    client_cert, client_key, client_pem = folder / "client.crt", folder / "client.key", folder / "client.pem"
    client.cert_chain_pems[0].write_to_path(str(client_cert))
    client.private_key_pem.write_to_path(str(client_key))
    client.private_key_and_cert_chain_pem.write_to_path(str(client_pem))
    other_ca_pem = folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca_pem))
    return Pki(ca, server_cert, ca_pem, client_cert, client_key, client_pem, other_ca_pem)


__all__ = ["Pki", "make_pki"]
