"""Canonical URLs: the identity of a page in the archive.

Two URLs that a browser would treat as the same page must map to one ``page`` row, so that a
re-crawl finds the article it already holds. Accepted inputs, with what they become::

    HTTP://WWW.Acftu.ORG:80/a.html?z=1&a=2#top  ->  http://www.acftu.org/a.html?a=2&z=1
    https://www.workercn.cn:443                 ->  https://www.workercn.cn/
    http://x.cn/新闻/1.html?q=工会               ->  http://x.cn/%E6%96%B0%E9%97%BB/1.html?q=%E5%B7%A5%E4%BC%9A
    http://x.cn/a.html;jsessionid=9F3A?id=7     ->  http://x.cn/a.html?id=7

The path keeps its case (servers may treat it as significant) and "www." is kept (some union
sites serve different content with and without it).

Session parameters name a visitor, not a page: an old Java or PHP CMS that gets no cookie puts
a fresh one in every link it serves, and each would become a page and a version of its own.
They are dropped (``SESSION_PARAMS``): query parameters by name, compared case-insensitively,
and the same names as path parameters (``;jsessionid=...``), plus ASP.NET's cookieless
``/(S(...))/`` segment. The rule only removes: a URL carrying none of them canonicalises to
exactly the string it did before the rule existed, so the identities already archived stand
without a migration. A seed can name more (``session_params``); the spider strips those from
every link with ``strip_params``, since this module does not know the seed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Dropped whatever their value: Java servlets, PHP, ColdFusion, osCommerce, Zen Cart,
# BroadVision, and the generic spellings. A trailing * is a prefix (classic ASP appends
# random letters: ASPSESSIONIDQSTRRQBA).
SESSION_PARAMS: tuple[str, ...] = (
    "jsessionid",
    "phpsessid",
    "aspsessionid*",
    "asp.net_sessionid",
    "sessionid",
    "session_id",
    "sessid",
    "cfid",
    "cftoken",
    "oscsid",
    "zenid",
    "bv_sessionid",
    "bv_engineid",
)
# ``sid`` is a session id in phpBB and Discuz links, but a section or site number in many
# Chinese CMSs (``list.jsp?sid=12``): dropped only when its value looks like a token, 16 or
# more letters and digits, or 6 or more mixing both.
_TOKEN_NAMES = frozenset({"sid"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}|(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{6,}", re.ASCII)
_PATH_PARAM = re.compile(r";([^;/?#=]*)(=[^;/?#]*)?")
_ASPNET_COOKIELESS = re.compile(r"/\((?:[A-Z]\([^()/]*\))+\)(?=/)")


def canonical_url(url: str) -> str:
    """Return the canonical form of an absolute http(s) URL.

    w3lib sorts the query, percent-encodes non-ASCII as UTF-8, normalises escapes, resolves
    ``.``/``..`` segments, lowercases scheme and host, and drops the fragment; we add the removal
    of a default port and of session parameters (``SESSION_PARAMS``). Raises ValueError for a
    URL without scheme or host.
    """
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    canon = urlsplit(canonicalize_url(url.strip(), keep_fragments=False))
    netloc = canon.netloc
    if canon.port is not None and canon.port == _DEFAULT_PORTS.get(canon.scheme):
        netloc = netloc.rsplit(":", 1)[0]
    path = canon.path or "/"
    return strip_params(urlunsplit((canon.scheme, netloc, path, canon.query, "")))


def strip_params(url: str, names: Iterable[str] = ()) -> str:
    """``url`` without its session parameters: the built-in ``SESSION_PARAMS`` and ``names``
    (a seed's ``session_params``; case-insensitive, a trailing ``*`` a prefix), in the query
    and as path parameters. Everything else is left byte for byte as written, so a URL without
    any comes back as the same string.

    >>> strip_params("http://x.cn/a.jsp;JSESSIONID=F00?id=3&token=ab&PHPSESSID=9", ["token"])
    'http://x.cn/a.jsp?id=3'
    """
    extra = tuple(n.lower() for n in names)
    parts = urlsplit(url)
    path = _ASPNET_COOKIELESS.sub("", parts.path)
    path = _PATH_PARAM.sub(
        lambda m: "" if _is_session(m[1], (m[2] or "=")[1:], extra) else m[0], path
    )
    pieces = parts.query.split("&")
    kept = [p for p in pieces if not _is_session(p.partition("=")[0], p.partition("=")[2], extra)]
    if path == parts.path and len(kept) == len(pieces):
        return url
    if not path and parts.path:
        path = "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "&".join(kept), parts.fragment))


def _is_session(name: str, value: str, extra: tuple[str, ...] = ()) -> bool:
    name = unquote_plus(name).strip().lower()
    if not name:
        return False
    if name in _TOKEN_NAMES and name not in extra:
        return _TOKEN.fullmatch(unquote_plus(value).strip()) is not None
    return any(
        name.startswith(n[:-1]) if n.endswith("*") else name == n for n in (*SESSION_PARAMS, *extra)
    )
