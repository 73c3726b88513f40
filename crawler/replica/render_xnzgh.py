"""西宁市总工会 site (VSB-style CMS): GBK bytes, ``<meta charset="gbk">`` right, HTTP header wrong.

Layout (links relative to the page, as VSB writes them):
    /                         home, also /index.htm
    /ghyw.htm, /ghyw/1.htm    工会要闻 list, 5 per page; VSB numbers the older pages
                              backwards, so with two pages the second is ghyw/1.htm
    /info/1021/<id>.htm       article
Article page: ``div.content`` holds ``div.yt`` (引题 / kicker), ``h1.title``, ``div.ft``
(副题 / subtitle), ``div.info`` (发布时间：2023年09月20日 08:30  来源：…  点击数：…), then
``div#vsb_content > div.v_news_content`` with the body ``<p>``; headings are ``<p><strong>``;
a photo is ``<p class="vsbcontent_img">`` with the ``<img>`` and its caption is the centred
``<p>`` after it. Some paragraphs repeat verbatim, as published.
"""

from __future__ import annotations

import datetime as dt

from crawler.replica.data import Article, SiteData
from crawler.replica.pages import SOFT_404_MESSAGE, Encoding, PageSet, esc, spacing
from crawler.replica.pages import relative_link as _rel

ENCODING = Encoding(codec="gbk", content_type="text/html; charset=iso-8859-1")
SERVER = "Apache"
PER_PAGE = 5
LIST_FIRST = "/ghyw.htm"
TEMPLATE_2026 = "vsb2026"  # site.meta["template"]: the new article template


def _list_path(n: int, pages: int) -> str:
    return LIST_FIRST if n == 1 else f"/ghyw/{pages - n + 1}.htm"


def _head(here: str | None, title: str, description: str = "") -> str:
    """here=None: root-relative links (the 404 page is served at any path)."""

    def r(p: str) -> str:
        return p if here is None else _rel(here, p)

    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="gbk">
<title>{esc(title)}</title>
<meta name="keywords" content="西宁市总工会,西宁工会,职工">
<meta name="description" content="{esc(description)}">
<link rel="stylesheet" href="{r("/style/style.css")}">
<script type="text/javascript" src="{r("/system/resource/js/dynclicks.js")}"></script>
</head>
<body>
<div class="header"><img src="{r("/images/xngh_logo.png")}" alt="西宁市总工会"></div>
<div class="nav"><ul>
  <li><a href="{r("/index.htm")}">首页</a></li>
  <li><a href="{r(LIST_FIRST)}">工会要闻</a></li>
  <li><a href="{r("/search")}?wd=%B9%A4%BB%E1">站内搜索</a></li>
</ul></div>
<div class="main">
"""


def _foot(here: str | None) -> str:
    admin = "/admin/" if here is None else _rel(here, "/admin/")
    return f"""</div>
<div class="footer">
  <p>版权所有：西宁市总工会 &nbsp; <a href="https://beian.miit.gov.cn/" target="_blank">\
青ICP备案信息</a> &nbsp; <a href="{admin}">管理入口</a></p>
  <p>友情链接：<a href="http://www.acftu.org/" target="_blank">中华全国总工会</a> \
<a href="http://www.xining.gov.cn/" target="_blank">西宁市人民政府</a></p>
</div>
</body>
</html>
"""


def _date_cn(a: Article) -> str:
    y, m, d = a.published.split("-")
    return f"{y}年{m}月{d}日 {a.published_time}"


def _content(a: Article) -> str:
    lead, trail, between = spacing(a)
    out = []
    for b in a.blocks:
        if b.kind == "p":
            out.append(f"<p>{lead}{esc(b.text)}{trail}</p>")
        elif b.kind == "h":
            out.append(f"<p>{lead}<strong>{esc(b.text)}</strong>{trail}</p>")
        else:
            out.append(
                f'<p class="vsbcontent_img" style="text-align: center;">'
                f'<img src="{b.src}" width="600" border="0"></p>'
            )
            if b.caption:
                out.append(f'<p style="text-align: center;">{esc(b.caption)}</p>')
    return between.join(out)


def _info(site: SiteData, a: Article) -> str:
    clicks = f'点击数：<span id="dynclicks_wbnews_{a.id}">{a.views}</span>'
    if site.meta.get("template") == TEMPLATE_2026:
        # The CMS's new template (the replica's template-change night, crawler.replica.incident):
        # date and 来源 are data attributes a script prints, so the page's text has neither.
        ms = int(
            dt.datetime.fromisoformat(
                f"{a.published}T{a.published_time or '08:00'}+08:00"
            ).timestamp()
            * 1000
        )
        return (
            f'  <div class="info" data-pubtime="{ms}" data-origin="{esc(a.source_label or "")}">'
            f'<span class="pubtime"></span><span class="origin"></span>&nbsp;&nbsp;{clicks}</div>\n'
            "  <script>vsbShowInfo();</script>\n"
        )
    return (
        f'  <div class="info">发布时间：{_date_cn(a)}&nbsp;&nbsp;来源：{esc(a.source_label or "")}'
        f"&nbsp;&nbsp;{clicks}</div>\n"
    )


def _article(site: SiteData, a: Article) -> str:
    older, newer = site.neighbours(a)

    def link(x: Article | None) -> str:
        return f'<a href="{_rel(a.path, x.path)}">{esc(x.title)}</a>' if x else "没有了"

    yt = f'  <div class="yt">{esc(a.kicker)}</div>\n' if a.kicker else ""
    ft = f'  <div class="ft">{esc(a.subtitle)}</div>\n' if a.subtitle else ""
    first = next(b.text for b in a.blocks if b.kind == "p")
    return (
        _head(a.path, f"{a.title}-西宁市总工会", first[:60])
        + f"""<div class="dqwz">当前位置：\
