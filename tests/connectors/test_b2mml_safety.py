"""Inbound XML is not trusted: a DOCTYPE (billion laughs, XXE) is refused before any entity is
expanded or any file or URL is read, and broken XML is refused with a code a program can act on."""

from __future__ import annotations

import time

import pytest
from lxml import etree

from connectors.b2mml import safe
from connectors.b2mml.errors import B2mmlRejected
from connectors.b2mml.parse import parse_acknowledgement, parse_operations_schedule
from connectors.b2mml.xml import parse_xml, validate_xml

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<AcknowledgeOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML">&lol9;</AcknowledgeOperationsSchedule>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<AcknowledgeOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML">&xxe;</AcknowledgeOperationsSchedule>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<AcknowledgeOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML"/>
"""
ATTACKS = {"billion laughs": BILLION_LAUGHS, "XXE file:///etc/passwd": XXE, "external DTD": EXTERNAL_DTD}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_a_doctype_is_refused_before_anything_is_expanded_or_fetched(attack, encoding):
    document = attack.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>')
    started = time.perf_counter()
    for read in (parse_xml, parse_acknowledgement, parse_operations_schedule):
        with pytest.raises(B2mmlRejected) as caught:
            read(document.encode(encoding))
        assert caught.value.code == "doctype_forbidden"
        assert "root:" not in str(caught.value)
    assert validate_xml(document.encode(encoding))[0].startswith("doctype_forbidden: ")
    assert time.perf_counter() - started < 1  # nothing was expanded


def test_behind_the_doctype_check_the_parser_expands_no_entity_and_reads_no_file():
    root = etree.fromstring(XXE.encode(), safe._parser())
    assert "root:" not in etree.tostring(root).decode()
    with pytest.raises(etree.XMLSyntaxError, match="amplification"):
        etree.fromstring(BILLION_LAUGHS.encode(), safe._parser())


def test_a_doctype_in_an_encoding_the_byte_check_cannot_see_is_refused_after_parsing():
    # UTF-7 spells "<!" as "+ADwAIQ-": no "<!DOCTYPE" or "<!ENTITY" in the bytes, but libxml2 decodes it.
    document = (b'<?xml version="1.0" encoding="UTF-7"?>\n'
                b'+ADwAIQ-DOCTYPE r [+ADwAIQ-ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<r>&xxe;</r>')
    with pytest.raises(B2mmlRejected) as caught:
        parse_xml(document)
    assert caught.value.code == "doctype_forbidden"
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("document", [b"", b"not xml", b"<a>", b"<a></b>", b"<a/><b/>", b"\xff\xfe\x00",
                                      b"<a>&undefined;</a>"])
def test_malformed_xml_is_refused_with_a_clear_code(document):
    for read in (parse_xml, parse_acknowledgement, parse_operations_schedule):
        with pytest.raises(B2mmlRejected) as caught:
            read(document)
        assert caught.value.code == "malformed"
        assert caught.value.detail.startswith("not well-formed XML: ")
    assert validate_xml(document)[0].startswith("malformed: ")


def test_a_document_too_big_to_be_an_order_is_not_read(monkeypatch):
    monkeypatch.setattr(safe, "MAX_DOCUMENT_BYTES", 100)
    with pytest.raises(B2mmlRejected) as caught:
        parse_xml(b"<a>" + b" " * 100 + b"</a>")
    assert caught.value.code == "too_large"


def test_a_document_of_another_kind_is_refused_by_name():
    with pytest.raises(B2mmlRejected) as caught:
        parse_operations_schedule(b'<ProcessOperationsSchedule xmlns="urn:other"/>')
    assert caught.value.code == "unexpected_root"
    assert "urn:other" in caught.value.detail
