"""白城日报 Founder-style e-paper: GBK bytes, no charset in HTTP, ``<meta>`` wrongly says utf-8.

Layout (links relative, as Founder writes them):
    /                                   edition index (往期回顾), links every edition
    /index.htm                          meta refresh to the latest edition's first 版面
    /html/<YYYY-MM>/<DD>/node_<n>.htm   版面 page: page picture with <area> links, headline list,
                                        版面导航, 上一版/下一版, 前一期 (the list pages)
    /html/<YYYY-MM>/<DD>/content_<id>.htm   article
Article page, in document order: left column ``td.left`` (``td.bmname`` 第01版:头版新闻, 下一版,
``table#titleList`` headlines of the 版面, ``div.bmdh`` 版面导航, ``div.search`` 站内检索 with one
invalid GBK byte pair), then ``td.right``: ``table.artnav`` (上一篇 下一篇 2021年4月30日 放大 缩小
默认), ``table.arttitle`` with ``td.font02`` 引题, ``td.font01`` 主题, ``td.font02`` 副题 (empty
cells when absent), ``table.picture`` (img + ``td.font03`` caption), ``div#ozoom >
founder-content`` whose first ``<P>`` may be the byline (``●于国林 刘建军``), then the body
``<P>``; footer ``table.footer`` (白城新闻网 link, 版权所有, 地址, 关闭). No 来源 is printed.
"""

from __future__ import annotations

import datetime as dt

from crawler.replica.data import Article, SiteData
from crawler.replica.pages import BROKEN_MARK, SOFT_404_MESSAGE, Encoding, PageSet, esc

ENCODING = Encoding(codec="gbk", content_type="text/html")
SERVER = "Apache"
_WEEKDAYS = "一二三四五六日"


def _cn_date(day: str, weekday: bool = False) -> str:
    d = dt.date.fromisoformat(day)
    text = f"{d.year}年{d.month}月{d.day}日"
    return text + f" 星期{_WEEKDAYS[d.weekday()]}" if weekday else text


def _dir(day: str) -> str:
    return f"/html/{day[:7]}/{day[8:]}/"


def _page_label(no: int, name: str) -> str:
    return f"第{no:02d}版:{name}"


def _head(title: str, day: str, up: str) -> str:
    """up: how links reach the site root ("../../../" from an edition page, "/" anywhere)."""
    return f"""<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{esc(title)}</title>
<link href="{up}tplimg/style.css" rel="stylesheet" type="text/css">
<script language="javascript" src="{up}tplimg/mp.js"></script>
</head>
<body leftmargin="0" topmargin="0">
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="top">
<tr><td width="300"><img src="{up}tplimg/logo.jpg" alt="白城日报"></td>
<td class="date">{_cn_date(day, weekday=True)}</td>
<td align="right"><a href="/admin/login.jsp">采编登录</a></td></tr>
</table>
"""


_FOOT = """<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="footer">
<tr><td align="center">白城新闻网 <a href="http://www.bcxww.com" target="_blank">\
http://www.bcxww.com</a><br>
白城日报社版权所有。未经许可,不得转载或镜像。<br>
地址:吉林省白城市中兴西大路43号 邮编:137000<br>
&nbsp;<br>
<a href="javascript:window.close()">关闭</a></td></tr>
</table>
</body>
</html>
"""


class _Edition:
    def __init__(self, site: SiteData, day: str):
        self.day = day
        meta = next(e for e in site.meta["editions"] if e["date"] == day)
        self.pages: list[tuple[int, str]] = [(p["no"], p["name"]) for p in meta["pages"]]
        self.arts = {
            no: [a for a in site.articles if a.extra["edition"] == day and a.extra["page"] == no]
            for no, _ in self.pages
        }
        self.dead = {
            no: [d for d in site.dead_links if d["edition"] == day and d["page"] == no]
            for no, _ in self.pages
        }

    def name(self, no: int) -> str:
        return dict(self.pages)[no]


def _headlines(ed: _Edition, no: int) -> list[tuple[str, str]]:
    """(href, html) of every headline on one 版面, dead link included."""
    out = []
    for a in ed.arts[no]:
        text = (esc(a.kicker) + "<br>" if a.kicker else "") + esc(a.title)
        out.append(
            (f"content_{a.id}.htm", f'<div style="display:inline" id="mp{a.id}">{text}</div>')
        )
    for d in ed.dead[no]:
        out.append((d["path"].rsplit("/", 1)[1], esc(d["title"])))
    return out


