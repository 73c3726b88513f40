"""Canonical URLs: the identity of a page in the archive.

Two URLs that a browser would treat as the same page must map to one ``page`` row, so that a
re-crawl finds the article it already holds. Accepted inputs, with what they become::

    HTTP://WWW.Acftu.ORG:80/a.html?z=1&a=2#top  ->  http://www.acftu.org/a.html?a=2&z=1
    https://www.workercn.cn:443                 ->  https://www.workercn.cn/
    http://x.cn/新闻/1.html?q=工会               ->  http://x.cn/%E6%96%B0%E9%97%BB/1.html?q=%E5%B7%A5%E4%BC%9A

The path keeps its case (servers may treat it as significant) and "www." is kept (some union
sites serve different content with and without it).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Return the canonical form of an absolute http(s) URL.

    w3lib sorts the query, percent-encodes non-ASCII as UTF-8, normalises escapes, resolves
    ``.``/``..`` segments, lowercases scheme and host, and drops the fragment; we add the removal
    of a default port. Raises ValueError for a URL without scheme or host.
    """
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    canon = urlsplit(canonicalize_url(url.strip(), keep_fragments=False))
    netloc = canon.netloc
    if canon.port is not None and canon.port == _DEFAULT_PORTS.get(canon.scheme):
        netloc = netloc.rsplit(":", 1)[0]
    path = canon.path or "/"
    return urlunsplit((canon.scheme, netloc, path, canon.query, ""))
