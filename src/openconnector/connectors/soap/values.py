"""A zeep result as JSON: the rule by which SOAP responses become records.

zeep has already read the XML against the WSDL's schema, so the types are the schema's — better
than guessing from text. What remains is making its Python values JSON-able, predictably:

* a complex value is an object of its elements **and attributes**, both under their local names
  (no namespace prefixes, no ``@``); an element that is absent or ``xsi:nil`` is ``null``;
* an element the schema allows more than once (``maxOccurs > 1``) is always a list, even with one
  or no item — so a ``records`` path does not change shape between pages;
* numbers: ``xsd:int``/``integer``/``long`` are JSON integers; ``xsd:decimal`` is an integer when
  it has no fraction, else a float; booleans are ``true``/``false``;
* ``xsd:dateTime``/``date``/``time`` are ISO 8601 strings as written by the server (offset kept,
  none added); ``xsd:duration`` is an ISO 8601 duration; ``base64Binary``/``hexBinary`` are base64
  text; a ``QName`` is its ``{namespace}local`` text;
* content the schema leaves open (``xsd:any``) is turned into JSON by the shared XML rule
  (``docs/connectors/rest.md#xml-bodies``): ``{element: …}`` with ``@attributes``;
  zeep names such unnamed content ``_value_1``, ``_value_2``, … and so does this rule.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import isodate
from lxml import etree
from zeep.xsd.valueobjects import AnyObject, CompoundValue

from openconnector.connectors.http.xml import element_to_value, local_name


def _decimal(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def to_json(value: Any) -> Any:
    """``value`` (from zeep) as plain JSON-able Python, by the module's rule."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, CompoundValue):
        return {key: to_json(value[key]) for key in value}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dt.timedelta, isodate.Duration)):
        return isodate.duration_isoformat(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, etree._Element):
        return {local_name(str(value.tag)): element_to_value(value)}
    if isinstance(value, AnyObject):
        return to_json(value.value)
    return str(value)


__all__ = ["to_json"]
