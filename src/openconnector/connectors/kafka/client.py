"""aiokafka client settings from the source block, and aiokafka's errors as messages a user can act
on (which brokers, which user, which group; never the password)."""

from __future__ import annotations

import ssl
from typing import Any

import aiokafka.errors as kerr

from openconnector.connectors.auth import SASLAuth
from openconnector.connectors.base import ConnectorError
from openconnector.connectors.kafka.config import KafkaSource
from openconnector.connectors.messages import ssl_context


def client_kwargs(source: KafkaSource) -> dict[str, Any]:
    """Keyword arguments every aiokafka client of this source gets."""
    tls = source.tls_options
    auth = source.auth
    kw: dict[str, Any] = {
        "bootstrap_servers": source.servers,
        "client_id": source.client_id,
        "request_timeout_ms": int(source.request_timeout * 1000),
        "retry_backoff_ms": 200,
    }
    if tls is not None:
        kw["ssl_context"] = ssl_context(tls)
    if isinstance(auth, SASLAuth):
        kw["security_protocol"] = "SASL_SSL" if tls is not None else "SASL_PLAINTEXT"
        kw["sasl_mechanism"] = auth.mechanism
        kw["sasl_plain_username"] = auth.username
        kw["sasl_plain_password"] = auth.password.get_secret_value()
    else:
        kw["security_protocol"] = "SSL" if tls is not None else "PLAINTEXT"
    return kw


def start_error(exc: BaseException, source: KafkaSource) -> ConnectorError:
    """Why a client could not start (bootstrap, login)."""
    brokers = ", ".join(source.servers)
    auth = source.auth
    login = f"SASL {auth.mechanism} login of user {auth.username!r}" if isinstance(auth, SASLAuth) else None
    if isinstance(exc, (kerr.SaslAuthenticationFailed, kerr.AuthenticationFailedError)) or (
        login and isinstance(exc, KeyError)  # aiokafka's SCRAM parser on the broker's refusal
    ):
        return ConnectorError(
            f"Kafka at {brokers} refused the {login or 'login'}: wrong username or password"
        )
    if isinstance(exc, kerr.UnsupportedSaslMechanismError):
        return ConnectorError(
            f"Kafka at {brokers} does not offer SASL mechanism {getattr(auth, 'mechanism', '')}"
        )
    if isinstance(exc, (kerr.TopicAuthorizationFailedError, kerr.GroupAuthorizationFailedError)):
        return ConnectorError(f"Kafka at {brokers} denied access: {type(exc).__name__} ({exc})")
    if isinstance(exc, ssl.SSLError):
        return ConnectorError(f"TLS with Kafka at {brokers} failed: {exc.reason or exc}")
    if isinstance(exc, kerr.KafkaConnectionError):
        if login:
            return ConnectorError(
                f"cannot connect to Kafka at {brokers}, or it closed the connection during the {login} "
                "(wrong username or password, or SASL not enabled on that listener)",
                retryable=True,
            )
        return ConnectorError(f"cannot connect to Kafka at {brokers}: {exc}", retryable=True)
    if isinstance(exc, kerr.KafkaError):
        return ConnectorError(f"Kafka at {brokers}: {type(exc).__name__}: {exc}", retryable=True)
    if isinstance(exc, TimeoutError):
        return ConnectorError(f"no answer from Kafka at {brokers} in time", retryable=True)
    return ConnectorError(f"Kafka at {brokers}: {type(exc).__name__}: {exc}", retryable=True)
