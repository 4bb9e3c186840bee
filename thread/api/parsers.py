"""The API's JSON parsers: JSON only (no form or multipart bodies, which a generated client
would otherwise be offered), and a body PostgreSQL can store and Python can walk.

Refused with a 400 naming the place (`/lines/3/part`):
* a NUL character (escaped `\\u0000` or a raw byte) — PostgreSQL stores none in text or jsonb;
* a lone surrogate (`\\ud800`) — it is no character and cannot be encoded;
* nesting deeper than MAX_JSON_DEPTH levels — far deeper than any real body (an eBOM of 50
  levels is about 100), and deeper bodies would exhaust Python's recursion further on.
"""

import codecs
import json
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.utils.json import strict_constant

from thread.errors import ErrorItem, InvalidInput

MAX_JSON_DEPTH = 200


class SafeJSONParser(JSONParser):
    """JSON, checked for what cannot be stored or walked (the module's docstring)."""

    parse_float = float

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            data = json.load(codecs.getreader(encoding)(stream), parse_float=self.parse_float,
                             parse_constant=strict_constant)
        except RecursionError:
            raise _refused("", "too_deep", f"The body nests deeper than {MAX_JSON_DEPTH} "
                                           "levels.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        check_storable(data)
        return data


class DecimalJSONParser(SafeJSONParser):
    """JSON with numbers read as Decimal: a quantity sent as 0.1 stays exactly 0.1, never the
    float nearest to it (DESIGN.md: quantities are Decimal, never float). NaN and Infinity
    are refused as DRF's strict parser does."""

    parse_float = Decimal


def check_storable(data) -> None:
    """Walk the parsed body (without recursion) and refuse the first NUL, lone surrogate or
    level beyond MAX_JSON_DEPTH, pointing at it."""
    stack = [("", data, 0)]
    while stack:
        pointer, value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _refused(pointer, "too_deep",
                           f"The body nests deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            _check_text(pointer, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(f"{pointer}/{_escape(key)}", key)
                stack.append((f"{pointer}/{_escape(key)}", item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{pointer}/{i}", item, depth + 1) for i, item in enumerate(value))


def _check_text(pointer: str, text: str) -> None:
    if "\x00" in text:
        raise _refused(pointer, "nul_character", "Text may not contain NUL (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _refused(pointer, "invalid_character",
                       "Text contains a lone surrogate, which is no character.") from None


def _escape(key: str) -> str:
    """A JSON pointer token (RFC 6901); a key that is not text is shown as it is."""
    return key.replace("~", "~0").replace("/", "~1") if isinstance(key, str) else str(key)


def _refused(pointer: str, code: str, detail: str) -> InvalidInput:
    shown = pointer.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")
    return InvalidInput(detail, [ErrorItem(shown or "/", code, detail)])


class XMLBodyParser(BaseParser):
    """An XML body, handed to the view as its bytes: the view's connector parses it safely (no
    DTDs, no entities) and validates it against its schema. Nothing is parsed here."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""
