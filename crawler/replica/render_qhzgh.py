"""青海省总工会 portal: an old table-layout site, GB2312 declared, bytes really GB18030.

Layout (all links root-relative):
    /                                home (index), also /index.html
    /list/gzdt.html, /list/gzdt_2.html   工作动态 list, 5 per page
    /html/gzdt/<YYYYMMDD>/<id>.html  article
    /gzjj/index.html                 青海省总工会简介 (about page, not an article)
Article page: ``td.art_title > h1`` (title), ``td.art_info`` (发布时间 / 来源 / 浏览次数),
``td#zoom.art_content`` (paragraphs ``<p>``; a picture is a centred ``<p><img></p>`` and its
caption the centred ``<p>`` right after it). The left sidebar with the 简介 teaser comes first.
"""

from __future__ import annotations

from crawler.replica.data import Article, SiteData
from crawler.replica.pages import SOFT_404_MESSAGE, Encoding, PageSet, esc, spacing

ENCODING = Encoding(codec="gb18030", content_type="text/html; charset=GB2312")
SERVER = "Microsoft-IIS/6.0"
PER_PAGE = 5
LIST = "/list/gzdt{}.html"

_HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" \
"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>{title}</title>
<meta name="keywords" content="青海省总工会,青海工会,职工之家,劳模" />
<link href="/css/style.css" rel="stylesheet" type="text/css" />
<script type="text/javascript" src="/js/common.js"></script>
</head>
<body>
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0">
  <tr><td><img src="/images/top_banner.jpg" width="1000" height="150" alt="青海省总工会" /></td></tr>
</table>
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="nav">
  <tr>
    <td><a href="/">网站首页</a></td>
    <td><a href="/list/gzdt.html">工作动态</a></td>
    <td><a href="/gzjj/index.html">省总简介</a></td>
    <td><a href="/search?q=%E5%8A%B3%E6%A8%A1">劳模风采</a></td>
    <td align="right"><a href="/admin/login.asp">管理登录</a></td>
  </tr>
</table>
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="sbar">
  <tr>
    <td>今天是：<script type="text/javascript">showDate();</script></td>
    <td align="right"><form name="search" action="/search" method="get">站内搜索：\
<input type="text" name="q" size="16" /> <input type="submit" value="搜 索" /></form></td>
  </tr>
</table>
"""

_FOOT = """<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="links">
  <tr><td>友情链接：<a href="http://www.acftu.org/" target="_blank">中华全国总工会</a> \
<a href="http://www.qinghai.gov.cn/" target="_blank">青海省人民政府</a> \
<a href="http://www.workercn.cn/" target="_blank">中工网</a></td></tr>
</table>
<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="bottom">
  <tr><td align="center">©CopyRight 青海省总工会 All Rights Reserved. \
<a href="https://beian.miit.gov.cn/" target="_blank">青ICP备17001415号</a></td></tr>
</table>
</body>
</html>
"""


def _sidebar(site: SiteData) -> str:
    teaser = esc(site.meta["sidebar_teaser"])
    return f"""    <td width="250" valign="top" class="left">
      <table width="240" border="0" cellpadding="0" cellspacing="0" class="jj">
        <tr><td class="jj_tit">青海省总工会简介</td></tr>
        <tr><td class="jj_con">{teaser}... <a href="/gzjj/index.html">更多&gt;</a></td></tr>
      </table>
      <table width="240" border="0" cellpadding="0" cellspacing="0" class="lm">
        <tr><td class="lm_tit">栏目导航</td></tr>
        <tr><td><a href="/list/gzdt.html">工作动态</a></td></tr>
        <tr><td><a href="/gzjj/index.html">省总简介</a></td></tr>
      </table>
    </td>
"""


def _frame(site: SiteData, title: str, right: str) -> str:
    return (
        _HEAD.format(title=esc(title))
        + '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0"'
        + ' class="main">\n  <tr>\n'
        + _sidebar(site)
        + '    <td width="740" valign="top" class="right">\n'
        + right
        + "    </td>\n"
        + "  </tr>\n</table>\n"
        + _FOOT
    )


def _meta_line(a: Article) -> str:
    parts = [f"发布时间：{a.published} {a.published_time}"]
    if a.source_label:
        parts.append(f"来源：{esc(a.source_label)}")
    parts.append(f"浏览次数：{a.views}")
    return "&nbsp;&nbsp;".join(parts)


def _content(a: Article) -> str:
    lead, trail, between = spacing(a)
    out = []
    for b in a.blocks:
        if b.kind == "img":
            out.append(f'<p style="text-align: center;"><img src="{b.src}" border="0" /></p>')
            if b.caption:
                out.append(f'<p style="text-align: center;">{esc(b.caption)}</p>')
        else:
            out.append(f'<p style="text-indent: 2em;">{lead}{esc(b.text)}{trail}</p>')
    return between.join(out)


def _article(site: SiteData, a: Article) -> str:
    older, newer = site.neighbours(a)

    def link(x: Article | None) -> str:
        return f'<a href="{x.path}">{esc(x.title)}</a>' if x else "没有了"

    right = f"""      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="position">
        <tr><td>当前位置：<a href="/">首页</a> &gt; <a href="/list/gzdt.html">工作动态</a> \
