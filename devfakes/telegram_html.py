"""Telegram's HTML parse mode, URL detection, and safe rendering of formatted text for the phone.

The parser is as strict as Telegram's: an unsupported tag, an unclosed tag or a mismatched end
tag is refused with Telegram's error text, so a message our renderer escapes wrongly fails here as
it would in production. The renderer escapes all text and emits only the tags it chose, with
``href`` limited to http(s), so nothing a message contains reaches the page as markup.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable

from devfakes.phonelog import Entity

# Telegram tag -> entity type. "a", "span" and "pre"/"code" are handled with their attributes.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+)))?")
_CHARREF = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


class ParseError(ValueError):
    """Text Telegram would refuse with "Bad Request: can't parse entities: ..."."""


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


def _attributes(raw: str) -> dict[str, str]:
    return {m[1].lower(): html.unescape(m[2] or m[3] or m[4] or "") for m in _ATTR.finditer(raw)}


def _entity_type(tag: str, attrs: dict[str, str], source: str, at: int) -> tuple[str, str | None]:
    if tag == "a":
        return "text_link", attrs.get("href", "")
    if tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise ParseError(f'Unsupported start tag "span" at byte offset {_byte_offset(source, at)}')
        return "spoiler", None
    if tag == "blockquote" and "expandable" in attrs:
        return "expandable_blockquote", None
    if tag in _SIMPLE_TAGS:
        return _SIMPLE_TAGS[tag], None
    raise ParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, at)}')


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Telegram HTML to plain text and entities (offsets in code points)."""
    text: list[str] = []
    length = 0
    entities: list[Entity] = []
    stack: list[tuple[str, str, str | None, int]] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "<":
            match = _TAG.match(source, index)
            if not match:
                raise ParseError(f"Unclosed start tag at byte offset {_byte_offset(source, index)}")
            closing, tag = match[1] == "/", match[2].lower()
            if closing:
                if not stack or stack[-1][0] != tag:
                    expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                    at = _byte_offset(source, index)
                    raise ParseError(f'Unmatched end tag at byte offset {at}, expected {expected}, found "</{tag}>"')
                _, kind, url, start = stack.pop()
                if length > start:
                    entities.append(Entity(kind, start, length, url))
            else:
                kind, url = _entity_type(tag, _attributes(match[3]), source, index)
                stack.append((tag, kind, url, length))
            index = match.end()
        elif char == "&" and (ref := _CHARREF.match(source, index)):
            decoded = html.unescape(ref[0])
            text.append(decoded)
            length += len(decoded)
            index = ref.end()
        else:
            text.append(char)
            length += 1
            index += 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(text), sorted(entities, key=lambda e: (e.start, -e.end))


def detect_urls(text: str, existing: Iterable[Entity] = ()) -> list[Entity]:
    """``url`` entities for bare links, outside spans already formatted as links or code."""
    taken = [e for e in existing if e.type in ("text_link", "url", "code", "pre")]
    found = []
    for match in _URL.finditer(text):
        if not any(e.start < match.end() and match.start() < e.end for e in taken):
            found.append(Entity("url", match.start(), match.end(), match[0]))
    return found


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def to_utf16(text: str, entities: Iterable[Entity]) -> list[dict[str, object]]:
    """Entities as the Bot API returns them: ``offset``/``length`` in UTF-16 code units."""
    result: list[dict[str, object]] = []
    for entity in entities:
        offset = utf16_length(text[: entity.start])
        item: dict[str, object] = {
            "type": entity.type,
            "offset": offset,
            "length": utf16_length(text[: entity.end]) - offset,
        }
        if entity.type == "text_link":
            item["url"] = entity.url
        result.append(item)
    return result


def from_utf16(text: str, entities: Iterable[dict[str, object]]) -> list[Entity]:
    """Bot API entities (UTF-16 offsets) to code-point entities; malformed ones are dropped."""
    positions = [0]
    for char in text:
        positions.append(positions[-1] + (2 if ord(char) > 0xFFFF else 1))
    index_of = {units: index for index, units in enumerate(positions)}
    result = []
    for entity in entities:
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            continue
        start, end = index_of.get(offset), index_of.get(offset + length)
        if start is not None and end is not None and end > start:
            url = entity.get("url")
            result.append(Entity(str(entity.get("type")), start, end, url if isinstance(url, str) else None))
    return result


# Rendering order of the tags around a run of text, outermost first.
_RENDER = (
    ("text_link", "a"),
    ("url", "a"),
    ("bold", "b"),
    ("italic", "i"),
    ("underline", "u"),
    ("strikethrough", "s"),
    ("spoiler", "span"),
    ("code", "code"),
    ("pre", "code"),
)


def _safe_href(url: str | None) -> str | None:
    return url if url and re.match(r"^https?://", url, re.IGNORECASE) else None


def render_html(text: str, entities: Iterable[Entity]) -> str:
    """Text with its entities as HTML for the phone page: everything escaped, links http(s) only.

    Each run of characters with the same set of entities is wrapped in that set's tags, so
    overlapping entities still produce well-nested markup.
    """
    spans = list(entities)
    cuts = sorted({0, len(text), *(e.start for e in spans), *(e.end for e in spans)})
    out: list[str] = []
    for start, end in itertools.pairwise(cuts):
        active = [e for e in spans if e.start <= start and end <= e.end]
        opening, closing = [], []
        for kind, tag in _RENDER:
            entity = next((e for e in active if e.type == kind), None)
            if entity is None:
                continue
            if tag == "a":
                href = _safe_href(entity.url or text[entity.start : entity.end])
                if href is None:
                    continue
                opening.append(f'<a href="{html.escape(href)}" target="_blank" rel="noopener noreferrer">')
            elif tag == "span":
                opening.append('<span class="spoiler">')
            else:
                opening.append(f"<{tag}>")
            closing.insert(0, f"</{tag}>")
        out.append("".join(opening) + html.escape(text[start:end]).replace("\n", "<br>") + "".join(closing))
    return "".join(out)
