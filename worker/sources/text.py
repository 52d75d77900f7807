"""Plain text from the HTML and half-broken text that feeds carry."""

from __future__ import annotations

import contextlib
import html
import re

# Tags with attributes that may hold a ">" inside quotes; comments and script/style bodies
# go first so their contents never leak into the text.
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_INVISIBLE = re.compile(r"<(script|style|head|template)\b[^>]*>.*?(?:</\1\s*>|$)", re.S | re.I)
_BLOCK_TAG = re.compile(
    r"</?(?:p|br|div|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|pre|section|article|hr)\b[^>]*>",
    re.I,
)
_TAG = re.compile(r"<(?:\"[^\"]*\"|'[^']*'|[^'\">])*>")
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z/!][^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});")
# Control characters other than whitespace (tab, newlines, form feed, NEL: those become
# spaces), and the bidi embeddings, overrides and isolates that make text read otherwise
_CONTROL = re.compile(
    r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)


# Mojibake: UTF-8 bytes that were decoded as Windows-1252 (or Latin-1). Each UTF-8 byte became
# one character; map those characters back to their byte and re-decode, one sequence at a time.
def _mojibake_byte_map() -> dict[str, int]:
    out = {chr(b): b for b in range(0x80, 0x100)}  # the Latin-1 view, C1 controls included
    # 0x81, 0x8D, 0x8F, 0x90, 0x9D are unassigned in Windows-1252: they keep the Latin-1 view
    for b in range(0x80, 0x100):
        with contextlib.suppress(UnicodeDecodeError):
            out[bytes([b]).decode("cp1252")] = b
    return out


_CP1252_TO_BYTE = _mojibake_byte_map()
_CONT = "".join(re.escape(c) for c, b in _CP1252_TO_BYTE.items() if 0x80 <= b <= 0xBF)
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df][{_CONT}]|[\u00e0-\u00ef][{_CONT}]{{2}}|[\u00f0-\u00f4][{_CONT}]{{3}}"
)
_MOJIBAKE_HINT = re.compile("[\u00c2-\u00f4]")


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Windows-1252: "donâ€™t" → "don’t".

    Only sequences that form valid UTF-8 once mapped back to bytes are replaced, so real
    Latin-1 text ("café", "Ärger") is left alone.
    """
    if text.isascii() or not _MOJIBAKE_HINT.search(text):  # isascii() reads a flag
        return text

    def repair(match: re.Match[str]) -> str:
        raw = bytes(_CP1252_TO_BYTE[c] for c in match.group(0))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)

    return _MOJIBAKE.sub(repair, text)


def clean_text(text: str) -> str:
    """Plain text made tidy: mojibake repaired, control characters dropped, whitespace collapsed."""
    text = _CONTROL.sub("", fix_mojibake(text))
    # What re.sub(r"\s+", " ", text).strip() gives (split() and \s agree on what whitespace
    # is), three times as fast.
    return " ".join(text.split())


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: tags stripped, entities unescaped, whitespace collapsed.

    Block elements become spaces so words on either side stay apart. A regex pass rather than
    a parser: feed fragments are small and often broken, and this never raises.
    """
    if "<" in markup:
        markup = _COMMENT.sub(" ", markup)
        markup = _INVISIBLE.sub(" ", markup)
        markup = _BLOCK_TAG.sub(" ", markup)
        markup = _TAG.sub("", markup)
    return clean_text(html.unescape(markup))


def text_from(value: str, *, is_html: bool | None = None) -> str:
    """`value` as plain text; `is_html=None` decides by looking for tags or entities."""
    if is_html is None:
        # Markup starts with "<" or "&": without either, no need to run the regex.
        is_html = ("<" in value or "&" in value) and bool(_LOOKS_LIKE_HTML.search(value))
    return html_to_text(value) if is_html else clean_text(value)
