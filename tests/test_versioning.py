import datetime as dt
import re

from archive.records import ArticleFields
from archive.versioning import content_sha256, normalise_text

ARTICLE = ArticleFields(
    title="全总召开劳模座谈会",
    body="中华全国总工会今天召开座谈会。\n与会劳模代表发言。",
    published=dt.date(2024, 5, 1),
    source="工人日报",
    author="张三",
    captions=("座谈会现场",),
)


def _with(**changes):
    values = {name: getattr(ARTICLE, name) for name in ArticleFields.__slots__}
    values.update(changes)
    return ArticleFields(**values)


def test_normalise_text_folds_full_width_characters_and_ideographic_spaces():
    assert normalise_text("ＡＣＦＴＵ\u3000２０２４年") == "ACFTU 2024年"


def test_normalise_text_strips_lines_and_drops_empty_ones():
    text = "  第一段。 \r\n\r\n\t\n\u3000\u3000第二段。\u00a0\n\n"
    assert normalise_text(text) == "第一段。\n第二段。"


def test_normalise_text_collapses_runs_of_whitespace_inside_a_line():
    assert normalise_text("劳模\t\t  座谈会") == "劳模 座谈会"


def test_normalise_text_removes_invisible_characters():
    assert normalise_text("\ufeff工\u200b会") == "工会"


def test_normalise_text_of_nothing_is_empty():
    assert normalise_text(None) == ""
    assert normalise_text(" \n \u3000 ") == ""


def test_content_sha256_is_hex_sha256():
    assert re.fullmatch(r"[0-9a-f]{64}", content_sha256(ARTICLE))


def test_content_sha256_ignores_whitespace_and_width_differences():
    reflowed = _with(
        title=" 全总召开劳模座谈会\u3000",
        body="\n\n  中华全国总工会今天召开座谈会。  \r\n\r\n与会劳模代表发言。\n",
    )
    assert content_sha256(reflowed) == content_sha256(ARTICLE)


def test_content_sha256_ignores_author_captions_date_and_kicker():
    changed = _with(
        author="李四",
        captions=("新图片说明", "另一张"),
        published=dt.date(2024, 5, 2),
        published_time="09:30",
        kicker="本报讯",
        subtitle="副标题",
    )
    assert content_sha256(changed) == content_sha256(ARTICLE)


def test_content_sha256_changes_with_title_body_or_source():
    base = content_sha256(ARTICLE)
    assert content_sha256(_with(title="全总召开劳模座谈会（更新）")) != base
    assert content_sha256(_with(body=ARTICLE.body + "\n会议要求……")) != base
    assert content_sha256(_with(body=ARTICLE.body.replace("今天", "昨天"))) != base
    assert content_sha256(_with(source="中工网")) != base
    assert content_sha256(_with(source=None)) != base


def test_content_sha256_does_not_confuse_title_and_body_boundaries():
    left = _with(title="工会", body="新闻")
    right = _with(title="工", body="会新闻")
    assert content_sha256(left) != content_sha256(right)
