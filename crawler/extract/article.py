"""The article on a Chinese news page: title, kicker, subtitle, date, 来源, author, body, captions.

Our own layer does the work and trafilatura stands behind it:

* body: the container is found (crawler.extract.container) by scoring lines on Chinese
  characters (not whitespace words, which is how trafilatura and readability count and which
  says little about Chinese text), then cleaned line by line (crawler.extract.clean). Only when no container scores as an
  article does trafilatura's extraction supply the body;
* title: the heading that the `<title>` element confirms, without the site-name suffix, and
  the kicker and subtitle beside it (crawler.extract.headline);
* date, 来源, author: from the labelled lines between headline and body (crawler.extract.meta,
  crawler.extract.dates), then page meta tags, the URL, and a closing `(西宁市总工会)`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import lxml.etree
from lxml import html as lxml_html

from archive.records import ArticleFields
from crawler.decode import parseable
from crawler.extract import dates, hant, meta
from crawler.extract.clean import cjk_count, noise_reason, without_decoding_debris
from crawler.extract.container import (
    RELATED_RE,
    Asides,
    find_container,
    is_caption,
    related_sections,
    trafilatura_body,
    widen_to_headline,
)
from crawler.extract.headline import (
    TITLE_SPLIT_RE,
    clean_title,
    find_title,
    headline_continued,
    kicker_subtitle,
    label_like,
    title_from_tag,
)
from crawler.extract.lines import Line, inside, iter_lines
from crawler.seeds import ExtractHints

MIN_BODY_CJK = 30
# libxml2 stops, silently, 256 elements deep unless told otherwise; old table-and-<font>
# pages that never close a tag go deeper than that before their article starts.
_PARSER = lxml_html.HTMLParser(huge_tree=True)


@dataclass(slots=True)
class Extraction:
    """What was found; ``drop_reason`` says why it is not an article worth archiving.
    ``fields`` is kept even then (what the page gave), except for markup that cannot be read."""

    fields: ArticleFields | None
    drop_reason: str | None = None
    removed: Counter[str] = field(default_factory=Counter)  # noise rule -> lines removed
    fallback: bool = False  # the body is trafilatura's: our layer found too little text


def parse_page(html: str) -> tuple[lxml_html.HtmlElement | None, str | None]:
    """The page's tree, or None and why it is not a page (``parseable``'s reasons and
    ``unparseable_html``). The spider parses each page once with this, reads its links and
    hands the tree to ``extract_article``."""
    html, not_a_page = parseable(html)  # empty, binary; an XML declaration, plain text
    if not_a_page:
        return None, not_a_page
    try:
        return lxml_html.document_fromstring(html, parser=_PARSER), None
    except (lxml.etree.ParserError, ValueError):
        return None, "unparseable_html"


def extract_article(
    html: str,
    url: str,
    hints: ExtractHints | None = None,
    doc: lxml_html.HtmlElement | None = None,
) -> Extraction:
    """Extract one article; never raises on bad markup (the reason is returned instead).

    ``doc``: the page's tree from ``parse_page(html)`` when the caller has it (it is changed:
    parse again to read it afterwards)."""
    hints = hints or ExtractHints()
    if doc is None:
        doc, not_a_page = parse_page(html)
        if doc is None:
            return Extraction(None, not_a_page)
    page_title = _text(doc.find(".//title"))
    meta_tags = _meta_tags(doc)
    for xpath in hints.drop_xpaths:
        for el in doc.xpath(xpath):
            el.drop_tree()
    lines = list(iter_lines(doc.body if doc.body is not None else doc))
    if not lines:
        return Extraction(None, "empty_page")

    asides = Asides(related=related_sections(lines))  # page-wide: scoring and widening
    container = find_container(doc, lines, hints, asides)
    in_body = [i for i, line in enumerate(lines) if inside(line.element, container)]
    body_set = set(in_body)
    first_body = in_body[0] if in_body else len(lines)
    title_idx = find_title(lines, page_title, first_body)
    title = lines[title_idx].text if title_idx is not None else title_from_tag(page_title)
    skip_title = title
    title = clean_title(title)
    kicker, subtitle = kicker_subtitle(lines, title_idx)
    continued = headline_continued(lines, title_idx, page_title)
    if continued:  # a headline broken by <br>: its lines are one title, the last one counts
        title = clean_title("".join(lines[i].text for i in (title_idx, *continued)))
        skip_title, title_idx = title, continued[-1]
        subtitle = kicker_subtitle(lines, title_idx)[1]
    last_body = in_body[-1] if in_body else -1
    if title_idx is not None and not hints.body_xpath:
        wider = widen_to_headline(lines, title_idx, page_title, container, in_body, asides)
        if wider is not None:
            container = wider
            in_body = [
                i for i in range(title_idx + 1, last_body + 1) if inside(lines[i].element, wider)
            ]
            body_set = set(in_body)
            first_body = in_body[0] if in_body else first_body
    start = title_idx + 1 if title_idx is not None else max(0, first_body - 6)

    in_aside = Asides(container)
    removed: Counter[str] = Counter()
    head: list[str] = []  # the labelled lines between headline and body: date, 来源, 作者
    foot: list[str] = []  # labelled lines closing the body: 来源
    body: list[str] = []
    captions: list[str] = []
    author = None
    label_last = False  # the last body line is a short bold heading (label_like) ...
    links_after = 0  # ... and this many link lines were dropped after it
    skip = {skip_title, title, kicker, subtitle}
    for i in range(start, last_body + 1):
        line = lines[i]
        text = line.text
        if text in skip:
            continue
        if i not in body_set:
            # Between the headline and the end of the body but outside the text container:
            # the meta line, a picture table with its caption, navigation.
            if not body and meta.looks_like_meta(text):
                head.append(text)
            elif is_caption(line) and not line.link_chars and not noise_reason(text):
                captions.append(text)
            continue
        reason = noise_reason(text) or ("aside" if in_aside(line.element) else None)
        if reason:
            removed[reason] += 1
            continue
        if (
            not body
            and meta.looks_like_meta(text)
            and (meta.source_of(text) or dates.labelled_date(text))
        ) or (not body and len(text) <= 40 and dates.any_date(text)):
            head.append(text)
            continue
        if body and len(text) <= 40 and meta.looks_like_meta(text) and meta.source_of(text):
            foot.append(text)  # 来源：南方都市报 closing the article: a field, not text
            continue
        if body and RELATED_RE.match(text):
            removed["related_list"] += 1
            break  # what follows 相关报道 is other articles' teasers
        if not body and author is None and (byline := meta.byline_of(text)):
            author = byline
            continue
        if is_caption(line):
            captions.append(text)
            continue
        if line.link_chars > 0.6 * len(text):
            removed["link_list"] += 1
            links_after += 1
            if label_last and links_after == 2:
                body.pop()  # 证券要闻 heading the links just dropped: the list's label
                removed["link_list_label"] += 1
                label_last = False
            continue
        body.append(text)
        label_last, links_after = label_like(line), 0

    fallback = sum(cjk_count(p) for p in body) < MIN_BODY_CJK
    if fallback:
        body = trafilatura_body(html)

    head_text = "  ".join(head)
    found = _find_date(lines, title_idx, first_body, last_body, head_text)
    published = found.date if found else None
    published_time = found.time if found else None
    if published is None:
        published = _meta_date(meta_tags)
    if published is None:
        scripts = [el.text or "" for el in doc.iter("script")]
        if found := dates.script_date(scripts):
            published, published_time = found.date, found.time
    if published is None:
        published = dates.url_date(url)
    # Where a 来源 is found, nearest to the headline first; a labelled 来源 under the body
    # ("（来源：上海证券报）") comes before guesses from brackets and datelines.
    foot_text = "  ".join(
        [
            *foot,
            *body[-3:],
            *(lines[i].text for i in range(last_body + 1, min(len(lines), last_body + 6))),
        ]
    )
    source = (
        meta.source_of(head_text)
        or meta.source_of(foot_text)
        or meta_tags.get("contentsource")
        or meta_tags.get("source")
        or (meta.attribution_of(body[-1]) if body else None)
        or (meta.dateline_of(body[0]) if body else None)
        or meta.unlabelled_source(_meta_block(lines, title_idx))
        or (meta.reporter_org(body[0]) if body else None)
        or hints.source_default
    )
    site_names = TITLE_SPLIT_RE.split(page_title)[1:]  # 标题_网易财经: the site's part
    author = (
        meta.author_of(head_text) or author or meta.meta_author(meta_tags.get("author"), site_names)
    )
    body, debris = without_decoding_debris(body)
    if debris:
        removed["decoding_debris"] += debris
    fields = ArticleFields(
        title=title,
        body="\n".join(body),
        published=published,
        published_time=published_time,
        subtitle=subtitle,
        kicker=kicker,
        source=source,
        author=author,
        captions=tuple(dict.fromkeys(captions)),
    )
    fields = hant.with_hans(fields)  # the zh-Hans reading beside the text as published
    return Extraction(fields, validate(fields), removed, fallback)


def validate(fields: ArticleFields) -> str | None:
    """The reason an extraction is not archived as an article, or None when it is."""
    if not fields.title:
        return "no_title"
    if cjk_count(fields.body) < MIN_BODY_CJK:
        return "empty_body"
    if fields.body.count("\ufffd") > max(3, len(fields.body) // 200):
        return "garbled_text"
    return None


# -- date -----------------------------------------------------------------------------------


def _meta_block(lines: list[Line], title_idx: int | None) -> list[str]:
    """The short lines right under the headline, up to the first paragraph."""
    if title_idx is None:
        return []
    block = []
    for line in lines[title_idx + 1 : title_idx + 7]:
        if len(line.text) > 60:
            break
        block.append(line.text)
    return block


def _find_date(
    lines: list[Line], title_idx: int | None, first_body: int, last_body: int, head_text: str
) -> dates.FoundDate | None:
    """The publication date, looked for where pages print it, nearest first: the labelled
    lines under the headline, short lines just under it, then just above it (a header's
    today-date is the last resort there), then a labelled line under the body."""
    found = dates.labelled_date(head_text) or dates.any_date(head_text)
    if found:
        return found
    anchor = title_idx if title_idx is not None else first_body
    below = range(anchor + 1, min(len(lines), max(first_body, anchor + 1) + 3))
    above = range(anchor, max(-1, anchor - 4), -1)
    for i in (*below, *above):
        line = lines[i]
        text = line.text if i != anchor + 1 else _unlinked_text(line)
        # Links disqualify a line (a related list), except right under the headline, where a
        # linked site name may share the line with the date.
        if len(text) <= 150 and (line.link_chars < 0.5 * len(line.text) or i == anchor + 1):
            found = dates.labelled_date(text) or dates.any_date(text)
            if found:
                return found
    # A line that is only a date, a little further into the text block.
    for i in range(below.stop, min(len(lines), below.stop + 3)):
        if len(lines[i].text) <= 20 and (found := dates.any_date(lines[i].text)):
            return found
    # A labelled date under the body, or a forum's 本贴由…于…发表 in the post's head.
    foot = range(max(0, last_body - 1), min(len(lines), last_body + 6))
    for i in (*foot, *range(anchor + 1, min(len(lines), anchor + 16))):
        if found := dates.labelled_date(lines[i].text):
            return found
    return None


def _unlinked_text(line: Line) -> str:
    """The line without the text of its links (a site URL glued to the date line)."""
    text = line.text
    if line.link_chars:
        for link in line.element.iter("a"):
            part = _text(link)
            # Not a count ("1" comments): replacing it would cut the digits of the date too.
            if len(part) >= 4:
                text = text.replace(part, " ", 1)
    return text


# -- page meta ------------------------------------------------------------------------------


def _text(el: lxml_html.HtmlElement | None) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip() if el is not None else ""


def _meta_tags(doc: lxml_html.HtmlElement) -> dict[str, str]:
    tags: dict[str, str] = {}
    for el in doc.iter("meta"):
        name = (el.get("name") or el.get("property") or "").strip().lower()
        content = (el.get("content") or "").strip()
        if name and content:
            tags.setdefault(name, content)
    return tags


def _meta_date(tags: dict[str, str]):  # type: ignore[no-untyped-def]
    for key in ("pubdate", "publishdate", "article:published_time", "og:release_date", "dc.date"):
        if key in tags and (found := dates.any_date(tags[key])):
            return found.date
    return None