def _left(ed: _Edition, no: int) -> str:
    nos = [n for n, _ in ed.pages]
    prev_no = nos[nos.index(no) - 1] if nos.index(no) > 0 else None
    next_no = nos[nos.index(no) + 1] if nos.index(no) + 1 < len(nos) else None
    turn = []
    if prev_no is not None:
        turn.append(f'<a href="node_{prev_no}.htm"><font face="webdings">3</font>上一版</a>')
    if next_no is not None:
        turn.append(f'<a href="node_{next_no}.htm">下一版<font face="webdings">4</font></a>')
    rows = "\n".join(
        f'<tr><td valign="top"><img src="../../../tplimg/dot.gif"></td>'
        f'<td><a href="{href}">{text}</a></td></tr>'
        for href, text in _headlines(ed, no)
    )
    bm = "\n".join(
        f'<tr><td><a href="node_{n}.htm" id="pageLink">{_page_label(n, nm)}</a></td></tr>'
        for n, nm in ed.pages
    )
    return f"""<td width="300" valign="top" class="left">
<table width="100%" border="0" cellpadding="3" cellspacing="0" class="bmbar"><tr>
<td class="bmname">{_page_label(no, ed.name(no))}</td><td align="right">{" ".join(turn)}</td>
</tr></table>
<div class="thumb"><a href="node_{no}.htm"><img src="../../../images/{ed.day[:7]}/{ed.day[8:]}/\
{no:02d}/Page{no:02d}_s.jpg" width="280" border="0"></a></div>
<table width="100%" border="0" cellpadding="1" cellspacing="0" id="titleList">
{rows}
</table>
<div class="bmdh"><div class="tit">版面导航</div><table border="0" cellpadding="2">
{bm}
</table></div>
<div class="search"><div class="tit">站内检索</div><form action="/search" method="get">\
<input type="text" name="q" size="14"> <input type="submit" value="检索"></form>\
<span class="tip">请输入关键{BROKEN_MARK}</span> <a href="/search?q=%B9%A4%BB%E1">高级检索</a></div>
</td>
"""


def _node(site: SiteData, ed: _Edition, no: int, editions: list[str]) -> str:
    areas = "\n".join(
        f'<area shape="rect" coords="{20 + 10 * i},{40 + 150 * i},460,{170 + 150 * i}" '
        f'href="{href}">'
        for i, (href, _) in enumerate(_headlines(ed, no))
    )
    older = [d for d in editions if d < ed.day]
    prev_issue = (
        f'<a href="../../../html/{older[-1][:7]}/{older[-1][8:]}/node_1.htm">前一期</a>'
        if older
        else ""
    )
    return (
        _head(f"白城日报 {_page_label(no, ed.name(no))}", ed.day, "../../../")
        + f"""\
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0"><tr>
{_left(ed, no)}<td width="700" valign="top" class="right">
<div class="wq"><a href="../../../">往期回顾</a> {prev_issue}</div>
<map name="PagePicMap">
{areas}
</map>
<img src="../../../images/{ed.day[:7]}/{ed.day[8:]}/{no:02d}/Page{no:02d}_b.jpg" \
usemap="#PagePicMap" width="480" height="700" border="0">
</td></tr></table>
"""
        + _FOOT
    )


