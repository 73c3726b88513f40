"""Flatten an HTML tree into the lines a reader sees, each tied to the element it came from.

Chinese pages mix `<p>` paragraphs with `<br>`-separated text in table cells and `<font>` runs,
so "one element, one paragraph" does not hold. Here a line ends at every block element and
every `<br>`; inline elements (a, span, font, strong ...) join the line they sit in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import html as lxml_html

BLOCK_TAGS = frozenset(
    "p div td th tr table tbody thead li ul ol dl dt dd h1 h2 h3 h4 h5 h6 section article header "
    "footer aside nav center blockquote pre figure figcaption address main hr form fieldset "
    "caption".split()
)
SKIP_TAGS = frozenset(
    "script style noscript iframe select option textarea button input "
    "object embed svg canvas template head title meta link".split()
)
CAPTION_HINT_RE = re.compile(
    r"caption|pic_?t|pictxt|img_?(?:desc|txt|title)|photo_?(?:desc|txt)|tuzhu|figure", re.I
)
_SPACE_RE = re.compile(r"[\s\u3000\xa0]+")


@dataclass(slots=True)
class Line:
    text: str
    element: lxml_html.HtmlElement  # the nearest block element holding the line
    link_chars: int  # characters inside <a>
    after_image: bool  # an <img> came between the previous line and this one
    caption_hint: bool  # inside <figcaption> or an element whose class/id says caption


def _is_caption_el(el: lxml_html.HtmlElement) -> bool:
    if el.tag == "figcaption":
        return True
    marker = f"{el.get('class', '')} {el.get('id', '')}"
    return bool(marker.strip()) and bool(CAPTION_HINT_RE.search(marker))


def iter_lines(root: lxml_html.HtmlElement) -> Iterator[Line]:
    """Lines of ``root`` in document order (empty lines are skipped).

    The walk keeps its own stack rather than recursing: a page of unclosed ``<font>`` or
    ``<div>`` tags nests as deep as the parser allows, and every line yielded through a chain
    of recursive generators costs one step per level."""
    parts: list[str] = []
    link = 0
    block = root
    image_pending = False
    caption_depth = 0

    def flush() -> Line | None:
        nonlocal parts, link, image_pending
        text = _SPACE_RE.sub(" ", "".join(parts)).strip() if parts else ""
        result = None
        if text:
            result = Line(text, block, link, image_pending, caption_depth > 0)
            image_pending = False
        parts, link = [], 0
        return result

    # (element, inside an <a>, its tail) to enter; (None, inside an <a>, tail) for the text
    # after an element that had children; _Exit when leaving a block or caption element.
    stack: list[tuple[lxml_html.HtmlElement | None, bool, str | None] | _Exit] = [
        (root, False, None)
    ]
    pop, push = stack.pop, stack.append
    while stack:
        entry = pop()
        if isinstance(entry, _Exit):
            if entry.is_block:
                if (line := flush()) is not None:
                    yield line
                block = entry.outer
            if entry.is_caption:
                if (line := flush()) is not None:
                    yield line
                caption_depth -= 1
            continue
        el, in_link, tail = entry
        if el is not None:
            tag = el.tag  # a function for comments and processing instructions
            if tag.__class__ is str and tag not in SKIP_TAGS:
                is_block = tag in BLOCK_TAGS
                is_caption = _is_caption_el(el)
                if is_block or is_caption or len(el):
                    # the tail comes after the element's own lines: handled when popped
                    if tail:
                        push((None, in_link, tail))
                    tail = None
                if is_block:
                    if (line := flush()) is not None:
                        yield line
                    push(_Exit(True, is_caption, block))
                    block = el
                elif is_caption:
                    push(_Exit(False, True, block))
                if is_caption:
                    caption_depth += 1
                if tag == "img":
                    if (line := flush()) is not None:
                        yield line
                    image_pending = True
                elif tag == "br":
                    if (line := flush()) is not None:
                        yield line
                child_link = in_link or tag == "a"
                if el.text and tag != "img":
                    parts.append(el.text)
                    if child_link:
                        link += len(el.text.strip())
                for child in reversed(el):
                    push((child, child_link, child.tail))
        if tail:  # the text after a leaf, a skipped element or a comment, in its parent
            parts.append(tail)
            if in_link:
                link += len(tail.strip())
    if (line := flush()) is not None:
        yield line


@dataclass(slots=True)
class _Exit:
    """Leaving an element: close its line, restore the enclosing block."""

    is_block: bool
    is_caption: bool
    outer: lxml_html.HtmlElement


def inside(el: lxml_html.HtmlElement, container: lxml_html.HtmlElement) -> bool:
    while el is not None:
        if el is container:
            return True
        el = el.getparent()
    return False


def common_ancestor(
    a: lxml_html.HtmlElement, b: lxml_html.HtmlElement, depth: int
) -> lxml_html.HtmlElement | None:
    ups = []
    el = a
    for _ in range(depth + 1):
        if el is None:
            break
        ups.append(el)
        el = el.getparent()
    el = b
    for _ in range(depth + 1):
        if el is None:
            return None
        if any(el is u for u in ups):
            return el
        el = el.getparent()
    return None
