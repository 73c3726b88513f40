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
    """Lines of ``root`` in document order (empty lines are skipped)."""
    parts: list[str] = []
    link = 0
    block = root
    image_pending = False
    caption_depth = 0

    def flush() -> Line | None:
        nonlocal parts, link, image_pending
        text = _SPACE_RE.sub(" ", "".join(parts)).strip()
        result = None
        if text:
            result = Line(text, block, link, image_pending, caption_depth > 0)
            image_pending = False
        parts, link = [], 0
        return result

    def walk(el: lxml_html.HtmlElement, in_link: bool) -> Iterator[Line]:
        nonlocal block, link, image_pending, caption_depth
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in SKIP_TAGS or not tag:
            return
        is_block = tag in BLOCK_TAGS
        is_caption = _is_caption_el(el)
        if is_block:
            if (line := flush()) is not None:
                yield line
            outer = block
            block = el
        if is_caption:
            caption_depth += 1
        if tag == "img":
            if (line := flush()) is not None:
                yield line
            image_pending = True
        elif tag == "br":
            if (line := flush()) is not None:
                yield line
        if el.text and tag != "img":
            parts.append(el.text)
            if in_link or tag == "a":
                link += len(el.text.strip())
        for child in el:
            yield from walk(child, in_link or tag == "a")
            if child.tail:
                parts.append(child.tail)
                if in_link or tag == "a":
                    link += len(child.tail.strip())
        if is_block:
            if (line := flush()) is not None:
                yield line
            block = outer
        if is_caption:
            if (line := flush()) is not None:
                yield line
            caption_depth -= 1

    yield from walk(root, False)
    if (line := flush()) is not None:
        yield line
