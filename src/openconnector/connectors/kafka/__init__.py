"""Kafka source (type ``kafka``): consume topics in a consumer group, produce with ``write()``.

See docs/connectors/kafka.md for every option.
"""

from openconnector.connectors.kafka.config import KafkaRead, KafkaSource, KafkaTarget
from openconnector.connectors.kafka.connector import KafkaConnector

__all__ = ["KafkaConnector", "KafkaRead", "KafkaSource", "KafkaTarget"]
