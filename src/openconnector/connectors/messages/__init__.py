"""What the message-queue sources (RabbitMQ, Kafka) share: the ``read`` keys for message bodies,
body decoding (JSON, XML, CSV, text), TLS settings, and the :class:`QueueConnector` contract the
continuous consumer (``openconnector consume``, ``serve``) drives.

A message that cannot be decoded is never dropped: it becomes a :class:`RecordError` (quarantined
with its raw body, then acknowledged) or, with ``on_undecodable: dead_letter``, goes to the source's
dead-letter exchange/topic before it is acknowledged.
"""

from openconnector.connectors.messages.formats import (
    CsvOptions,
    DecodeError,
    Decoder,
    MessageRead,
    raw_body,
)
from openconnector.connectors.messages.queue import (
    DEAD_LETTER_HEADERS,
    MessageCounts,
    QueueConnector,
)
from openconnector.connectors.messages.tls import TLSOptions, ssl_context

__all__ = [
    "DEAD_LETTER_HEADERS",
    "CsvOptions",
    "DecodeError",
    "Decoder",
    "MessageCounts",
    "MessageRead",
    "QueueConnector",
    "TLSOptions",
    "raw_body",
    "ssl_context",
]
