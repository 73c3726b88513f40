"""来源, author and byline from the short metadata lines around a headline.

Accepted forms, a real sample each:
    来源:劳动者报 浏览: 90                    来源 label (and noise after it)
    发布时间：2024-01-18  来源：西宁市总工会     several labels on one line
    來源：中國藏族網通                          zh-Hant label
    作者：张三  责任编辑：李四                  作者 kept, 责任编辑 is not the author
    ●于国林 刘建军                             e-paper byline
    ……服务基层的基础更加扎实。(西宁市总工会)   attribution closing a reposted report
    2024年05月10日 00:26 每日经济新闻         unlabelled: the name after the time stamp
    中国新闻网 / 2024-05-20 13:09             unlabelled: a name line right above the date
    顶端新闻·河南商报记者马俊峰/文             the paper a reporter writes for
"""

from __future__ import annotations

import re

_STOP = r"(?=\s{2,}|\s*(?:字号|字號|发布|發布|时间|時間|日期|作者|编辑|編輯|责任编辑|責任編輯|浏览|瀏覽|阅读|閱讀|点击|点击数|来源|來源|选稿|分享|返回|【|\||｜)|$)"
SOURCE_RE = re.compile(
    # 图片来源/数据来源 name where a picture or a figure came from, not the article's 来源.
    r"(?<![图圖片据據料表频頻])(?:(?:本文来源|文章来源|来源|來源|稿源|出处|出處|原创|原創)\s*[:：]|(?:出自|摘自|选自|選自)\s*[:：]?)"
    r"\s*(?:(?:来源|來源)\s*[:：]\s*)?([^\s|｜].*?)" + _STOP
)
# A trailing place in brackets after a paper's name; a name opening in brackets.
_PLACE_QUALIFIER_RE = re.compile(r"(?<=\S)[(（][\u4e00-\u9fff]{1,6}[)）]$")
_WRAPPED_RE = re.compile(r"[\[【（(]\s*([^\[\]【】（）()]+?)\s*[\]】）)]")
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
_META_HINT_RE = re.compile(
    r"来源|來源|稿源|出处|出處|原创[:：]|原創[:：]|发布|發布|作者|浏览|瀏覽|阅读|閱讀|时间|時間|日期|编辑|編輯"
)
_DATE_TIME_RE = re.compile(
    r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?"
    r"(?:\s*(?:星期|週|周)[一二三四五六日天])?(?:\s*(?:上午|下午)?\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?"
)
# A publisher's name as printed without a label: a few words, no sentence punctuation.
_NAME_RE = re.compile(r"[\w\u4e00-\u9fff][\w\u4e00-\u9fff·—\-－ ]{1,19}")
# Words that sit next to a date without naming a publisher: buttons, places, counters.
_NOT_A_NAME_RE = re.compile(
    r"^(?:来自|來自|发布于|發佈於|发表于|播报|举报|舉報|分享|收藏|关注|關注|订阅|訂閱|评论|評論|"
    r"登录|登入|浏览|瀏覽|阅读|閱讀|字号|字號|更新|星期|原创|原創|转载|轉載|本站|本网|作者|记者|編輯|编辑)"
)
# A counter beside the date: 0人参与评论, 1665 0 (views, comments).
_COUNTER_RE = re.compile(r"\d+\s*(?:人|次|条|條)|参与|參與|跟贴|跟帖|\d+\s+\d+\s*$")
_ORG_SUFFIX_RE = re.compile(
    r"(?:报|報|网|網|社|台|臺|新闻|新聞|日报|日報|频道|頻道|财经|財經|杂志|雜誌)$"
)
# The paper or agency a reporter writes for: 河南商报记者 张三, 新华社记者 李四.
REPORTER_ORG_RE = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,8}·)?([\u4e00-\u9fff]{2,10}?(?:日报|日報|晚报|晚報|商报|商報|报|報|新闻网|新聞網|网|網|社|电视台|電視台))"
    r"(?:全媒体)?(?:记者|記者|通讯员|通訊員)"
)


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
        value = match.group(1).strip()
        if title := re.match(r"《([^《》]{2,40})》", value):
            value = title.group(1)  # 摘自《上海社会科学院学术季刊》2000年第2期
        if wrapped := _WRAPPED_RE.match(value):
            value = wrapped.group(1)  # [ 人民网 ], （西宁市总工会）
        value = re.split(r"\s+|\d{4}[-年/.]\d{1,2}", value.strip(), maxsplit=1)[0]
        value = _PLACE_QUALIFIER_RE.sub("", value)  # 21世纪经济报道(广州): the paper's city
        opened, closed = len(re.findall(r"[(（]", value)), len(re.findall(r"[)）]", value))
        if opened != closed:  # （来源：上海证券报） cut inside its brackets
            value = value.strip("[]【】（）() ")
        value = _clean(value) or ""
        if value and not _PLACEHOLDER_RE.match(value):
            return value
    return None


def dateline_of(first_paragraph: str) -> str | None:
    """The agency of a dateline opening the body (新华社北京5月19日电 -> 新华社)."""
    match = DATELINE_RE.match(first_paragraph.strip())
    return match.group(1) if match else None


def meta_author(value: str | None, site_names: list[str]) -> str | None:
    """A ``<meta name="author">`` that names a person: not the site (网易, in the site part
    of the `<title>`), a number, an account id (sina_mobile) or a template's
    ``name, email@gmail.com``."""
    value = (value or "").strip()
    if not value or len(value) > 30 or re.search(r"[@_]|^\d+$|^[\W\d]+$", value):
        return None
    if any(value in name for name in site_names):
        return None
    return value


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


def _as_name(text: str) -> str | None:
    text = re.split(r"\s+(?:来自|來自)|\s{2,}", text.strip(), maxsplit=1)[0].strip(" ·|｜")
    if (
        not _NAME_RE.fullmatch(text)
        or _NOT_A_NAME_RE.match(text)
        or _COUNTER_RE.search(text)
        or text.isdigit()
    ):
        return None
    return text


def unlabelled_source(meta_lines: list[str]) -> str | None:
    """The publisher printed without a 来源 label in the short lines under a headline: the
    name after the time stamp (`2024年05月10日 00:26 每日经济新闻`), or a name line right
    above the date line. A short name could be a person's (the author), so a name must look
    like an organisation (报, 网, 新闻 ...) or be at least four characters long."""
    for i, line in enumerate(meta_lines):
        stamp = _DATE_TIME_RE.search(line)
        if not stamp:
            continue
        before = line[: stamp.start()].strip()
        candidates = [line[stamp.end() :], *([before] if before else [])]
        if i > 0:
            candidates.append(meta_lines[i - 1])
        for candidate in candidates:
            name = _as_name(candidate)
            if name and (len(name) >= 4 or _ORG_SUFFIX_RE.search(name)):
                return name
        return None
    return None


def reporter_org(line: str) -> str | None:
    """The paper named in a reporter byline (`顶端新闻·河南商报记者马俊峰` -> 河南商报);
    `本报记者` names none."""
    match = REPORTER_ORG_RE.match(line.strip())
    if not match or match.group(1).startswith(("本报", "本報", "本网", "本網", "本社")):
        return None
    return match.group(1)