def _article(site: SiteData, ed: _Edition, a: Article) -> str:
    same = ed.arts[a.extra["page"]]
    i = same.index(a)
    prev_a = same[i - 1] if i > 0 else None
    next_a = same[i + 1] if i + 1 < len(same) else None
    prev_html = (
        f'<a href="content_{prev_a.id}.htm"><font face="webdings">3</font>上一篇</a>'
        if prev_a
        else '<font face="webdings">3</font>上一篇'
    )
    next_html = (
        f'<a href="content_{next_a.id}.htm">下一篇<font face="webdings">4</font></a>'
        if next_a
        else '下一篇<font face="webdings">4</font>'
    )
    artnav = f"{prev_html}&nbsp;&nbsp;{next_html}"
    pics = "\n".join(
        f'<table width="100%" border="0" cellspacing="0" cellpadding="3" class="picture">'
        f'<tr><td align="center"><img src="../../..{b.src}" width="400"></td></tr>'
        f'<tr><td class="font03" align="center">{esc(b.caption or "")}</td></tr></table>'
        for b in a.images
    )
    paras = [f"<P>{esc(a.byline)}</P>"] if a.byline else []
    paras += [f"<P>&nbsp;&nbsp;&nbsp;&nbsp;{esc(t)}</P>" for t in a.body]
    return (
        _head(f"{a.title}--白城日报", ed.day, "../../../")
        + f"""\
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0"><tr>
{_left(ed, a.extra["page"])}<td width="700" valign="top" class="right">
<table width="100%" border="0" cellpadding="3" cellspacing="0" class="artnav"><tr>
<td>{artnav} {_cn_date(ed.day)} <a href="javascript:fontZoom(18)">放大</a>&nbsp;\
<a href="javascript:fontZoom(12)">缩小</a>&nbsp;<a href="javascript:fontZoom(14)">默认</a>\
&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;</td></tr></table>
<table width="100%" border="0" cellpadding="5" cellspacing="0" class="arttitle">
<tr valign="top"><td class="font02" align="center">{esc(a.kicker or "")}</td></tr>
<tr valign="top"><td class="font01" align="center">{esc(a.title)}</td></tr>
<tr valign="top"><td class="font02" align="center">{esc(a.subtitle or "")}</td></tr>
<tr valign="top"><td class="font02" align="center">&nbsp;</td></tr>
</table>
{pics}
<div id="ozoom" style="zoom:100%"><!--enpcontent--><founder-content>
{chr(10).join(paras)}
</founder-content><!--/enpcontent--></div>
<table width="100%" border="0" cellpadding="3" cellspacing="0" class="artnav"><tr>
<td>{artnav} &nbsp;</td></tr></table>
</td></tr></table>
"""
        + _FOOT
    )


def _editions(site: SiteData) -> list[str]:
    return sorted(e["date"] for e in site.meta["editions"])


def render(site: SiteData, out: PageSet) -> None:
    days = _editions(site)
    for day in days:
        ed = _Edition(site, day)
        for no, _ in ed.pages:
            out.add(f"{_dir(day)}node_{no}.htm", _node(site, ed, no, days))
            for a in ed.arts[no]:
                assert a.path == f"{_dir(day)}content_{a.id}.htm", a.path
                out.add_article(a, _article(site, ed, a))
    latest = days[-1]
    rows = "\n".join(
        f'<li><a href="html/{d[:7]}/{d[8:]}/node_1.htm">{_cn_date(d, True)}</a></li>'
        for d in reversed(days)
    )
    home = (
        _head("白城日报数字报", latest, "")
        + f"""\
<table width="1000" border="0" align="center"><tr><td>
<h2><a href="html/{latest[:7]}/{latest[8:]}/node_1.htm">进入当期 {_cn_date(latest)}</a></h2>
<div class="wqhg"><div class="tit">往期回顾</div><ul>
{rows}
</ul></div>
</td></tr></table>
"""
        + _FOOT
    )
    out.add("/", home)
    target = f"html/{latest[:7]}/{latest[8:]}/node_1.htm"
    out.add(
        "/index.htm",
        f"""<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta http-equiv="REFRESH" content="0; URL={target}">
<title>白城日报</title></head>
<body><a href="{target}">白城日报</a></body></html>
""",
    )


def page_noise(site: SiteData, a: Article) -> list[str]:
    ed = _Edition(site, a.extra["edition"])
    no = a.extra["page"]
    nos = [n for n, _ in ed.pages]
    noise = [_page_label(n, nm) for n, nm in ed.pages] + [_cn_date(ed.day), "请输入关键"]
    noise += (["上一版"] if nos.index(no) > 0 else []) + (["下一版"] if no != nos[-1] else [])
    for other in ed.arts[no]:
        if other is not a:
            noise += [x for x in (other.kicker, other.title) if x]
    noise += [d["title"] for d in ed.dead[no]]
    return noise


def not_found(site: SiteData) -> str:
    return (
        _head("404 - 白城日报", _editions(site)[-1], "/")
        + """\
<table width="1000" border="0" align="center"><tr><td align="center">
<h2>404 您访问的页面不存在</h2><p><a href="/">返回数字报首页</a></p></td></tr></table>
"""
        + _FOOT
    )


def soft_404(site: SiteData) -> str:
    """What the e-paper shows, with status 200, where a withdrawn article was."""
    return (
        _head("白城日报", _editions(site)[-1], "/")
        + f"""\
<table width="1000" border="0" align="center"><tr><td align="center">
<p>{SOFT_404_MESSAGE}</p><p><a href="/">返回数字报首页</a></p></td></tr></table>
"""
        + _FOOT
    )


def disallowed_page(site: SiteData, kind: str) -> str:
    text = "检索结果" if kind == "search" else "采编系统登录"
    return _head(text, _editions(site)[-1], "/") + f"<p>{text}</p>\n" + _FOOT
