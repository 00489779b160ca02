"""TLS for brokers: one block (``tls:``) with the same keys for RabbitMQ and Kafka."""

from __future__ import annotations

import ssl

from pydantic import Field, SecretStr

from openconnector.connectors.base import ConnectorError, StrictModel


class TLSOptions(StrictModel):
    """Trust and (optionally) a client certificate. ``tls: true`` means "TLS with the system CAs"."""

    ca: str | None = Field(default=None, description="CA file (PEM) to trust; default: the system's.")
    cert: str | None = Field(default=None, description="Client certificate (PEM), if the broker wants one.")
    key: str | None = Field(default=None, description="Private key of the client certificate (PEM).")
    password: SecretStr | None = Field(default=None, description="Password of the private key.")
    verify: bool = Field(default=True, description="Check the broker's certificate and name (keep on).")


def ssl_context(tls: TLSOptions) -> ssl.SSLContext:
    """Build the context; a missing or unreadable file is a :class:`ConnectorError` naming it."""
    try:
        ctx = ssl.create_default_context(cafile=tls.ca)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectorError(f"tls.ca {tls.ca!r}: cannot load the CA file ({exc})") from None
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.cert:
        password = tls.password.get_secret_value() if tls.password is not None else None
        try:
            ctx.load_cert_chain(tls.cert, tls.key, password=password)
        except (OSError, ssl.SSLError) as exc:
            raise ConnectorError(
                f"tls.cert {tls.cert!r}: cannot load the client certificate ({type(exc).__name__})"
            ) from None
    return ctx
