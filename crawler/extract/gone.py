"""Soft 404s: a page that answers 200 but says the article is not there.

CMSs on small government sites often serve their "页面不存在" page with status 200, or send a
deleted article's URL to a stub in the site frame. Only a page that did not give an article, or
gave a stub of a body, is asked; a real article that mentions a deleted page keeps its text.
"""

from __future__ import annotations

import re

# The message, in both scripts: 页面/文章/信息… 不存在/已删除/已撤销…, and the English forms.
_GONE_RE = re.compile(
    r"(?:页面|頁面|网页|網頁|文章|信息|資訊|内容|內容|稿件|新闻|新聞)[^。！!\n<]{0,12}"
    r"(?:不存在|已被?[删刪]除|已被?撤[销銷下]|已下线|已過期|已过期|找不到|无法找到|無法找到)"
    r"|\b404\s*(?:not\s*found|错误|錯誤)|\bpage\s+not\s+found\b",
    re.I,
)
_TAG_RE = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.I | re.S)
# A stub: real articles that survive validation are longer than a not-found message.
STUB_BODY_CHARS = 120


def is_soft_404(html: str, body: str | None = None) -> bool:
    """Does this page say its article is gone? ``body``: what extraction kept, if anything."""
    if body is not None and len(body) > STUB_BODY_CHARS:
        return False
    text = body if body and _GONE_RE.search(body) else _TAG_RE.sub(" ", html)
    return bool(_GONE_RE.search(text))
