"""crawler.decode: the bytes decide, declarations are only believed when the bytes agree."""

from crawler.decode import codec_for, decode_body, http_charset

TEXT = "<html><head>{meta}</head><body><p>西宁市总工会开展“金秋助学”活动，资助困难职工子女。</p></body></html>"


def page(meta: str = "", encoding: str = "gbk") -> bytes:
    return TEXT.format(meta=meta).encode(encoding)


def test_decode_body_reads_gbk_page_without_any_charset_declaration():
    decoded = decode_body(page(), "text/html")
    assert "金秋助学" in decoded.text
    assert decoded.evidence.chosen == "gb18030"
    assert decoded.evidence.http_charset is None and decoded.evidence.meta_charset is None
    assert decoded.evidence.replacement_count == 0


def test_decode_body_reads_gb2312_declaration_as_gb18030():
    body = TEXT.format(meta='<meta charset="gb2312">').replace("资助", "资助·镕").encode("gb18030")
    decoded = decode_body(body, "text/html; charset=GB2312")
    assert decoded.evidence.http_charset == "GB2312"
    assert decoded.evidence.chosen == "gb18030"
    assert "镕" in decoded.text


def test_decode_body_ignores_latin1_header_on_gbk_bytes_and_follows_meta():
    decoded = decode_body(page('<meta charset="gbk">'), "text/html; charset=iso-8859-1")
    assert decoded.evidence.http_charset == "iso-8859-1"
    assert decoded.evidence.chosen == "gb18030"
    assert "金秋助学" in decoded.text


def test_decode_body_rejects_utf8_meta_contradicted_by_gbk_bytes():
    decoded = decode_body(page('<meta charset="utf-8">'), "text/html")
    assert decoded.evidence.meta_charset == "utf-8"
    assert decoded.evidence.chosen == "gb18030"
    assert decoded.evidence.detected is not None
    assert "金秋助学" in decoded.text


def test_decode_body_reads_utf8_bytes_declared_as_gbk():
    decoded = decode_body(page('<meta charset="gbk">', "utf-8"), "text/html; charset=gbk")
    assert decoded.evidence.chosen == "utf-8"
    assert "金秋助学" in decoded.text


def test_decode_body_counts_replacement_characters_from_a_broken_sequence():
    body = page('<meta charset="gbk">').replace(b"<body>", b"<body>\x81\x20")
    decoded = decode_body(body, "text/html; charset=gbk")
    assert decoded.evidence.chosen == "gb18030"
    assert decoded.evidence.replacement_count == 1
    assert "金秋助学" in decoded.text


def test_decode_body_survives_empty_and_binary_input():
    assert decode_body(b"", None).text == ""
    decoded = decode_body(bytes(range(256)) * 4, "text/html")
    assert isinstance(decoded.text, str)


def test_charset_helpers_parse_headers_and_map_gb_family():
    assert http_charset('text/html; charset="GBK"') == "GBK"
    assert http_charset("text/html") is None
    assert codec_for("gb2312") == "gb18030"
    assert codec_for("no-such-charset") is None
