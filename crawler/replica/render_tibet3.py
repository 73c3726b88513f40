"""中國藏族網通 (tibet3.com) traditional-Chinese mirror: UTF-8, declared correctly twice.

The mirror runs every article through a simplified-to-traditional converter that leaves pinyin
after some characters (``網(wǎng)``, ``勞動(dòng)``) and loses others as ``?``; the text is kept
exactly as published. Template text (navigation, labels, 來源) is not converted.

Layout (root-relative links):
    /                                          home, also /index.htm
    /news/zangqu/index.htm, index_2.htm        藏區新聞 list, 6 per page
    /news/zangqu/<YYYY-MM>/<DD>/content_<id>.htm   article
Article page: ``div.article > h1#title``; ``div.info`` with ``span#pubtime``
(2022-07-25 09:12:00) and ``span#source`` (來源：…); ``div#text.content`` with the body ``<p>``
(indented with U+3000); ``div.editor`` (（責任編輯：…）); then ``div.xgxw`` 相關新聞, items
``<li><p>teaser... <a>[詳情]</a></p></li>``, and a right column ``div.hot`` of titles.
"""

from __future__ import annotations

from crawler.replica.data import Article, SiteData
from crawler.replica.pages import SOFT_404_MESSAGE_HANT, Encoding, PageSet, esc

ENCODING = Encoding(codec="utf-8", content_type="text/html; charset=utf-8")
SERVER = "nginx/1.14.0"
PER_PAGE = 6
LIST = "/news/zangqu/index{}.htm"


