"""The ``openconnector`` mapping dialect: the original PHP engine's behaviour, reproduced in Python."""

from openconnector.mapping.openconnector.engine import OpenConnectorMapping, compile_openconnector_mapping

__all__ = ["OpenConnectorMapping", "compile_openconnector_mapping"]
