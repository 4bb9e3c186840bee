"""Reading XML that came from outside without trusting it.

A B2MML document never needs a DOCTYPE: the schema defines it and no entity is part of the
vocabulary. So a DOCTYPE or an entity declaration is refused outright, before parsing (looked for
as bytes in UTF-8 and every ASCII-compatible encoding, UTF-16 and UTF-32), which takes the entity
attacks (billion laughs, XXE reading `file:///etc/passwd` or fetching a URL) off the table before
any is expanded. Behind that, the parser is set up not to expand, load or fetch anything (and
libxml2 stops an entity amplification by itself), and a DOCTYPE found after parsing (an encoding
such as UTF-7 that the byte check cannot see) is refused too. libxml2's default limits (no
huge_tree) cap the depth and the size of a text node."""

from __future__ import annotations

from lxml import etree

from .errors import B2mmlRejected

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a 40-operation, 5,000-material order is about 2.4 MB
_FORBIDDEN = tuple(marker.encode(codec) for marker in ("<!DOCTYPE", "<!ENTITY")
                   for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not safe to share between threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_xml(document: bytes) -> etree._Element:
    """The root element of `document`, refusing anything a B2MML document has no use for:
    B2mmlRejected "too_large", "doctype_forbidden" (also for entity declarations) or "malformed"."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise B2mmlRejected("too_large", f"{len(document)} bytes; at most {MAX_DOCUMENT_BYTES} are read")
    if any(marker in document for marker in _FORBIDDEN):
        raise B2mmlRejected("doctype_forbidden", "a B2MML document must not have a DOCTYPE or "
                            "declare entities")
    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as exc:
        raise B2mmlRejected("malformed", f"not well-formed XML: {exc}") from None
    except ValueError as exc:  # e.g. a str with an encoding declaration
        raise B2mmlRejected("malformed", str(exc)) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise B2mmlRejected("doctype_forbidden", "a B2MML document must not have a DOCTYPE")
    return root
