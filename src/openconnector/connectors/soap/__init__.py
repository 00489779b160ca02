"""The ``soap`` source type: WSDL operations called with zeep over the shared HTTP transport."""

from openconnector.connectors.soap.connector import SoapConnector, ZeepBridge
from openconnector.connectors.soap.options import SoapRead, SoapSource, WsSecurity
from openconnector.connectors.soap.values import to_json
from openconnector.connectors.soap.wsdl import forget_documents

__all__ = [
    "SoapConnector",
    "SoapRead",
    "SoapSource",
    "WsSecurity",
    "ZeepBridge",
    "forget_documents",
    "to_json",
]
