"""Where the article's text is on a page: the block whose lines weigh most in Chinese text,
asides (comments, related lists, share bars, navigation) weighing nothing; trafilatura's body
when no block reads as an article."""

from __future__ import annotations

import re
from collections import Counter

from lxml import html as lxml_html

from crawler.extract.clean import cjk_count, noise_reason
from crawler.extract.headline import named_by_title
from crawler.extract.lines import Line, common_ancestor, inside
from crawler.seeds import ExtractHints

_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 li dd dt blockquote pre center figcaption span font".split()
)
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
RELATED_RE = re.compile(
    r"^(?:(?:相关|相關|延伸|推荐|推薦|热点|熱點|热门|熱門|更多)(?:报道|報道|新闻|新聞|阅读|閱讀|文章|链接|鏈接|推荐|推薦|日志|日誌)"
    r"|猜你喜欢|猜你喜歡|为你推荐|為你推薦|大家都在看|你可能还想看|你可能還想看|你可能也喜欢|你可能也喜歡)"
    r"\s*[:：]?\s*$"
)
_ASIDE_TAGS = frozenset(("aside", "nav", "footer"))
_WORD_SPLIT_RE = re.compile(r"[^a-z0-9]+")


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


class Asides:
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


def related_sections(lines: list[Line]) -> set[lxml_html.HtmlElement]:
    """Sections that open with a 猜你喜欢 / 相关新闻 heading: other articles' teasers."""
    sections = set()
    for i, line in enumerate(lines):
        if not RELATED_RE.match(line.text):
            continue
        # The smallest block that the heading opens and that holds more than the heading. A
        # 相关报道 line under the text, in a block that holds the article too, does not open
        # it; that one is handled where the body ends.
        el = line.element.getparent()
        following = lines[i + 1].element if i + 1 < len(lines) else None
        while el is not None and el.tag not in ("body", "html"):
            if i > 0 and inside(lines[i - 1].element, el):
                break
            if following is not None and inside(following, el):
                sections.add(el)
                break
            el = el.getparent()
    return sections


def _line_weight(line: Line, asides: Asides | None = None) -> float:
    if noise_reason(line.text) or line.link_chars > 0.5 * len(line.text):
        return 0.0
    if asides is not None and asides(line.element):
        return 0.0
    cjk = cjk_count(line.text)
    punctuation = line.text.count("，") + line.text.count("。") + line.text.count(",")
    # Text around links is a teaser list (title link + author + date) more often than prose.
    unlinked = 1 - line.link_chars / len(line.text)
    return (cjk * (1.0 if cjk >= 20 else 0.3) + 3 * punctuation) * unlinked * unlinked


def find_container(
    doc: lxml_html.HtmlElement, lines: list[Line], hints: ExtractHints, asides: Asides
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


def widen_to_headline(
    lines: list[Line],
    title_idx: int,
    page_title: str,
    container: lxml_html.HtmlElement,
    in_body: list[int],
    asides: Asides,
) -> lxml_html.HtmlElement | None:
    """The block holding both the headline and the best text block, when real text stands
    between them: reference pages and poems put a summary, the original and a translation in
    sections of their own above the longest one. A news page's meta lines, share bars and
    lead picture between headline and text weigh next to nothing and leave it as it was."""
    if not in_body or title_idx >= in_body[0]:
        return None
    if not named_by_title(lines[title_idx].text, page_title):
        return None  # only a headline the <title> confirms is trusted this far
    headline = lines[title_idx].text
    weights = [
        _line_weight(line, asides)
        for line in lines[title_idx + 1 : in_body[0]]
        if line.text != headline  # a second copy of the headline is no section
    ]
    between = sum(weights)
    in_text = sum(_line_weight(lines[i], asides) for i in in_body)
    if between < 0.2 * in_text or between < 25 or sum(1 for w in weights if w >= 3) < 2:
        return None  # (one paragraph alone there is a promotion more often than a section)
    return common_ancestor(lines[title_idx].element, container, depth=12)


def is_caption(line: Line) -> bool:
    text = line.text
    if line.caption_hint:
        return True
    return (
        line.after_image
        and len(text) <= MAX_CAPTION
        and not text.endswith(("。", "！", "？", "；"))
    )


def trafilatura_body(html: str) -> list[str]:
    import trafilatura  # imported only for the pages our layer could not read

    text = trafilatura.extract(html, include_comments=False, include_tables=True, deduplicate=False)
    return [
        p for p in (line.strip() for line in (text or "").splitlines()) if p and not noise_reason(p)
    ]