<a href="{_rel(a.path, "/index.htm")}">首页</a> &gt;&gt; <a href="{_rel(a.path, LIST_FIRST)}">\
工会要闻</a> &gt;&gt; 正文</div>
<form name="_newscontent_fromname">
<div class="content">
{yt}  <h1 class="title">{esc(a.title)}</h1>
{ft}{_info(site, a)}  <div id="vsb_content"><div class="v_news_content">
{_content(a)}
  </div></div>
  <div class="tools">【<a href="javascript:window.print()">打印本页</a>】\
【<a href="javascript:window.close()">关闭窗口</a>】</div>
  <div class="fy">上一条：{link(older)}<br>下一条：{link(newer)}</div>
</div>
</form>
"""
        + _foot(a.path)
    )


def _list_page(n: int, pages: int, items: list[tuple[str, str, str]]) -> str:
    here = _list_path(n, pages)
    rows = "\n".join(
        f'  <li><a href="{_rel(here, p)}" title="{esc(t)}">{esc(t)}</a><span>{d}</span></li>'
        for p, t, d in items
    )

    def href(k: int) -> str:
        return _rel(here, _list_path(k, pages))

    nav = [f"共{pages}页 第{n}页", f'<a href="{href(1)}">首页</a>']
    nav.append(f'<a href="{href(n - 1)}">上页</a>' if n > 1 else "上页")
    nav.append(f'<a href="{href(n + 1)}">下页</a>' if n < pages else "下页")
    nav.append(f'<a href="{href(pages)}">尾页</a>')
    return (
        _head(here, "工会要闻-西宁市总工会")
        + f"""<div class="dqwz">当前位置：\
<a href="{_rel(here, "/index.htm")}">首页</a> &gt;&gt; 工会要闻</div>
<ul class="list">
{rows}
</ul>
<div class="fanye">{" ".join(nav)}</div>
"""
        + _foot(here)
    )


def render(site: SiteData, out: PageSet) -> None:
    arts = site.newest_first()
    chunks = site.list_pages(PER_PAGE)
    for n, chunk in enumerate(chunks, start=1):
        out.add(_list_path(n, len(chunks)), _list_page(n, len(chunks), chunk))
    for a in arts:
        out.add_article(a, _article(site, a))
    top = arts[0]
    rows = "\n".join(
        f'  <li><a href="{a.path[1:]}">{esc(a.title)}</a><span>{a.published}</span></li>'
        for a in arts[:6]
    )
    home = (
        _head("/index.htm", "西宁市总工会")
        + f"""<div class="toutiao">\
<a href="{top.path[1:]}"><h2>{esc(top.title)}</h2></a></div>
<div class="box"><h3>工会要闻 <a href="ghyw.htm" class="more">更多&gt;&gt;</a></h3>
<ul class="list">
{rows}
</ul></div>
"""
        + _foot("/index.htm")
    )
    out.add("/", home)
    out.add("/index.htm", home)


def page_noise(site: SiteData, a: Article) -> list[str]:
    older, newer = site.neighbours(a)
    noise = [f"发布时间：{_date_cn(a)}", f"点击数：{a.views}"]
    noise += [x.title for x in (older, newer) if x is not None]
    return noise


def not_found(site: SiteData) -> str:
    return (
        _head(None, "页面不存在-西宁市总工会")
        + """<div class="error">\
<h2>404 Not Found</h2><p>对不起，您访问的页面不存在。</p><p><a href="/index.htm">返回首页</a></p></div>
"""
        + _foot(None)
    )


def soft_404(site: SiteData) -> str:
    """What VSB shows, with status 200, where a deleted article was."""
    return (
        _head(None, "提示信息-西宁市总工会")
        + f'<div class="error"><p>{SOFT_404_MESSAGE}</p><p><a href="/index.htm">返回首页</a></p></div>\n'
        + _foot(None)
    )


def disallowed_page(site: SiteData, kind: str) -> str:
    text = "站内搜索" if kind == "search" else "管理入口"
    return _head(None, f"{text}-西宁市总工会") + f"<div>{text}</div>\n" + _foot(None)
