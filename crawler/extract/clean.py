"""Line-level boilerplate of Chinese news pages: what is never article text.

Each rule has a name; `noise_reason(line)` says which rule a line falls under, so tests and
logs can tell why a line left the body. Rules look at whole lines (a paragraph of the page),
never at substrings inside running text, so legitimate parentheses such as (西宁市总工会),
(2018——2023) and 150场(次) are untouched.
"""

from __future__ import annotations

import re

CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A line made only of image file names, possibly with spaces and glued together:
# "2-3 通版.jpg", "2-3 通版.jpg2-3 通版.jpg", "IMG_0012.JPG".
IMAGE_FILE_LINE_RE = re.compile(
    r"(?:[^。，,！？!?；;：:\n]{0,60}?\.(?:jpe?g|png|gif|bmp|webp|tiff?))+", re.IGNORECASE
)
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "licence_footer",
        re.compile(
            r"ICP[备備]|ICP证|公网安备|版权所有|版權所有|copyright|all rights reserved|©", re.I
        ),
    ),
    (
        "address_footer",
        re.compile(r"^(?:地址|地 址|通讯地址)[:：].*(?:邮编|郵編|电话|電話)|^邮编[:：]"),
    ),
    (
        # 责任编辑：李四 / 【编辑:刘欢】 closing an article: staff credits, not text (作者 and
        # bylines are taken as fields before this rule sees them).
        "editor_credit",
        re.compile(
            r"^[【\[(（]?\s*(?:责任编辑|責任編輯|编辑|編輯|责编|責編|审核|審核|校对|校對)\s*[:：][^。]{0,20}$"
            r"|^返回搜狐，?查看更多$"
        ),
    ),
    (
        "ui_button",
        re.compile(
            r"^(?:播报|播報|播报文章|编辑|編輯|收藏|查看我的收藏|举报|舉報|纠错|糾錯|点赞|點讚|评论|評論|"
            r"发表评论|發表評論|更多|更多>+|返回|返回列表|返回首页|返回顶部|打印本文|发送给朋友)$"
        ),
    ),
    (
        "breadcrumb",
        re.compile(
            r"^(?:当前位置|當前位置|您的位置|你的位置|您现在的位置|现在位置)\s*[:：]"
            r"|^(?:首页|首頁|网站首页|網站首頁|主页|主頁)\s*(?:>|＞|»|›|→|-|—|/)"
        ),
    ),
    ("prev_next", re.compile(r"上一篇|下一篇|上一條|下一條|上一条|下一条")),
    (
        "epaper_nav",
        re.compile(
            r"^(?:版面导航|版面導航|站内检索|站內檢索|下一版|上一版|往期回顾|标题导航)|^第\s*\d+\s*版[:：]"
        ),
    ),
    (
        "font_tools",
        re.compile(
            r"放大\s*缩小\s*默认|【\s*大\s*中\s*小\s*】|字[号號体體][:：]?\s*[大中小]|^[大中小]字[号號]$"
            r"|^(?:打印|关闭|关闭窗口|打印本页|返回顶部|Top|链接已复制|複製鏈接|复制链接)$",
            re.I,
        ),
    ),
    (
        "view_counter",
        re.compile(
            r"(?:浏览|瀏覽|阅读|閱讀|点击|點擊|访问)(?:次数|量|数)?\s*[:：]\s*\d+|\d+\s*次(?:浏览|阅读)|您是本文第\s*\d+\s*(?:个|位)"
        ),
    ),
    (
        "teaser",
        re.compile(r"(?:\.\.\.|…+)\s*[\[【]\s*(?:详情|詳情|更多|全文)\s*[\]】]\s*$|更多\s*>+\s*$"),
    ),
    (
        # 免责声明：本文来自…自媒体 / 图片来自网络，如有侵权请联系删除: the platform's notice.
        "disclaimer",
        re.compile(
            r"^[(（]?免责声明[:：]|如有侵权.{0,12}删除|^[(（]?图片(?:均)?来(?:自|源于?)网络"
        ),
    ),
    (
        # The WeChat article's own buttons and prompts, pasted with the text by reposting sites.
        "wechat_prompt",
        re.compile(
            r"点击菜单栏|点【在看】|^看都看完了|点击上方[“\"]?蓝字|^点击进入专题[:：]?$"
            r"|^用?微信扫(?:一扫|码)"
        ),
    ),
    ("end_mark", re.compile(r"^[-—–=\s]*(?:THE\s+END|END|全文完)[-—–=\s]*$", re.I)),
    (
        "share_bar",
        re.compile(
            r"^(?:分享到|分享)[:：]?|^(?:\d+\s+)?(?:微博|微信(?:公众号)?|今日头条|抖音|QQ空间|Top)(?:\s+(?:微博|微信(?:公众号)?|今日头条|抖音|QQ空间|Top))*$"
        ),
    ),
)


def cjk_count(text: str) -> int:
    return len(CJK_RE.findall(text))


def noise_reason(line: str) -> str | None:
    """The name of the rule a line breaks, or None when it may be article text."""
    text = line.strip()
    if not text:
        return "empty"
    if IMAGE_FILE_LINE_RE.fullmatch(text):
        return "image_file_name"
    for name, pattern in _RULES:
        if pattern.search(text):
            # Long lines are running text that happens to mention e.g. "版权所有" in a sentence.
            if name in ("licence_footer", "view_counter", "prev_next") and len(text) > 120:
                continue
            return name
    return None


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace (incl. U+3000 and NBSP) inside a line; trim the ends."""
    return re.sub(r"[\s\u3000\xa0]+", " ", text).strip()


def without_decoding_debris(lines: list[str]) -> tuple[list[str], int]:
    """The body without its lines made only of U+FFFD, and how many went.

    A page whose bytes are sound but for a few broken sequences (a 4-byte emoji cut in two,
    seen on real news pages) decodes to a line of replacement characters and nothing lost
    around it; the raw capture keeps the bytes. A page decoded with the wrong charset has
    replacement characters all through its text: then nothing is taken out, so it is refused
    as garbled (``article.validate``), not quietly emptied.
    """
    rest = [line for line in lines if not _debris(line)]
    gone = len(lines) - len(rest)
    text = "\n".join(rest)
    if not gone or gone >= len(rest) or text.count("\ufffd") > max(3, len(text) // 200):
        return lines, 0
    return rest, gone


def _debris(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.strip("\ufffd \u3000")
