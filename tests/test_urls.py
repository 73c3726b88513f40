import pytest

from archive.urls import canonical_url


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
