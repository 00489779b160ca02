"""TLS settings: the context is built from the files named (errors name the file), and TLS against a
plain AMQP port fails with a message that says TLS failed, where."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from openconnector.connectors.base import ConnectorError
from openconnector.connectors.messages import TLSOptions, ssl_context
from openconnector.connectors.rabbitmq import RabbitSource
from openconnector.pipelines import run_pipeline
from tests.connectors.rabbitmq.helpers import open_project, rabbit_source, write_project


def test_ssl_context_from_files(tmp_path: Path) -> None:
    ca = trustme.CA()
    client = ca.issue_cert("client.example.org")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    ctx = ssl_context(
        TLSOptions.model_validate(
            {
                "ca": str(tmp_path / "ca.pem"),
                "cert": str(tmp_path / "client.pem"),
                "key": str(tmp_path / "client.key"),
            }
        )
    )
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert len(ctx.get_ca_certs()) == 1
    loose = ssl_context(TLSOptions.model_validate({"verify": False}))
    assert loose.verify_mode == ssl.CERT_NONE and not loose.check_hostname
    with pytest.raises(ConnectorError, match=r"tls\.ca '/nowhere/ca\.pem': cannot load the CA file"):
        ssl_context(TLSOptions.model_validate({"ca": "/nowhere/ca.pem"}))
    with pytest.raises(ConnectorError, match=r"tls\.cert .*cannot load the client certificate"):
        ssl_context(
            TLSOptions.model_validate({"cert": str(tmp_path / "ca.pem"), "key": str(tmp_path / "ca.pem")})
        )


async def test_tls_against_a_plain_port_is_a_clear_error(tmp_path: Path) -> None:
    source = rabbit_source(location="amqps://127.0.0.1:5672/", tls={"verify": False})
    project, store = open_project(write_project(tmp_path, source, {"queue": "q"}))
    r = await run_pipeline(project, store, "people")
    assert r.status == "failed"
    assert r.errors[0]["message"].startswith("TLS with RabbitMQ at 127.0.0.1:5672 failed"), r.errors
    store.dispose()
    assert RabbitSource.model_validate(rabbit_source(tls=True)).tls_options == TLSOptions()
