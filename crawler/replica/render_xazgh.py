"""西安市总工会 CMS: div layout, GBK bytes with no charset anywhere (header or ``<meta>``).

Layout (TRS-style, links relative to the page):
    /                                      home, also /index.html
    /xwzx/ghdt/ (= index.html), index_1.html   工会动态 list, 5 per page
    /xwzx/ghdt/<YYYYMM>/t<YYYYMMDD>_<id>.html  article
Article page: ``div.article > h1.article-title``; ``div.article-info`` holds
``span.time`` (2023-11-02), ``span.source`` (来源:劳动者报) and ``span.hits`` (浏览: 90);
``div.article-content`` holds the body ``<p>`` (indented with ``&nbsp;``), in-body headings as
centred ``<p><strong>``, pictures as centred ``<p><img></p>`` followed by a centred ``<p>``
that is either a real caption or just the picture's file name (``2-3 通版.jpg``, twice in one
``<p>`` where the CMS doubled it). Then the share bar ``div.article-share`` and ``a.gotop``.
"""

from __future__ import annotations

from crawler.replica.data import Article, SiteData
from crawler.replica.pages import SOFT_404_MESSAGE, Encoding, PageSet, esc
from crawler.replica.pages import relative_link as _rel

ENCODING = Encoding(codec="gbk", content_type="text/html")
SERVER = "nginx"
PER_PAGE = 5
LIST_DIR = "/xwzx/ghdt/"

_HEAD = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="stylesheet" type="text/css" href="/statics/css/style.css">
<script type="text/javascript" src="/statics/js/jquery.min.js"></script>
</head>
<body>
<div class="topbar"><div class="wrap"><span class="welcome">欢迎访问西安市总工会网站</span>\
<a href="/admin/index.php" class="login">后台管理</a></div></div>
<div class="header"><div class="wrap">
  <a href="/" class="logo"><img src="/statics/images/logo.png" alt="西安市总工会"></a>
  <form class="search" action="/search/index.php" method="get"><input type="text" \
name="keyword" placeholder="请输入关键字"><button type="submit">搜索</button></form>
</div></div>
<div class="nav"><div class="wrap"><ul>
  <li><a href="/">首页</a></li>
  <li><a href="/xwzx/ghdt/">工会动态</a></li>
  <li><a href="/search/index.php?keyword=%C0%CD%C4%A3">劳模风采</a></li>
</ul></div></div>
"""

_FOOT = """<div class="footer"><div class="wrap">
  <p>主办：西安市总工会 &nbsp; 地址：西安市新城区 &nbsp; 版权所有</p>
  <p><a href="https://beian.miit.gov.cn/" target="_blank">陕ICP备案信息</a> &nbsp; \
<a href="http://www.acftu.org/" target="_blank">中华全国总工会</a></p>
</div></div>
</body>
</html>
"""


def _foot(site: SiteData) -> str:
    """The footer; from day 1 of the timeline it carries the copyright years (noise)."""
    years = site.meta.get("footer_years")
    return _FOOT.replace("版权所有</p>", f"版权所有 {years}</p>") if years else _FOOT


def _content(a: Article) -> str:
    out = []
    for b in a.blocks:
        if b.kind == "p":
            out.append(f"<p>&nbsp; &nbsp; {esc(b.text)}</p>")
        elif b.kind == "h":
            out.append(f'<p style="text-align: center;"><strong>{esc(b.text)}</strong></p>')
        else:
            alt = f' alt="{esc(b.label)}" title="{esc(b.label)}"' if b.label else ""
            imgs = "".join(f'<img src="{b.src}"{alt}>' for _ in range(b.repeat))
            out.append(f'<p style="text-align: center;">{imgs}</p>')
            under = b.caption or b.label
            if under:
                spans = "".join(f"<span>{esc(under)}</span>" for _ in range(b.repeat))
                out.append(f'<p style="text-align: center;">{spans}</p>')
    return "\n".join(out)


def _article(site: SiteData, a: Article) -> str:
    older, newer = site.neighbours(a)

    def link(x: Article | None) -> str:
        return f'<a href="{_rel(a.path, x.path)}">{esc(x.title)}</a>' if x else "没有了"

    share = "http://service.weibo.com/share/share.php?title=" + "%E8%A5%BF%E5%AE%89"
    return (
        _HEAD.format(title=esc(f"{a.title}_西安市总工会"))
        + f"""<div class="wrap main">
<div class="location">您当前的位置：<a href="/">首页</a> &gt; \
<a href="{_rel(a.path, LIST_DIR)}">工会动态</a></div>
<div class="article">
  <h1 class="article-title">{esc(a.title)}</h1>
  <div class="article-info"><span class="time">{a.published}</span> \
