"""The article on a Chinese news page: title, kicker, subtitle, date, 来源, author, body, captions.

Our own layer does the work and trafilatura stands behind it:

* body: the container is found by scoring lines on Chinese characters (not whitespace words,
  which is how trafilatura and readability count and which says little about Chinese text),
  then cleaned line by line (crawler.extract.clean). Only when no container scores as an
  article does trafilatura's extraction supply the body;
* title: the heading that the `<title>` element confirms, without the site-name suffix;
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
from crawler.extract.clean import noise_reason, without_decoding_debris
from crawler.extract.lines import Line, iter_lines
from crawler.seeds import ExtractHints

CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TITLE_SPLIT_RE = re.compile(r"\s*(?:_|\||｜|--|——|—| - | – )\s*")
_TITLE_HINT_RE = re.compile(r"title|biaoti|headline|^bt$|hdtitle|art_?tit", re.I)
_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 li dd dt blockquote pre center figcaption span font".split()
)
MIN_BODY_CJK = 30
# libxml2 stops, silently, 256 elements deep unless told otherwise; old table-and-<font>
# pages that never close a tag go deeper than that before their article starts.
_PARSER = lxml_html.HTMLParser(huge_tree=True)
MAX_CAPTION = 80
# Class and id words that mark what is not the article: comment threads, recommendation and
# related lists, share bars, footers, navigation, reference lists. This is readability's
# "unlikely candidates" idea, with the pinyin names Chinese CMSs use (xgxw = 相关新闻);
# matched per word, so "photo" is not "hot" and "content--recommend" is a recommendation.
_ASIDE_WORD_RE = re.compile(
    r"(?:comments?|commentlist|reply|replies|recommends?|recommendation|related|relate|xgxw|"
    r"xgwz|xiangguan|sidebar|aside|widget|share|sharebar|footer|foot|carousel|feed|popup|ads?|"
    r"advert|advertisement|banner|breadcrumbs?|navbar|nav|menu|references?|reflist|"
    r"footnotes?|hot|hotnews|rank|ranking|tags?|copyright|infobox|navbox|toc|editsection|ambox|mbox)"
)
# Class and id words that name the article itself; they outweigh an aside word beside them.
_ARTICLE_WORD_RE = re.compile(r"article|artical|articlecontent|zhengwen|maintext|newstext")
# Aside words an article word may outweigh: a share feature or a widget wrapping the text.
_WEAK_ASIDE_WORD_RE = re.compile(r"share|sharebar|widget|hot|tags?|feed|popup|carousel")
# A short line announcing other articles: the article has ended above it.
_RELATED_RE = re.compile(
    r"^(?:(?:相关|相關|延伸|推荐|推薦|热点|熱點|热门|熱門|更多)(?:报道|報道|新闻|新聞|阅读|閱讀|文章|链接|鏈接|推荐|推薦|日志|日誌)"
    r"|猜你喜欢|猜你喜歡|为你推荐|為你推薦|大家都在看|你可能还想看|你可能還想看|你可能也喜欢|你可能也喜歡)"
    r"\s*[:：]?\s*$"
)
_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4"))
_ASIDE_TAGS = frozenset(("aside", "nav", "footer"))
_WORD_SPLIT_RE = re.compile(r"[^a-z0-9]+")


@dataclass(slots=True)
class Extraction:
    """What was found; ``drop_reason`` says why it is not an article worth archiving.
    ``fields`` is kept even then (what the page gave), except for markup that cannot be read."""

    fields: ArticleFields | None
    drop_reason: str | None = None
    removed: Counter[str] = field(default_factory=Counter)  # noise rule -> lines removed
    fallback: bool = False  # the body is trafilatura's: our layer found too little text


def cjk_count(text: str) -> int:
    return len(CJK_RE.findall(text))


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

    asides = _Asides(related=_related_sections(lines))  # page-wide: scoring and widening
    container = _find_container(doc, lines, hints, asides)
    in_body = [i for i, line in enumerate(lines) if _inside(line.element, container)]
    body_set = set(in_body)
    first_body = in_body[0] if in_body else len(lines)
    title_idx = _find_title(lines, page_title, first_body)
    title = lines[title_idx].text if title_idx is not None else _title_from_tag(page_title)
    skip_title = title
    title = _clean_title(title)
    kicker, subtitle = _kicker_subtitle(lines, title_idx)
    continued = _headline_continued(lines, title_idx, page_title)
    if continued:  # a headline broken by <br>: its lines are one title, the last one counts
        title = _clean_title("".join(lines[i].text for i in (title_idx, *continued)))
        skip_title, title_idx = title, continued[-1]
        subtitle = _kicker_subtitle(lines, title_idx)[1]
    last_body = in_body[-1] if in_body else -1
    if title_idx is not None and not hints.body_xpath:
        wider = _widen_to_headline(lines, title_idx, page_title, container, in_body, asides)
        if wider is not None:
            container = wider
            in_body = [
                i for i in range(title_idx + 1, last_body + 1) if _inside(lines[i].element, wider)
            ]
            body_set = set(in_body)
            first_body = in_body[0] if in_body else first_body
    start = title_idx + 1 if title_idx is not None else max(0, first_body - 6)

    in_aside = _Asides(container)
    removed: Counter[str] = Counter()
    head: list[str] = []  # the labelled lines between headline and body: date, 来源, 作者
    foot: list[str] = []  # labelled lines closing the body: 来源
    body: list[str] = []
    captions: list[str] = []
    author = None
    label_last = False  # the last body line is a short bold heading (_label_like) ...
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
            elif _is_caption(line) and not line.link_chars and not noise_reason(text):
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
        if body and _RELATED_RE.match(text):
            removed["related_list"] += 1
            break  # what follows 相关报道 is other articles' teasers
        if not body and author is None and (byline := meta.byline_of(text)):
            author = byline
            continue
        if _is_caption(line):
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
        label_last, links_after = _label_like(line), 0

    fallback = sum(cjk_count(p) for p in body) < MIN_BODY_CJK
    if fallback:
        body = _trafilatura_body(html)

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
    site_names = _TITLE_SPLIT_RE.split(page_title)[1:]  # 标题_网易财经: the site's part
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


# -- container ------------------------------------------------------------------------------


def _is_aside(el: lxml_html.HtmlElement) -> bool:
    """An element named for something else than the article (comments, related lists, share
    bars ...). A name that also says article outweighs a weak aside word (readability's
    okMaybeItsACandidate, narrowed): ``class="js_img_share_area" id="artical_real"`` wraps
    the text, ``class="article-comments"`` is still comments."""
    if el.tag in _ASIDE_TAGS:
        return True
    marker = f"{el.get('class', '')} {el.get('id', '')}".lower()
    words = [w for w in _WORD_SPLIT_RE.split(marker) if w]
    aside = [w for w in words if _ASIDE_WORD_RE.fullmatch(w)]
    if not aside:
        return False
    # Comments, related lists, navigation and footers stay asides whatever else they are named.
    return any(not _WEAK_ASIDE_WORD_RE.fullmatch(w) for w in aside) or not any(
        _ARTICLE_WORD_RE.fullmatch(w) for w in words
    )


class _Asides:
    """Which elements sit in an aside (comments, related list ...), below a given root."""

    def __init__(
        self,
        root: lxml_html.HtmlElement | None = None,
        related: set[lxml_html.HtmlElement] | None = None,
    ):
        self.root = root
        self._memo: dict[lxml_html.HtmlElement, bool] = {el: True for el in related or ()}

    def __call__(self, el: lxml_html.HtmlElement | None) -> bool:
        path = []
        found = False
        while el is not None and el is not self.root:
            if el in self._memo:
                found = self._memo[el]
                break
            path.append(el)
            if _is_aside(el):
                found = True
                break
            el = el.getparent()
        for seen in path:
            self._memo[seen] = found
        return found


def _related_sections(lines: list[Line]) -> set[lxml_html.HtmlElement]:
    """Sections that open with a 猜你喜欢 / 相关新闻 heading: other articles' teasers."""
    sections = set()
    for i, line in enumerate(lines):
        if not _RELATED_RE.match(line.text):
            continue
        # The smallest block that the heading opens and that holds more than the heading. A
        # 相关报道 line under the text, in a block that holds the article too, does not open
        # it; that one is handled where the body ends.
        el = line.element.getparent()
        following = lines[i + 1].element if i + 1 < len(lines) else None
        while el is not None and el.tag not in ("body", "html"):
            if i > 0 and _inside(lines[i - 1].element, el):
                break
            if following is not None and _inside(following, el):
                sections.add(el)
                break
            el = el.getparent()
    return sections


