"""The HTTP transport shared by the rest, soap and graphql connectors.

A protocol's source model inherits :class:`HttpSourceBase`; its connector holds one
:class:`HttpTransport` and calls :meth:`HttpTransport.request`, which applies auth, TLS, proxy,
timeouts, retries with backoff and ``Retry-After``, the rate limit and the masked failed-call log.
:func:`decode_body` turns a response into data (JSON, or XML by the rule in :mod:`.xml`).
"""

from typing import TYPE_CHECKING

from openconnector.connectors.http.body import BodyFormat, decode_body
from openconnector.connectors.http.calllog import Call, CallLog, snippet
from openconnector.connectors.http.masking import MASK, Redactor
from openconnector.connectors.http.options import DEFAULT_RETRY_ON, HTTP_AUTH_TYPES, HttpSourceBase
from openconnector.connectors.http.ratelimit import TokenBucket
from openconnector.connectors.http.retry import backoff_delay, parse_retry_after
from openconnector.connectors.http.transport import USER_AGENT, HttpTransport
from openconnector.lazy import exports

if TYPE_CHECKING:
    from openconnector.connectors.http.xml import xml_to_dict

__all__ = [
    "DEFAULT_RETRY_ON",
    "HTTP_AUTH_TYPES",
    "MASK",
    "USER_AGENT",
    "BodyFormat",
    "Call",
    "CallLog",
    "HttpSourceBase",
    "HttpTransport",
    "Redactor",
    "TokenBucket",
    "backoff_delay",
    "decode_body",
    "parse_retry_after",
    "snippet",
    "xml_to_dict",
]

# lxml (4 MB) only for a run that meets XML
__getattr__ = exports(__name__, {"xml_to_dict": "xml"})