def _head(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-Hant">
<head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<meta name="keywords" content="中國藏族網通,藏區新聞,青海,西藏">
<link rel="stylesheet" href="/css/ft_style.css">
<script src="/js/doZoom.js"></script>
</head>
<body>
<div class="top"><div class="w1000"><a href="/">中國藏族網通首頁</a> | \
<a href="http://www.tibet3.com/" target="_blank">簡體版</a> | <a href="/admin/">管理</a></div></div>
<div class="header w1000"><a href="/"><img src="/images/logo_ft.png" alt="中國藏族網通"></a>
<form action="/search" method="get" class="search"><input type="text" name="keyword">\
<input type="submit" value="搜索"></form></div>
<div class="nav w1000"><a href="/">首頁</a><a href="{LIST.format("")}">藏區新聞</a>\
<a href="/search?keyword=%E5%B7%A5%E6%9C%83">工會動態</a></div>
"""


_FOOT = """<div class="footer w1000">
<p><a href="/">網站首頁</a> | <a href="/index.htm">網站地圖</a> | \
<a href="https://beian.miit.gov.cn/" target="_blank">ICP備案</a></p>
<p>中國藏族網通 版權所有 未經授權禁止複製或建立鏡像</p>
</div>
</body>
</html>
"""


def _teaser(a: Article) -> str:
    return a.body[0] + "..."


def _hot(site: SiteData, a: Article | None) -> list[Article]:
    return [x for x in site.newest_first() if x is not a][:5]


def _right(site: SiteData, a: Article | None) -> str:
    rows = "\n".join(
        f'<li><a href="{x.path}" target="_blank">{esc(x.title)}</a></li>' for x in _hot(site, a)
    )
    return f'<div class="right"><div class="hot"><h3>熱門點擊</h3><ul>\n{rows}\n</ul></div></div>'


def _article(site: SiteData, a: Article) -> str:
    by_id = {x.id: x for x in site.articles}
    related = "\n".join(
        f'<li><p>{esc(_teaser(r))} <a href="{r.path}" target="_blank">[詳情]</a></p></li>'
        for r in (by_id[i] for i in a.extra.get("related", ()))
    )
    paras = "\n".join(f"<p>\u3000\u3000{esc(t)}</p>" for t in a.body)
    return (
        _head(f"{a.title}_中國藏族網通")
        + f"""<div class="position w1000">當前位置：\
<a href="/">首頁</a> &gt; <a href="{LIST.format("")}">藏區新聞</a> &gt; 正文</div>
<div class="main w1000"><div class="left">
<div class="article">
<h1 id="title">{esc(a.title)}</h1>
<div class="info"><span id="pubtime">{a.published} {a.published_time}</span>&nbsp;&nbsp;\
<span id="source">來源：{esc(a.source_label or "")}</span>&nbsp;&nbsp;字號：\
<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> \
<a href="javascript:doZoom(14)">小</a></div>
<div class="content" id="text">
{paras}
</div>
<div class="editor">（責任編輯：{esc(a.extra.get("editor", ""))}）</div>
</div>
<div class="xgxw"><div class="tit">相關新聞</div><ul>
{related}
</ul></div>
</div>
{_right(site, a)}
</div>
"""
        + _FOOT
    )


def _list_page(site: SiteData, n: int, pages: int, items: list[tuple[str, str, str]]) -> str:
    rows = "\n".join(
        f'<li><a href="{p}" target="_blank">{esc(t)}</a><span>{d}</span></li>' for p, t, d in items
    )

    def href(k: int) -> str:
        return LIST.format("" if k == 1 else f"_{k}")

    nav = [
        f'<a href="{href(k)}">{k}</a>' if k != n else f"<span>{k}</span>"
        for k in range(1, pages + 1)
    ]
    if n < pages:
        nav.append(f'<a href="{href(n + 1)}">下一頁</a>')
    return (
        _head("藏區新聞_中國藏族網通")
        + f"""<div class="position w1000">當前位置：\
<a href="/">首頁</a> &gt; 藏區新聞</div>
<div class="main w1000"><div class="left"><ul class="list">
{rows}
</ul>
<div class="page">{"".join(nav)}</div></div>
{_right(site, None)}
</div>
"""
        + _FOOT
    )


def render(site: SiteData, out: PageSet) -> None:
    arts = site.newest_first()
    chunks = site.list_pages(PER_PAGE)
    for n, chunk in enumerate(chunks, start=1):
        out.add(LIST.format("" if n == 1 else f"_{n}"), _list_page(site, n, len(chunks), chunk))
    for a in arts:
        out.add_article(a, _article(site, a))
    rows = "\n".join(f'<li><a href="{x.path}">{esc(x.title)}</a></li>' for x in arts[:6])
    home = (
        _head("中國藏族網通")
        + f"""<div class="main w1000"><div class="left">
<div class="box"><h3><a href="{LIST.format("")}">藏區新聞</a></h3><ul>
{rows}
</ul><a href="{LIST.format("")}" class="more">更多&gt;&gt;</a></div></div>
{_right(site, None)}
</div>
"""
        + _FOOT
    )
    out.add("/", home)
    out.add("/index.htm", home)


def page_noise(site: SiteData, a: Article) -> list[str]:
    by_id = {x.id: x for x in site.articles}
    noise = [f"{a.published} {a.published_time}", f"責任編輯：{a.extra.get('editor', '')}"]
    noise += [_teaser(by_id[i]) for i in a.extra.get("related", ())]
    noise += [x.title for x in _hot(site, a)]
    return noise


def not_found(site: SiteData) -> str:
    return (
        _head("404_中國藏族網通")
        + """<div class="main w1000"><h2>404 頁面不存在</h2>
<p>您訪問的頁面不存在或已刪除。<a href="/">返回首頁</a></p></div>
"""
        + _FOOT
    )


def soft_404(site: SiteData) -> str:
    """What the mirror shows, with status 200, where a deleted article was."""
    return (
        _head("提示信息_中國藏族網通")
        + f"""<div class="main w1000"><p>{SOFT_404_MESSAGE_HANT}</p>
<p><a href="/">返回首頁</a></p></div>
"""
        + _FOOT
    )


def disallowed_page(site: SiteData, kind: str) -> str:
    text = "搜索結果" if kind == "search" else "管理登錄"
    return _head(f"{text}_中國藏族網通") + f"<div>{text}</div>\n" + _FOOT
