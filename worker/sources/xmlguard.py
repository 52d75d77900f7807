"""The XML prolog check that runs before any XML parser sees a body.

A DOCTYPE that declares entities is refused outright: that is how billion-laughs (exponential
expansion) and external-entity (file:///etc/passwd) attacks start, and Python builds with an
expat older than 2.6.0 expand internal entities without a limit. No feed needs its own
entities. A DOCTYPE without declarations (RSS 0.91's public Netscape DTD) is fine: nothing
external is ever read.

The scan works on bytes in an ASCII-compatible encoding (the caller converts UTF-16, UTF-7,
EBCDIC and friends to UTF-8 first, so nothing hides behind an encoding), walks only the prolog
(comments, processing instructions, the DOCTYPE) and stops at the root element, so a story that
quotes "<!ENTITY" in its text is not refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.errors import SourceError

_NAME_START = re.compile(rb"[A-Za-z_:\x80-\xff]")
_NAME = re.compile(rb"[A-Za-z0-9_:.\-\x80-\xff]+")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)
_DOCTYPE_TOKEN = re.compile(
    rb'"[^"]*(?:"|\Z)|\'[^\']*(?:\'|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|[\[\]>]', re.S
)


@dataclass(frozen=True, slots=True)
class Prolog:
    """What the prolog says: the root element's name ("" when there is no element at all),
    and whether text other than whitespace stood outside any markup before it."""

    root: str
    stray_text: bool = False


def inspect_prolog(body: bytes) -> Prolog:
    """Walk the prolog of an XML (or would-be XML) body up to its root element.

    Raises SourceError if a DOCTYPE (or anything before the root) declares an entity.
    """
    pos = 0
    size = len(body)
    stray_text = False
    while pos < size:
        lt = body.find(b"<", pos)
        stray_text = stray_text or bool(body[pos : lt if lt >= 0 else size].strip())
        if lt < 0 or lt + 1 >= size:
            return Prolog(root="", stray_text=stray_text or lt >= 0)
        if body.startswith(b"<!--", lt):
            pos = _after(body, b"-->", lt + 4)
        elif body.startswith(b"<?", lt):
            pos = _after(body, b"?>", lt + 2)
        elif body.startswith(b"<![CDATA[", lt):
            pos = _after(body, b"]]>", lt + 9)
        elif body[lt : lt + 9].upper() == b"<!DOCTYPE":
            pos = _check_doctype(body, lt)
        elif body.startswith(b"<!", lt):
            if _ENTITY_DECL.match(body, lt):
                raise SourceError("refused: an entity declaration outside any DOCTYPE")
            pos = _after(body, b">", lt + 2)
        elif _NAME_START.match(body, lt + 1):
            name = _NAME.match(body, lt + 1)
            root = name.group(0).decode("utf-8", "replace") if name else ""
            return Prolog(root=root, stray_text=stray_text)
        else:
            stray_text = True
            pos = lt + 1
    return Prolog(root="", stray_text=stray_text)


def _after(body: bytes, end: bytes, start: int) -> int:
    found = body.find(end, start)
    return len(body) if found < 0 else found + len(end)


def _check_doctype(body: bytes, start: int) -> int:
    """Refuse a DOCTYPE whose internal subset declares entities; return where it ends."""
    end = _doctype_end(body, start)
    if _ENTITY_DECL.search(body, start, end):
        raise SourceError(
            "refused: the document's DOCTYPE declares entities (a billion-laughs or "
            "external-entity attack, or a feed no reader should trust)"
        )
    return end


def _doctype_end(body: bytes, start: int) -> int:
    # Walk the DOCTYPE the way an XML parser does: quoted literals, comments and processing
    # instructions may hold "]" or ">" without ending anything. An unterminated one runs to
    # the end of the body, so everything after it is checked too.
    in_subset = False
    for token in _DOCTYPE_TOKEN.finditer(body, start + 9):
        mark = token.group(0)
        if mark == b"[":
            in_subset = True
        elif mark == b"]":
            in_subset = False
        elif mark == b">" and not in_subset:
            return token.end()
    return len(body)
