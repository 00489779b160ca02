"""XML documents as JSON-like dicts, by one predictable rule (shared by every HTTP protocol).

The rule:

* the document is ``{root_name: value}``;
* an element with neither attributes nor child elements is its text as a string — ``None`` when
  it is empty (``<a/>``, ``<a></a>``); text is kept as written, values are never converted to
  numbers or booleans;
* any other element is a dict: attributes as ``"@name"``, child elements under their names, and
  its own non-whitespace text (with the text between children, joined) as ``"#text"``;
* a child name that occurs more than once becomes a list, in document order; names given in
  ``force_list`` are lists even when they occur once (so ``records`` paths do not change shape
  between a page with one record and a page with many);
* namespaces are dropped: ``{urn:x}person`` and ``x:person`` are ``person``, ``xsi:type`` is ``@type``;
  same-named elements from different namespaces are merged by that rule;
* comments, processing instructions and DTDs are ignored; entities are not resolved and nothing is
  fetched over the network (no XXE).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from lxml import etree


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, remove_pis=True, huge_tree=False
    )


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag.rsplit(":", 1)[-1]


def element_to_value(el: etree._Element, force_list: Collection[str] = ()) -> Any:
    """One element by the module's rule."""
    children = [c for c in el if isinstance(c.tag, str)]
    attrib = el.attrib
    if not children and not attrib:
        return el.text if el.text else None
    out: dict[str, Any] = {f"@{local_name(k)}": v for k, v in attrib.items()}
    repeated: set[str] = set()
    texts = [el.text] if el.text else []
    for child in children:
        name = local_name(child.tag)
        value = element_to_value(child, force_list)
        if name in out and name in repeated:
            out[name].append(value)
        elif name in out:
            out[name] = [out[name], value]
            repeated.add(name)
        elif name in force_list:
            out[name] = [value]
            repeated.add(name)
        else:
            out[name] = value
        if child.tail:
            texts.append(child.tail)
    text = "".join(texts).strip()
    if text:
        out["#text"] = text
    return out


def xml_to_dict(content: bytes | str, force_list: Collection[str] = ()) -> dict[str, Any]:
    """Parse ``content``; raises :class:`lxml.etree.XMLSyntaxError` if it is not well-formed."""
    if isinstance(content, str):
        content = content.encode("utf-8")
    root = etree.fromstring(content, _parser())
    return {local_name(root.tag): element_to_value(root, frozenset(force_list))}


XMLSyntaxError = etree.XMLSyntaxError

__all__ = ["XMLSyntaxError", "element_to_value", "local_name", "xml_to_dict"]