def _line_weight(line: Line, asides: _Asides | None = None) -> float:
    if noise_reason(line.text) or line.link_chars > 0.5 * len(line.text):
        return 0.0
    if asides is not None and asides(line.element):
        return 0.0
    cjk = cjk_count(line.text)
    punctuation = line.text.count("，") + line.text.count("。") + line.text.count(",")
    # Text around links is a teaser list (title link + author + date) more often than prose.
    unlinked = 1 - line.link_chars / len(line.text)
    return (cjk * (1.0 if cjk >= 20 else 0.3) + 3 * punctuation) * unlinked * unlinked


def _find_container(
    doc: lxml_html.HtmlElement, lines: list[Line], hints: ExtractHints, asides: _Asides
) -> lxml_html.HtmlElement:
    if hints.body_xpath:
        found = doc.xpath(hints.body_xpath)
        if found:
            return found[0]
    scores: Counter[lxml_html.HtmlElement] = Counter()
    for line in lines:
        weight = _line_weight(line, asides)
        if not weight:
            continue
        el = line.element
        target = el.getparent() if el.tag in _PARAGRAPH_TAGS and el.getparent() is not None else el
        scores[target] += weight
        parent = target.getparent()
        if parent is not None:
            scores[parent] += weight * 0.5
    if not scores:
        return doc
    return scores.most_common(1)[0][0]


