"""Rendered pages of one replica site, and what every site layout shares.

Each ``render_<site_id>`` module turns a :class:`SiteData` into HTML strings; this module encodes
them the way the real site does (charset in the header, in ``<meta>``, in neither, or wrong),
adds robots.txt, the disallowed pages, the custom 404 page and placeholder assets, and hands the
server a plain ``{path: Page}`` table built once at start.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import html
import importlib
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime
from types import ModuleType
from urllib.parse import urljoin, urlsplit

from crawler.replica.data import Article, SiteData, load_site

# The one invalid GBK byte pair bcrb prints on article pages (a lead byte followed by an ASCII
# space: every GBK decoder, WHATWG or Python, yields U+FFFD and keeps the space).
BROKEN_MARK = "\x00BROKEN-GBK\x00"
BROKEN_BYTES = b"\xd7 "

ROBOTS_TXT = "User-agent: *\nDisallow: /search\nDisallow: /admin/\n"

_GIF_1X1 = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
_ASSET_TYPES = {
    ".gif": "image/gif",
    ".jpg": "image/gif",
    ".jpeg": "image/gif",
    ".png": "image/gif",
    ".css": "text/css",
    ".js": "application/javascript",
}
_CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Encoding:
    """How a site turns text into bytes and what it claims about it."""

    codec: str  # the codec the bytes are really in
    content_type: str  # the HTTP Content-Type header as sent


@dataclass(frozen=True)
class Page:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    # The article's validator, sent as ETag by the sites that answer conditional requests
    # (``server.CONDITIONAL_SITES``): a hash of what the article says, not of the bytes, as a
    # static page whose view counter is filled in by a script would have.
    etag: str | None = None


@dataclass(frozen=True)
class SiteRendering:
    site_id: str
    pages: Mapping[str, Page]
    not_found: Page
    server_header: str
    prefix_routes: tuple[tuple[str, Page], ...] = field(default_factory=tuple)

    def lookup(self, path: str) -> Page:
        page = self.pages.get(path)
        if page is not None:
            return page
        for prefix, prefixed in self.prefix_routes:
            if path.startswith(prefix):
                return prefixed
        return self.not_found


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def relative_link(from_path: str, to_path: str) -> str:
    """A link as CMSs write them: ./ and ../ from the folder of the page that links."""
    rel = posixpath.relpath(to_path, posixpath.dirname(from_path))
    if to_path.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return rel if rel.startswith("../") or rel == "../" else "./" + rel


def last_modified(article: Article) -> str:
    hhmm = (article.published_time or "08:00")[:5]
    local = dt.datetime.fromisoformat(f"{article.published}T{hhmm}").replace(tzinfo=_CST)
    return format_datetime(local.astimezone(dt.UTC), usegmt=True)


def encode(text: str, codec: str) -> bytes:
    """Encode strictly (a character the codec lacks is a bug in the data), then break bytes."""
    data = text.replace(BROKEN_MARK, "@@BROKEN@@").encode(codec, errors="strict")
    return data.replace(b"@@BROKEN@@", BROKEN_BYTES)


@dataclass
class PageSet:
    """Collects one site's HTML pages while a renderer builds them."""

    encoding: Encoding
    pages: dict[str, Page] = field(default_factory=dict)

    def add(
        self, path: str, text: str, status: int = 200, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        if path in self.pages:
            raise ValueError(f"two pages for {path}")
        self.pages[path] = self.page(text, status, headers)

    def page(self, text: str, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Page:
        return Page(
            status, self.encoding.content_type, encode(text, self.encoding.codec), tuple(headers)
        )

    def add_article(self, article: Article, text: str) -> None:
        self.add(article.path, text, headers=[("Last-Modified", last_modified(article))])
        self.pages[article.path] = dataclasses.replace(
            self.pages[article.path], etag=article_etag(article)
        )


def article_etag(article: Article) -> str:
    """A strong validator of the article's content: not its view counter, nor the truth's
    noise strings (``must_not_contain`` quotes the counter: "浏览: 90"), nor the layout."""
    content = dataclasses.replace(article, views=None, extra={}, must_not_contain=())
    return '"' + hashlib.sha1(repr(content).encode("utf-8")).hexdigest()[:20] + '"'


_SRC_RE = re.compile(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+\.(?:gif|jpe?g|png|css|js))""", re.I)


def add_assets(pages: dict[str, Page]) -> None:
    """Serve a placeholder for every picture, stylesheet and script the pages reference."""
    found: set[str] = set()
    for path, page in list(pages.items()):
        if not page.content_type.startswith("text/html"):
            continue
        for ref in _SRC_RE.findall(page.body.decode("latin-1")):
            url = urljoin("http://replica" + path, ref)
            parts = urlsplit(url)
            if parts.netloc == "replica":
                found.add(parts.path)
    for path in found - set(pages):
        ext = path[path.rfind(".") :].lower()
        ctype = _ASSET_TYPES.get(ext, "application/octet-stream")
        body = _GIF_1X1 if ctype == "image/gif" else b"/* replica placeholder */\n"
        pages[path] = Page(200, ctype, body)


def renderer(site_id: str) -> ModuleType:
    """The layout module of a site. Each provides ``ENCODING``, ``SERVER`` (the Server header),
    ``render(site, pageset)``, ``not_found(site)``, ``disallowed_page(site, kind)`` and
    ``page_noise(site, article)`` (the strings its article page prints around the article)."""
    return importlib.import_module(f"crawler.replica.render_{site_id}")


def build_site(site_id: str, day: int = 0) -> SiteRendering:
    """Render every page of one site into bytes, as it stands on ``day`` of the replica's
    timeline (crawler.replica.timeline; day 0 is the site as articles.json has it)."""
    if day == 0:
        return render_site(load_site(site_id))
    from crawler.replica.timeline import site_data_for_day  # the timeline renders through here

    return render_site(site_data_for_day(site_id, day))


def render_site(site: SiteData) -> SiteRendering:
    """Every page of one site's content; ``site.meta["removed"]`` ({path: how}) says which
    article pages are gone and how the site answers for them (see REMOVALS)."""
    mod = renderer(site.site_id)
    pageset = PageSet(mod.ENCODING)
    mod.render(site, pageset)
    pageset.pages["/robots.txt"] = Page(200, "text/plain", ROBOTS_TXT.encode("ascii"))
    not_found = pageset.page(mod.not_found(site), status=404)
    for path, how in site.meta.get("removed", {}).items():
        pageset.pages[path] = _removed_page(mod, site, pageset, not_found, how)
    add_assets(pageset.pages)
    prefix_routes = (
        ("/search", pageset.page(mod.disallowed_page(site, "search"))),
        ("/admin/", pageset.page(mod.disallowed_page(site, "admin"))),
    )
    return SiteRendering(site.site_id, dict(pageset.pages), not_found, mod.SERVER, prefix_routes)


# How a site answers for an article it took down.
REMOVALS = ("http_404", "http_410", "redirect_home", "soft_404")
# What a soft-404 page says (status 200, the site's layout, no article).
SOFT_404_MESSAGE = "对不起，您访问的页面不存在或已被删除！"
SOFT_404_MESSAGE_HANT = "對不起，您訪問的頁面不存在或已被刪除！"
_GONE_HTML = """<html><head><title>410 Gone</title></head>
<body><h1>410 Gone</h1><p>The requested resource is no longer available.</p></body></html>
"""
_MOVED_HTML = """<html><head><title>302 Found</title></head>
<body><p>The document has moved <a href="/">here</a>.</p></body></html>
"""


def _removed_page(
    mod: ModuleType, site: SiteData, pageset: PageSet, not_found: Page, how: str
) -> Page:
    if how == "http_404":
        return not_found
    if how == "http_410":
        return Page(410, "text/html; charset=iso-8859-1", _GONE_HTML.encode("ascii"))
    if how == "redirect_home":
        return Page(
            302, "text/html; charset=iso-8859-1", _MOVED_HTML.encode("ascii"), (("Location", "/"),)
        )
    if how == "soft_404":
        return pageset.page(mod.soft_404(site))
    raise ValueError(f"unknown removal {how!r}; known: {', '.join(REMOVALS)}")


# The whitespace an article's paragraphs are laid out with, by variant (Article.extra["ws"]):
# (before the text inside <p>, after it, between two paragraphs). Variant 0 is day 0's layout;
# the others change nothing a reader sees, so they must change nothing an archive stores.
_SPACINGS = (
    ("", "", "\n"),
    ("&nbsp;&nbsp;", "", "\n\n"),
    ("\u3000\u3000", " ", "\n<p>&nbsp;</p>\n"),
    ("\n", "&nbsp;\n", "\n  \n"),
)


def spacing(article: Article) -> tuple[str, str, str]:
    return _SPACINGS[article.extra.get("ws", 0)]
