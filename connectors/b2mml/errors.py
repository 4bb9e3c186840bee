"""What can go wrong with a B2MML document, as exceptions a caller can tell apart: a document
refused before it is even read as B2MML (not XML, a DOCTYPE, too big, a value Thread cannot
read), and a document that is XML but breaks the official schema (with every problem listed)."""

from __future__ import annotations

from collections.abc import Sequence


class B2mmlError(Exception):
    """Any refused B2MML document; catch this when the reason does not matter."""


class B2mmlRejected(B2mmlError):
    """The document is refused as it stands: `code` is stable for programs ("malformed",
    "doctype_forbidden", "too_large", "unexpected_root", "missing_element", "bad_value"),
    `detail` is for people, `path` locates the element ("" when the document has none)."""

    def __init__(self, code: str, detail: str, path: str = "") -> None:
        self.code = code
        self.detail = detail
        self.path = path
        super().__init__(f"{code}: {detail}" + (f" (at {path})" if path else ""))


class B2mmlInvalid(B2mmlError):
    """The document breaks the official B2MML schema; `problems` are readable messages, each with
    the path of the element at fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = "; ".join(self.problems[:3])
        more = f" (and {len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        super().__init__(f"not valid B2MML: {shown}{more}")
