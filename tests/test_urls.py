from pathlib import Path

import pytest

from archive.urls import canonical_url, strip_params

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_canonical_url_drops_fragment_lowercases_host_and_sorts_query():
    assert (
        canonical_url("HTTP://WWW.Acftu.ORG/xwdt/a.html?z=1&a=2#comments")
        == "http://www.acftu.org/xwdt/a.html?a=2&z=1"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://www.acftu.org:80/a.html", "http://www.acftu.org/a.html"),
        ("https://www.workercn.cn:443/a.html", "https://www.workercn.cn/a.html"),
        ("http://www.acftu.org:8080/a.html", "http://www.acftu.org:8080/a.html"),
        ("https://www.workercn.cn:80/a.html", "https://www.workercn.cn:80/a.html"),
    ],
)
def test_canonical_url_drops_only_the_default_port_of_the_scheme(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_gives_an_empty_path_a_slash():
    assert canonical_url("https://www.workercn.cn") == "https://www.workercn.cn/"


def test_canonical_url_percent_encodes_chinese_path_and_query_as_utf8():
    assert canonical_url("http://x.cn/新闻/1.html?q=工会") == (
        "http://x.cn/%E6%96%B0%E9%97%BB/1.html?q=%E5%B7%A5%E4%BC%9A"
    )


def test_canonical_url_maps_spellings_of_one_page_to_one_identity():
    spellings = [
        "http://www.acftu.org/xwdt/t1.html?b=2&a=1",
        "HTTP://www.ACFTU.org:80/xwdt/t1.html?a=1&b=2#top",
        "http://www.acftu.org/xwdt/./t1.html?a=1&b=2",
        "  http://www.acftu.org/xwdt/t1.html?a=1&b=2  ",
    ]
    assert len({canonical_url(url) for url in spellings}) == 1


def test_canonical_url_keeps_path_case_and_www():
    assert canonical_url("http://www.acftu.org/XWDT/T1.html") == "http://www.acftu.org/XWDT/T1.html"
    assert canonical_url("http://acftu.org/") != canonical_url("http://www.acftu.org/")


@pytest.mark.parametrize("url", ["/xwdt/t1.html", "www.acftu.org/a.html", ""])
def test_canonical_url_refuses_a_relative_url(url):
    with pytest.raises(ValueError, match="not an absolute URL"):
        canonical_url(url)


# -- session parameters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://x.cn/a.html;jsessionid=9F3A0C1B2D", "http://x.cn/a.html"),
        ("http://x.cn/a.jsp;JSESSIONID=9F3A.node1?id=7", "http://x.cn/a.jsp?id=7"),
        ("http://x.cn/a.jsp;jsessionid=9F3A;v=2?id=7", "http://x.cn/a.jsp;v=2?id=7"),
        ("http://x.cn/list.php?PHPSESSID=abc123&page=2", "http://x.cn/list.php?page=2"),
        ("http://x.cn/a.php?phpsessid=abc123", "http://x.cn/a.php"),
        ("http://x.cn/a.jsp?jsessionid=1&id=3", "http://x.cn/a.jsp?id=3"),
        ("http://x.cn/a.asp?ASPSESSIONIDQSTRRQBA=KLMN&id=3", "http://x.cn/a.asp?id=3"),
        ("http://x.cn/a.cfm?CFID=1234&CFTOKEN=5678&id=3", "http://x.cn/a.cfm?id=3"),
        ("http://x.cn/a?sessionid=1&SESSION_ID=2&sessid=3&id=3", "http://x.cn/a?id=3"),
        ("http://x.cn/a.php?sid=3f9a8c7d6e5b4a39f0e1&t=9", "http://x.cn/a.php?t=9"),
        ("http://x.cn/forum.php?mod=list&sid=Ab3dE9", "http://x.cn/forum.php?mod=list"),
        ("http://x.cn/(S(lit3py55t21z5v55vlm25s55))/a.aspx?id=3", "http://x.cn/a.aspx?id=3"),
        ("http://x.cn/;jsessionid=AB12", "http://x.cn/"),
        ("HTTP://X.cn:80/a.jsp;jsessionid=1?b=2&a=1#top", "http://x.cn/a.jsp?a=1&b=2"),
    ],
)
def test_canonical_url_drops_session_parameters(url, expected):
    assert canonical_url(url) == expected