def _widen_to_headline(
    lines: list[Line],
    title_idx: int,
    page_title: str,
    container: lxml_html.HtmlElement,
    in_body: list[int],
    asides: _Asides,
) -> lxml_html.HtmlElement | None:
    """The block holding both the headline and the best text block, when real text stands
    between them: reference pages and poems put a summary, the original and a translation in
    sections of their own above the longest one. A news page's meta lines, share bars and
    lead picture between headline and text weigh next to nothing and leave it as it was."""
    if not in_body or title_idx >= in_body[0]:
        return None
    if not _named_by_title(lines[title_idx].text, page_title):
        return None  # only a headline the <title> confirms is trusted this far
    headline = lines[title_idx].text
    weights = [
        _line_weight(line, asides)
        for line in lines[title_idx + 1 : in_body[0]]
        if line.text != headline  # a second copy of the headline is no section
    ]
    between = sum(weights)
    inside = sum(_line_weight(lines[i], asides) for i in in_body)
    if between < 0.2 * inside or between < 25 or sum(1 for w in weights if w >= 3) < 2:
        return None  # (one paragraph alone there is a promotion more often than a section)
    return _common_ancestor(lines[title_idx].element, container, depth=12)


def _inside(el: lxml_html.HtmlElement, container: lxml_html.HtmlElement) -> bool:
    while el is not None:
        if el is container:
            return True
        el = el.getparent()
    return False


def _is_caption(line: Line) -> bool:
    text = line.text
    if line.caption_hint:
        return True
    return (
        line.after_image
        and len(text) <= MAX_CAPTION
        and not text.endswith(("。", "！", "？", "；"))
    )


def _trafilatura_body(html: str) -> list[str]:
    import trafilatura  # imported only for the pages our layer could not read

    text = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False)
    return [
        p for p in (line.strip() for line in (text or "").splitlines()) if p and not noise_reason(p)
    ]


# -- title ----------------------------------------------------------------------------------


def _title_from_tag(page_title: str) -> str:
    parts = [p for p in _TITLE_SPLIT_RE.split(page_title) if p]
    return max(parts[:2], key=len) if parts else ""


def _find_title(lines: list[Line], page_title: str, first_body: int) -> int | None:
    """Index of the headline line.

    A heading above (or at the top of) the body wins when the `<title>` starts with it, or
    when it is an h1 or marked as a title; a line that only matches the site-name part of the
    `<title>` (网易娱乐) gets no credit. Failing that, the nearest heading-like line above the
    body."""
    tag_text = page_title.replace(" ", "")
    later_parts = {p.replace(" ", "") for p in _TITLE_SPLIT_RE.split(page_title)[1:] if p}
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
        compact = _clean_title(text).replace(" ", "")
        if _named_by_title(text, page_title):
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


def _headline_continued(lines: list[Line], title_idx: int | None, page_title: str) -> list[int]:
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


def _named_by_title(text: str, page_title: str) -> bool:
    """The `<title>` starts with this heading (or its first part is exactly it, however short)."""
    compact = _clean_title(text).replace(" ", "")
    first_part = _TITLE_SPLIT_RE.split(page_title)[0].replace(" ", "")
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


def _clean_title(text: str) -> str:
    """The headline without a forum's 主题： label or a wiki's [编辑] link."""
    return _TITLE_TAIL_RE.sub("", _TITLE_LABEL_RE.sub("", text)).strip()


_KICKER_MARK_RE = re.compile(r"yinti|kicker|pretitle|\byt\b", re.I)
_SUBTITLE_MARK_RE = re.compile(r"sub|futi|fubt|\bft\b", re.I)


def _kicker_subtitle(lines: list[Line], title_idx: int | None) -> tuple[str | None, str | None]:
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


def _label_like(line: Line) -> bool:
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
    ancestor = _common_ancestor(el, title_el, depth=3)
    if ancestor is None:
        return False
    inside = [x for x in lines if _inside(x.element, ancestor)]
    # A sentence is the first paragraph of a short text, not a 引题/副题.
    return (
        len(inside) <= 5
        and all(len(x.text) <= 60 for x in inside)
        and not line.text.endswith(("。", "！", "？", "；"))
    )


def _common_ancestor(
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
