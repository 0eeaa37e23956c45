"""Cleaning of feedback text before it is hashed, redacted and stored.

- HTML (help-desk bodies, survey tools) becomes plain text: tags stripped, block
  elements turned into line breaks, ``<script>``/``<style>`` dropped, entities unescaped.
- NUL and other control characters are removed (PostgreSQL rejects NUL in text).
- Whitespace is trimmed; runs of blank lines collapse; emoji and any script are kept.
- Invalid UTF-8 is detected by the connectors (lone surrogates from ``surrogateescape``)
  and quarantined, never silently stored with replacement characters.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_HTML_HINT = re.compile(
    r"<(?:[a-zA-Z][a-zA-Z0-9]*|/[a-zA-Z]|!--)[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*(\n\s*)+")
_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5",
               "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer"}
_SKIP_TAGS = {"script", "style", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list) -> None:  # noqa: ARG002
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    """True when ``text`` contains a tag or an HTML entity."""
    return _HTML_HINT.search(text) is not None


def html_to_text(text: str) -> str:
    """Plain text of an HTML fragment (tags stripped, entities unescaped)."""
    parser = _TextExtractor()
    parser.feed(text)
    parser.close()
    return html.unescape("".join(parser.parts))


def has_invalid_utf8(text: str) -> bool:
    """True when ``text`` carries undecodable bytes (lone surrogates from surrogateescape)."""
    return _SURROGATE.search(text) is not None


def scrub_invalid(text: str) -> str:
    """Replace undecodable bytes with U+FFFD (for quarantine payloads only)."""
    return _SURROGATE.sub("\ufffd", text)


def clean_text(text: str) -> tuple[str, bool]:
    """Normalise feedback text; returns ``(text, was_html)``."""
    if text.isprintable() and "<" not in text and "&" not in text:
        # The common case, one line of plain text: no control characters, line breaks or
        # markup hints, so only the trim below applies (str methods: far cheaper than regexes).
        return text.strip(), False
    was_html = looks_like_html(text)
    if was_html:
        text = html_to_text(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if was_html:  # markup indentation and spacing carry no meaning
        text = _SPACES.sub(" ", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip(), was_html


def truncate(text: str, max_chars: int) -> tuple[str, int | None]:
    """Cut ``text`` to ``max_chars``; returns the text and its original length if cut."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text, None
    return text[:max_chars].rstrip() + "…", len(text)