def test_a_session_trap_maps_every_visit_to_one_identity():
    visits = [
        f"http://x.cn/news/5.jsp;jsessionid={i:032X}?id=5&sid=s{i:015d}&PhpSessId={i}"
        for i in range(50)
    ]
    assert {canonical_url(u) for u in visits} == {"http://x.cn/news/5.jsp?id=5"}


def _canonical_url_before_session_params(url: str) -> str:
    """canonical_url as it was before session parameters were dropped (commit 6ff8008)."""
    from urllib.parse import urlsplit, urlunsplit

    from w3lib.url import canonicalize_url

    canon = urlsplit(canonicalize_url(url.strip(), keep_fragments=False))
    netloc = canon.netloc
    if canon.port is not None and canon.port == {"http": 80, "https": 443}.get(canon.scheme):
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((canon.scheme, netloc, canon.path or "/", canon.query, ""))


def _urls_without_session_parameters() -> list[str]:
    from crawler.replica.truth import all_truth
    from crawler.seeds import load_seeds

    seeds = [*load_seeds(SEEDS).values(), *load_seeds(SEEDS / "live").values()]
    urls = [u for s in seeds for u in (s.base_url, *map(s.absolute, s.start_urls))]
    origins = {s.id: s.origin for s in seeds}
    urls += [origins[t.site_id] + t.path for t in all_truth()]
    return [
        *urls,
        "HTTP://WWW.Acftu.ORG:80/a.html?z=1&a=2#top",
        "http://x.cn/新闻/1.html?q=工会",
        "http://x.cn/list.jsp?sid=12",  # a section number, not a session
        "http://x.cn/list.jsp?sid=news",
        "http://x.cn/list.jsp?sid=",
        "http://x.cn/list.jsp?SID=2024",
        "http://x.cn/a.jsp?session=3&sessions=1&ssid=9f3a8c7d6e5b4a39f0e1",
        "http://x.cn/a.asp?aspsession=1&cfidx=2&xjsessionid=3&token=abc",
        "http://x.cn/a;x=1/b.html?a=%7e&b",
        "http://x.cn/a.html;v=2",
        "http://x.cn/(about)/a.html",
        "http://x.cn/a.html?",
        "http://x.cn/a.html?a&&b=",
        "http://x.cn/a.html?q=a+b&r=%20",
        "https://x.cn:8443/Content/2024/05/01/T1.HTML?Id=A1",
        "http://127.0.0.1:8601/html/2021-04/30/content_47305.htm",
        "http://x.cn/search?kw=%E5%B7%A5%E4%BC%9A&sid=3",
    ]


def test_a_url_without_session_parameters_canonicalises_exactly_as_before():
    """The rule only removes: pages archived before it keep their identity (no migration)."""
    urls = _urls_without_session_parameters()
    assert len(urls) > 50
    for url in urls:
        assert canonical_url(url) == _canonical_url_before_session_params(url), url


def test_strip_params_drops_the_builtin_and_the_named_parameters_and_nothing_else():
    url = "http://x.cn/a.jsp;JSESSIONID=F00?id=3&Token=ab&PHPSESSID=9&sid=12#p2"
    assert strip_params(url, ["token"]) == "http://x.cn/a.jsp?id=3&sid=12#p2"
    assert (
        strip_params("http://x.cn/a.jsp?id=3&tk_x=1&tk_y=2", ["tk_*"]) == "http://x.cn/a.jsp?id=3"
    )
    assert strip_params("http://x.cn/a.jsp?sid=12", ["sid"]) == "http://x.cn/a.jsp"
    assert strip_params("http://x.cn/a.jsp;token=1/b", ["token"]) == "http://x.cn/a.jsp/b"
    for url in ("http://x.cn/a.html?b=%7e&a", "http://x.cn/a.html?", "/rel/a.html?id=1"):
        assert strip_params(url, ["token"]) is url  # untouched, byte for byte
