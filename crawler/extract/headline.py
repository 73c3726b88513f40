"""The headline of an article page (the heading its ``<title>`` confirms, without the
site-name suffix), and the kicker (引题) and subtitle (副题) printed with it."""

from __future__ import annotations

import re

from crawler.extract import dates, meta
from crawler.extract.clean import noise_reason
from crawler.extract.lines import Line, common_ancestor, inside

TITLE_SPLIT_RE = re.compile(r"\s*(?:_|\||｜|--|——|—| - | – )\s*")
_TITLE_HINT_RE = re.compile(r"title|biaoti|headline|^bt$|hdtitle|art_?tit", re.I)
_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4"))


def title_from_tag(page_title: str) -> str:
    parts = [p for p in TITLE_SPLIT_RE.split(page_title) if p]
    return max(parts[:2], key=len) if parts else ""


def find_title(lines: list[Line], page_title: str, first_body: int) -> int | None:
    """Index of the headline line.

    A heading above (or at the top of) the body wins when the `<title>` starts with it, or
    when it is an h1 or marked as a title; a line that only matches the site-name part of the
    `<title>` (网易娱乐) gets no credit. Failing that, the nearest heading-like line above the
    body."""
    tag_text = page_title.replace(" ", "")
    later_parts = {p.replace(" ", "") for p in TITLE_SPLIT_RE.split(page_title)[1:] if p}
    limit = min(len(lines), first_body + 2)
    best: tuple[float, int] | None = None
    for i in range(limit):
        line = lines[i]
        text = line.text
        el = line.element
        hinted = bool(_TITLE_HINT_RE.search(f"{el.get('class', '')} {el.get('id', '')}"))
        # A linked line is navigation, except a heading: blogs link the post title to itself.
        linked = line.link_chars and el.tag not in _HEADING_TAGS and not hinted
        if not (2 <= len(text) <= 100) or linked or noise_reason(text):
            continue
        if len(text) <= 30 and dates.any_date(text):
            continue  # a date line, not a headline
        score = 0.0
        compact = clean_title(text).replace(" ", "")
        if named_by_title(text, page_title):
            score += 3 + min(len(compact), 40) / 40
        elif len(compact) >= 6 and compact in tag_text and compact not in later_parts:
            score += 2
        if el.tag == "h1":
            score += 2
        elif el.tag in ("h2", "h3"):
            score += 1
        if hinted:
            score += 1.5
        if first_body - 6 <= i <= first_body + 1:
            score += 0.5
        elif score < 3:
            continue  # far from the body and not named by the <title>: a sidebar heading
        if i == first_body and el.tag in _HEADING_TAGS:
            score += 1  # the heading that opens the text block
        if score >= 2 and (best is None or score > best[0]):
            best = (score, i)
    if best:
        return best[1]
    # Nothing the <title> confirms (blogs and forums often leave it empty or generic): the
    # heading-like line just above the body; a blog links it to the post itself.
    for i in range(min(first_body, len(lines)) - 1, max(-1, first_body - 7), -1):
        line = lines[i]
        text = line.text
        permalink = i == first_body - 1 and len(text) >= 8 and line.link_chars >= len(text) - 2
        if (
            5 <= len(text) <= 60
            and (not line.link_chars or permalink)
            and _headline_like(text)
            and line.element.tag in _HEADLINE_LIKE_TAGS
        ):
            return i
    # Or the short line opening the text block, followed by a paragraph.
    for i in range(first_body, min(len(lines) - 1, first_body + 3)):
        line, following = lines[i], lines[i + 1]
        if noise_reason(line.text) or line.link_chars:
            continue
        if 4 <= len(line.text) <= 40 and _headline_like(line.text) and len(following.text) >= 60:
            return i
        break
    return None


def headline_continued(lines: list[Line], title_idx: int | None, page_title: str) -> list[int]:
    """The lines after the headline that continue it: in its own block (a ``<br>`` between),
    for as long as the `<title>` starts with all of them together. Gazettes (公报) and
    resolutions break a long headline over two or three lines this way."""
    if title_idx is None:
        return []
    target = _BLANK_RE.sub("", page_title)
    joined = _BLANK_RE.sub("", lines[title_idx].text)
    more: list[int] = []
    for i in range(title_idx + 1, len(lines)):
        if lines[i].element is not lines[title_idx].element:
            break
        joined += _BLANK_RE.sub("", lines[i].text)
        if not target.startswith(joined):
            break
        more.append(i)
    return more


