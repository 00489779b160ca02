"""The documented XML → dict rule, case by case."""

from __future__ import annotations

import pytest

from openconnector.connectors.http import xml_to_dict
from openconnector.connectors.http.xml import XMLSyntaxError


def test_attributes_text_children_and_repeats() -> None:
    doc = b"""<?xml version="1.0"?>
    <people count="2">
      <person id="1"><name>Anna</name><tag>a</tag><tag>b</tag></person>
      <person id="2"><name>Bram</name><tag>c</tag><city code="UT">Utrecht</city></person>
    </people>"""
    assert xml_to_dict(doc) == {
        "people": {
            "@count": "2",
            "person": [
                {"@id": "1", "name": "Anna", "tag": ["a", "b"]},
                {"@id": "2", "name": "Bram", "tag": "c", "city": {"@code": "UT", "#text": "Utrecht"}},
            ],
        }
    }


def test_force_list_keeps_single_elements_as_lists() -> None:
    doc = "<people><person><tag>x</tag></person></people>"
    assert xml_to_dict(doc, force_list=["person", "tag"]) == {"people": {"person": [{"tag": ["x"]}]}}


def test_empty_elements_are_none_and_text_is_kept_as_written() -> None:
    assert xml_to_dict("<r><a/><b></b><c> 42 </c><d>true</d></r>") == {
        "r": {"a": None, "b": None, "c": " 42 ", "d": "true"}
    }


def test_namespaces_are_dropped() -> None:
    doc = (
        '<s:Envelope xmlns:s="urn:soap" xmlns:x="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<s:Body><x:item xsi:type="x:T">1</x:item><item>2</item></s:Body></s:Envelope>'
    )
    assert xml_to_dict(doc) == {"Envelope": {"Body": {"item": [{"@type": "x:T", "#text": "1"}, "2"]}}}


def test_mixed_content_text_is_joined() -> None:
    assert xml_to_dict("<p>Hello <b>big</b> world</p>") == {"p": {"b": "big", "#text": "Hello  world"}}


def test_entities_are_not_resolved_and_nothing_is_fetched() -> None:
    doc = b"""<?xml version="1.0"?>
    <!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
    <r><a>&xxe;</a></r>"""
    result = xml_to_dict(doc)
    assert "root:" not in repr(result)


def test_malformed_xml_raises() -> None:
    with pytest.raises(XMLSyntaxError):
        xml_to_dict("<r><a></r>")