&gt; 正文</td></tr>
      </table>
      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="article">
        <tr><td class="art_title" align="center"><h1>{esc(a.title)}</h1></td></tr>
        <tr><td class="art_info" align="center">{_meta_line(a)}</td></tr>
        <tr><td class="art_content" id="zoom">
{_content(a)}
        </td></tr>
        <tr><td class="art_tools" align="right">【<a href="javascript:window.print()">打印本页\
</a>】【<a href="javascript:window.close()">关闭窗口</a>】</td></tr>
        <tr><td class="art_prenext">上一篇：{link(older)}<br />下一篇：{link(newer)}</td></tr>
      </table>
"""
    return _frame(site, f"{a.title}-青海省总工会", right)


def _list_rows(items: list[tuple[str, str, str]]) -> str:
    return "\n".join(
        f'        <tr><td class="li"><a href="{path}" target="_blank" title="{esc(t)}">{esc(t)}'
        f'</a></td><td class="date" align="right">[{day}]</td></tr>'
        for path, t, day in items
    )


def _list_page(
    site: SiteData, page_no: int, pages: int, items: list[tuple[str, str, str]], total: int
) -> str:
    def href(n: int) -> str:
        return LIST.format("" if n == 1 else f"_{n}")

    nav = [f"共{total}条记录 页次：{page_no}/{pages}", f'<a href="{href(1)}">首页</a>']
    nav.append(f'<a href="{href(page_no - 1)}">上一页</a>' if page_no > 1 else "上一页")
    nav += [
        f'<a href="{href(n)}">{n}</a>' if n != page_no else f"<b>{n}</b>"
        for n in range(1, pages + 1)
    ]
    nav.append(f'<a href="{href(page_no + 1)}">下一页</a>' if page_no < pages else "下一页")
    nav.append(f'<a href="{href(pages)}">尾页</a>')
    right = f"""      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="position">
        <tr><td>当前位置：<a href="/">首页</a> &gt; 工作动态</td></tr>
      </table>
      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="list">
{_list_rows(items)}
      </table>
      <div class="pages">{" ".join(nav)}</div>
"""
    return _frame(site, "工作动态-青海省总工会", right)


def render(site: SiteData, out: PageSet) -> None:
    arts = site.newest_first()
    chunks = site.list_pages(PER_PAGE)
    for n, chunk in enumerate(chunks, start=1):
        out.add(
            LIST.format("" if n == 1 else f"_{n}"),
            _list_page(site, n, len(chunks), chunk, sum(map(len, chunks))),
        )
    for a in arts:
        out.add_article(a, _article(site, a))
    pics = [a for a in arts if a.captions]
    right = f"""      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="box">
        <tr><td class="box_tit">工作动态</td><td class="more" align="right">\
<a href="/list/gzdt.html">更多&gt;&gt;</a></td></tr>
{_list_rows([(a.path, a.title, a.published) for a in arts[:7]])}
      </table>
      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="box">
        <tr><td class="box_tit" colspan="{len(pics)}">图片新闻</td></tr>
        <tr>{
        "".join(
            f'<td align="center"><a href="{a.path}"><img src="{a.images[0].src}" '
            f'width="160" height="110" border="0" /><br />{esc(a.captions[0])}</a></td>'
            for a in pics
        )
    }</tr>
      </table>
"""
    home = _frame(site, "青海省总工会", right)
    out.add("/", home)
    out.add("/index.html", home)
    about = f"""      <table width="100%" border="0" cellpadding="0" cellspacing="0" class="article">
        <tr><td class="art_title" align="center"><h1>青海省总工会简介</h1></td></tr>
        <tr><td class="art_content"><p style="text-indent: 2em;">{esc(site.meta["sidebar_teaser"])}\
</p></td></tr>
      </table>
"""
    out.add("/gzjj/index.html", _frame(site, "省总简介-青海省总工会", about))


def page_noise(site: SiteData, a: Article) -> list[str]:
    older, newer = site.neighbours(a)
    noise = [f"发布时间：{a.published} {a.published_time}", f"浏览次数：{a.views}"]
    noise += [x.title for x in (older, newer) if x is not None]
    return noise


def not_found(site: SiteData) -> str:
    right = """      <table width="100%" border="0" cellpadding="20" cellspacing="0" class="error">
        <tr><td align="center"><h2>404 错误：您访问的页面不存在或已被删除！</h2>
        <p><a href="/">返回首页</a></p></td></tr>
      </table>
"""
    return _frame(site, "页面不存在-青海省总工会", right)


def soft_404(site: SiteData) -> str:
    """What the CMS shows, with status 200, where a deleted article was (its bare frame: no
    sidebar)."""
    return (
        _HEAD.format(title="提示信息-青海省总工会")
        + f"""<table width="1000" border="0" align="center" cellpadding="20" cellspacing="0" \
class="box">
  <tr><td align="center">{SOFT_404_MESSAGE}<br /><a href="/">返回首页</a></td></tr>
</table>
"""
        + _FOOT
    )


def disallowed_page(site: SiteData, kind: str) -> str:
    text = "搜索结果：没有找到相关内容。" if kind == "search" else "管理员登录"
    return _frame(
        site,
        f"{text}-青海省总工会",
        f'      <table width="100%" class="box"><tr><td>{text}</td></tr></table>\n',
    )