# Elements a headline sits in when no <title> confirms it (h5: 中国地理学会 and other CMSs).
_HEADLINE_LIKE_TAGS = frozenset("h1 h2 h3 h4 h5 h6 strong b font td div p span a".split())


def named_by_title(text: str, page_title: str) -> bool:
    """The `<title>` starts with this heading (or its first part is exactly it, however short)."""
    compact = clean_title(text).replace(" ", "")
    first_part = TITLE_SPLIT_RE.split(page_title)[0].replace(" ", "")
    return bool(compact) and (
        compact == first_part
        or (len(compact) >= 4 and page_title.replace(" ", "").startswith(compact))
    )


def _headline_like(text: str) -> bool:
    return (
        not noise_reason(text)
        and not meta.looks_like_meta(text)
        and not text.endswith(("。", "：", ":", "，", ","))
        and dates.any_date(text) is None
    )


_TITLE_LABEL_RE = re.compile(r"^(?:主题|主題|标题|標題|题目|題目|帖子主题)\s*[:：]\s*")
_TITLE_TAIL_RE = re.compile(r"\s*[\[［【](?:编辑|編輯|edit|修改)[\]］】]\s*$", re.I)


def clean_title(text: str) -> str:
    """The headline without a forum's 主题： label or a wiki's [编辑] link."""
    return _TITLE_TAIL_RE.sub("", _TITLE_LABEL_RE.sub("", text)).strip()


_KICKER_MARK_RE = re.compile(r"yinti|kicker|pretitle|\byt\b", re.I)
_SUBTITLE_MARK_RE = re.compile(r"sub|futi|fubt|\bft\b", re.I)


def kicker_subtitle(lines: list[Line], title_idx: int | None) -> tuple[str | None, str | None]:
    """引题 above and 副题 below the headline, when they sit in the headline's own block."""
    if title_idx is None:
        return None, None
    kicker = subtitle = None
    if title_idx > 0:
        prev = lines[title_idx - 1]
        if _headline_part(lines, title_idx, prev, _KICKER_MARK_RE) and not prev.text.startswith(
            "—"
        ):
            kicker = prev.text
    if title_idx + 1 < len(lines):
        nxt = lines[title_idx + 1]
        if nxt.text.startswith(("——", "—", "--")) and _short_plain(nxt):
            subtitle = nxt.text
        elif _headline_part(lines, title_idx, nxt, _SUBTITLE_MARK_RE):
            subtitle = nxt.text
    return kicker, subtitle


_HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_SENTENCE_MARK_RE = re.compile(r"[。！？，；：!?;:,]")
_BLANK_RE = re.compile(r"[\s\u3000\xa0]+")


def label_like(line: Line) -> bool:
    """A short heading line (h2-h6, or a block whose text is all bold) without sentence marks:
    inside a body, a subheading when text follows it; the label of a link list (证券要闻 over
    teasers) when links do. Trafilatura keeps such labels as text: their lines are not links."""
    text = line.text
    if len(text) > 20 or _SENTENCE_MARK_RE.search(text):
        return False
    if line.element.tag in _HEADINGS:
        return True
    bold = "".join(line.element.xpath(".//b//text() | .//strong//text()"))
    return _BLANK_RE.sub("", bold) == _BLANK_RE.sub("", text)


def _short_plain(line: Line) -> bool:
    text = line.text
    return (
        len(text) <= 60
        and not line.link_chars
        and not noise_reason(text)
        and not meta.looks_like_meta(text)
        and dates.any_date(text) is None
    )


def _headline_part(lines: list[Line], title_idx: int, line: Line, mark: re.Pattern[str]) -> bool:
    """A short plain line next to the headline that is marked as such by its class, or shares
    a small block with the headline (an e-paper's 引题/主题/副题 table)."""
    if not _short_plain(line):
        return False
    el, title_el = line.element, lines[title_idx].element
    if (
        mark.search(f"{el.get('class', '')} {el.get('id', '')}")
        and el.getparent() is title_el.getparent()
    ):
        return True
    ancestor = common_ancestor(el, title_el, depth=3)
    if ancestor is None:
        return False
    near = [x for x in lines if inside(x.element, ancestor)]
    # A sentence is the first paragraph of a short text, not a 引题/副题.
    return (
        len(near) <= 5
        and all(len(x.text) <= 60 for x in near)
        and not line.text.endswith(("。", "！", "？", "；"))
    )
