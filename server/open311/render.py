"""Open311 answers in JSON and XML, and Open311 errors.

The JSON is the Spark mapping of the XML (http://wiki.open311.org/JSON_and_XML_Conversion): the
root element is dropped, a list is a JSON array, and in XML each list is a wrapper element
whose children are named after it (``services`` → ``service``, ``attributes`` → ``attribute``
…). So one Python structure renders to both formats.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

FORMATS = ("xml", "json")
MIMETYPES = {"xml": "text/xml", "json": "application/json"}

# Wrapper element → the name of each child, as the spec writes them.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all (C0 controls other than tab, newline, return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """An answer of errors: HTTP ``status`` and one or more ``(code, description)`` pairs."""

    def __init__(self, status: int, *descriptions: str, code: int | None = None) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.errors = [(code or status, d) for d in descriptions]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    """Append ``value`` to ``parent`` as the content of a new element ``name``."""
    el = ET.SubElement(parent, name)
    _content(el, name, value)


def _content(el: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _fill(el, key, sub)
    elif isinstance(value, list | tuple):
        child = ITEM_NAMES.get(name, "item")
        for sub in value:
            _fill(el, child, sub)
    else:
        el.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    """The XML document for ``data`` under the element ``root`` (UTF-8, with the declaration)."""
    el = ET.Element(root)
    _content(el, root, data)
    body = ET.tostring(el, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def to_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def render(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    """``data`` as an Open311 answer in ``fmt`` (``xml`` or ``json``)."""
    if fmt == "json":
        body = to_json(data)
    else:
        fmt = "xml"
        body = to_xml(root, data)
    return Response(body, status=status, content_type=f"{MIMETYPES[fmt]}; charset=utf-8")


def render_error(fmt: str, err: Open311Error) -> Response:
    errors = [{"code": code, "description": text} for code, text in err.errors]
    return render(fmt, "errors", errors, status=err.status)
