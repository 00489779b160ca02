"""RabbitMQ source (type ``rabbitmq``): consume a queue, publish with ``write()``.

See docs/connectors/rabbitmq.md for every option.
"""

from openconnector.connectors.rabbitmq.config import RabbitRead, RabbitSource, RabbitTarget
from openconnector.connectors.rabbitmq.connector import RabbitMQConnector

__all__ = ["RabbitMQConnector", "RabbitRead", "RabbitSource", "RabbitTarget"]