<span class="source">来源:{esc(a.source_label or "")}</span> \
<span class="hits">浏览: {a.views}</span></div>
  <div class="article-content">
{_content(a)}
  </div>
  <div class="article-share"><span class="zan">0</span>
    <a href="{share}" target="_blank">微博</a>
    <a href="javascript:;" class="wx">微信公众号</a>
    <a href="https://www.toutiao.com/" target="_blank">今日头条</a>
    <a href="https://www.douyin.com/" target="_blank">抖音</a>
  </div>
  <div class="article-tools">【<a href="javascript:window.print();">打印</a>】\
【<a href="javascript:window.close();">关闭</a>】</div>
  <div class="article-pn"><p>上一篇：{link(older)}</p><p>下一篇：{link(newer)}</p></div>
</div>
</div>
<a href="#" class="gotop">Top</a>
"""
        + _foot(site)
    )


def _list_page(site: SiteData, page_no: int, pages: int, items: list[tuple[str, str, str]]) -> str:
    here = LIST_DIR + ("index.html" if page_no == 1 else f"index_{page_no - 1}.html")

    def href(n: int) -> str:
        return "index.html" if n == 1 else f"index_{n - 1}.html"

    rows = "\n".join(
        f'  <li><a href="{_rel(here, p)}" target="_blank">{esc(t)}</a>'
        f'<span class="date">{d}</span></li>'
        for p, t, d in items
    )
    nav = [f'<a href="{href(1)}">首页</a>']
    if page_no > 1:
        nav.append(f'<a href="{href(page_no - 1)}">上一页</a>')
    nav += [
        f'<a href="{href(n)}">{n}</a>' if n != page_no else f'<span class="cur">{n}</span>'
        for n in range(1, pages + 1)
    ]
    if page_no < pages:
        nav.append(f'<a href="{href(page_no + 1)}">下一页</a>')
    nav.append(f'<a href="{href(pages)}">尾页</a>')
    return (
        _HEAD.format(title="工会动态_西安市总工会")
        + f"""<div class="wrap main">
<div class="location">您当前的位置：<a href="/">首页</a> &gt; 工会动态</div>
<ul class="news-list">
{rows}
</ul>
<div class="pagination">{"".join(nav)}</div>
</div>
"""
        + _foot(site)
    )


def render(site: SiteData, out: PageSet) -> None:
    arts = site.newest_first()
    chunks = site.list_pages(PER_PAGE)
    for n, chunk in enumerate(chunks, start=1):
        text = _list_page(site, n, len(chunks), chunk)
        if n == 1:
            out.add(LIST_DIR, text)
            out.add(LIST_DIR + "index.html", text)
        else:
            out.add(LIST_DIR + f"index_{n - 1}.html", text)
    for a in arts:
        out.add_article(a, _article(site, a))
    rows = "\n".join(
        f'  <li><a href="{a.path[1:]}">{esc(a.title)}</a><span>{a.published[5:]}</span></li>'
        for a in arts[:6]
    )
    home = (
        _HEAD.format(title="西安市总工会")
        + f"""<div class="wrap main">
<div class="focus"><a href="{arts[0].path[1:]}"><img src="statics/images/focus1.jpg" \
alt="{esc(arts[0].title)}"></a></div>
<div class="box"><h3><a href="xwzx/ghdt/">工会动态</a><a href="xwzx/ghdt/" class="more">\
更多</a></h3>
<ul class="news-list">
{rows}
</ul></div>
</div>
"""
        + _foot(site)
    )
    out.add("/", home)
    out.add("/index.html", home)


def page_noise(site: SiteData, a: Article) -> list[str]:
    older, newer = site.neighbours(a)
    noise = [f"来源:{a.source_label}", f"浏览: {a.views}"]
    noise += [b.label for b in a.images if b.label]
    noise += [x.title for x in (older, newer) if x is not None]
    return noise


def not_found(site: SiteData) -> str:
    return (
        _HEAD.format(title="404_西安市总工会")
        + """<div class="wrap main error404">
<h2>404</h2><p>抱歉，您访问的页面不存在！</p><p><a href="/">返回首页</a></p>
</div>
"""
        + _foot(site)
    )


def soft_404(site: SiteData) -> str:
    """What the CMS shows, with status 200, where a deleted article was."""
    return (
        _HEAD.format(title="提示信息_西安市总工会")
        + f'<div class="wrap main"><p>{SOFT_404_MESSAGE}</p><p><a href="/">返回首页</a></p></div>\n'
        + _foot(site)
    )


def disallowed_page(site: SiteData, kind: str) -> str:
    text = "搜索结果" if kind == "search" else "后台管理登录"
    return (
        _HEAD.format(title=f"{text}_西安市总工会")
        + f'<div class="wrap main">{text}</div>\n'
        + _foot(site)
    )
