"""来源, author and byline from the short metadata lines around a headline.

Accepted forms, a real sample each:
    来源:劳动者报 浏览: 90                    来源 label (and noise after it)
    发布时间：2024-01-18  来源：西宁市总工会     several labels on one line
    來源：中國藏族網通                          zh-Hant label
    作者：张三  责任编辑：李四                  作者 kept, 责任编辑 is not the author
    ●于国林 刘建军                             e-paper byline
    ……服务基层的基础更加扎实。(西宁市总工会)   attribution closing a reposted report
"""

from __future__ import annotations

import re

_STOP = r"(?=\s{2,}|\s*(?:字号|字號|发布|發布|时间|時間|日期|作者|编辑|編輯|责任编辑|責任編輯|浏览|瀏覽|阅读|閱讀|点击|点击数|字号|【|\||｜)|$)"
SOURCE_RE = re.compile(
    r"(?:本文来源|文章来源|来源|來源|稿源|出处|出處|原创|原創)\s*[:：]\s*(?:(?:来源|來源)\s*[:：]\s*)?([^\s|｜].*?)"
    + _STOP
)
# Values sites print in the 来源 slot that name no source.
_PLACEHOLDER_RE = re.compile(r"^(?:转载|轉載|转载文章|本站|本网|原创|网络|網絡|互联网|未知|不详)$")
# A news-agency dateline opening the body: 新华社北京5月19日电, 据新华社拉萨电.
DATELINE_RE = re.compile(
    r"^[（(【]?\s*据?\s*((?:新华社|中新社|中国新闻社|人民日报|央视新闻|新华网|中新网))[\u4e00-\u9fff]{0,8}?(?:\d{1,2}月\d{1,2}日)?电"
)
AUTHOR_RE = re.compile(r"(?<![责責任])(?:作者|记者|記者|文)\s*[:：/]\s*([^\s|｜].*?)" + _STOP)
BYLINE_RE = re.compile(
    r"^[●■▲◆]\s*(?:(?:本报|本刊|特约)?(?:记者|通讯员|实习生|撰稿)\s*)?(\S.{0,40})$"
)
# A closing attribution in half- or full-width brackets naming an organisation or a paper.
ATTRIBUTION_RE = re.compile(
    r"[(（]\s*([^()（）]{2,24}?(?:工会|工會|总工会|報|报|日报|社|网|網|委员会|委|局|中心|新闻|通讯|通訊))\s*[)）]\s*$"
)
_META_HINT_RE = re.compile(r"来源|來源|发布|發布|作者|浏览|瀏覽|阅读|閱讀|时间|時間|日期|编辑|編輯")


def looks_like_meta(line: str) -> bool:
    """A short line made of labels (来源/发布时间/浏览 ...), not of article text."""
    return len(line) <= 120 and bool(_META_HINT_RE.search(line)) and "。" not in line


def _clean(value: str) -> str | None:
    value = value.strip(" :：|｜,，;；")
    return value or None


def source_of(text: str) -> str | None:
    """The 来源 named by a label; placeholders (转载, 本站) and what trails it (a date, a
    person, 网友评论) are not part of it."""
    for match in SOURCE_RE.finditer(text):
        value = match.group(1).strip().strip("[]【】（）() ")
        value = re.split(r"\s+|\d{4}[-年/.]\d{1,2}", value, maxsplit=1)[0]
        value = _clean(value) or ""
        if value and not _PLACEHOLDER_RE.match(value):
            return value
    return None


def dateline_of(first_paragraph: str) -> str | None:
    """The agency of a dateline opening the body (新华社北京5月19日电 -> 新华社)."""
    match = DATELINE_RE.match(first_paragraph.strip())
    return match.group(1) if match else None


def author_of(text: str) -> str | None:
    match = AUTHOR_RE.search(text)
    return _clean(match.group(1)) if match else None


def byline_of(line: str) -> str | None:
    """The names of an e-paper byline (`●于国林 刘建军` -> `于国林 刘建军`)."""
    match = BYLINE_RE.match(line.strip())
    return _clean(match.group(1)) if match else None


def attribution_of(last_paragraph: str) -> str | None:
    """The organisation in a closing `(西宁市总工会)`; the paragraph itself keeps it."""
    match = ATTRIBUTION_RE.search(last_paragraph.strip())
    return _clean(match.group(1)) if match else None
