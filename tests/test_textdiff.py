"""Sentence diff and change kinds (archive.textdiff): what a reader of two versions would see."""

import dataclasses

import pytest

from archive.records import ArticleFields
from archive.textdiff import (
    DiffOp,
    char_changes,
    classify_change,
    diff_sentences,
    inline_diff,
    render_diff,
    sentences,
)

# From crawler/replica/sites/qhzgh (article 1171), two paragraphs.
BODY = (
    "为进一步做好“四季送”工作，西宁市总工会围绕职工群众最关心最直接最现实的利益问题，"
    "持续开展“春送岗位、夏送清凉、金秋助学、冬送温暖”活动。"
    "“春送岗位”活动推动线上线下招聘活动，参与企业847家，提供岗位信息3.1万个。\n"
    "“金秋助学”活动发放助学金65万元，资助92户困难职工家庭子女上大学。"
    "“冬送温暖”活动动员全市工会“两节”送温暖358万元，走访慰问职工群众2492人。"
)
ARTICLE = ArticleFields(
    title="西宁市总工会“四季送”活动温暖职工心", body=BODY, source="西宁市总工会"
)


def _edit(**changes):
    return dataclasses.replace(ARTICLE, **changes)


# -- sentences ----------------------------------------------------------------------------------


def test_sentences_keep_closing_quotes_with_the_sentence_they_end():
    text = "他说：“要为职工办实事。”全市工会积极参与！（完）"
    assert sentences(text) == ["他说：“要为职工办实事。”", "全市工会积极参与！", "（完）"]


def test_sentences_split_at_half_width_marks_paragraph_ends_and_ellipses():
    text = "送岗位、送清凉……把温暖送到心坎上;效果好吗? 很好!\n第二段"
    assert sentences(text) == [
        "送岗位、送清凉……",
        "把温暖送到心坎上;",
        "效果好吗?",
        "很好!",
        "第二段",
    ]


def test_sentences_do_not_split_at_a_question_mark_standing_for_a_lost_character():
    assert sentences("實打?地服務職工。共59個?問題。") == ["實打?地服務職工。", "共59個?問題。"]


def test_sentences_have_no_empty_items_and_no_surrounding_whitespace():
    assert sentences("  第一段。\n\n\u3000\u3000第二段。 \n") == ["第一段。", "第二段。"]
    assert sentences("") == sentences(None) == []


# -- diff and change counting -------------------------------------------------------------------


def test_diff_aligns_unchanged_sentences_around_an_edit():
    new = BODY.replace("847家", "874家")
    ops = diff_sentences(BODY, new)
    assert [op.tag for op in ops] == ["equal", "replace", "equal"]
    assert ops[1] == DiffOp(
        "replace",
        ["“春送岗位”活动推动线上线下招聘活动，参与企业847家，提供岗位信息3.1万个。"],
        ["“春送岗位”活动推动线上线下招聘活动，参与企业874家，提供岗位信息3.1万个。"],
    )


def test_char_changes_counts_only_the_characters_that_differ_in_a_replaced_sentence():
    assert char_changes(BODY, BODY.replace("65万元", "56万元")) == 2
    assert char_changes(BODY, BODY.replace("资助92户", "资助了92户")) == 1


def test_char_changes_counts_an_inserted_sentence_in_full():
    added = "活动受到职工欢迎。"
    assert char_changes(BODY, BODY + added) == len(added)


def test_char_changes_ignores_whitespace_entirely():
    spaced = BODY.replace("，", " ， ").replace("\n", " \n\u3000\u3000").replace("847", "８４７")
    assert char_changes(BODY, spaced) == 0


def test_a_sentence_split_in_two_is_a_small_change():
    split = BODY.replace("招聘活动，参与企业", "招聘活动。参与企业")
    assert char_changes(BODY, split) == 2


# -- classify_change ----------------------------------------------------------------------------


def test_first_version_is_new():
    assert classify_change(None, ARTICLE) == "new"


def test_a_typo_fix_is_a_minor_edit_and_shows_inline():
    typo = _edit(body=BODY.replace("走访慰问", "走防慰问"))
    assert classify_change(typo, ARTICLE) == "minor_edit"
    lines = render_diff(diff_sentences(typo.body, ARTICLE.body))
    assert (
        "replace",
        "~ “冬送温暖”活动动员全市工会“两节”送温暖358万元，走[-防-]{+访+}慰问职工群众2492人。",
    ) in lines
    assert lines[0] == ("equal", "  " + sentences(BODY)[0])


def test_an_added_paragraph_is_a_substantive_edit():
    longer = _edit(body=BODY + "\n下一步，市总工会将持续做好帮扶工作。")
    assert classify_change(ARTICLE, longer) == "substantive_edit"
    lines = render_diff(diff_sentences(BODY, longer.body))
    assert lines[-1] == ("insert", "+ 下一步，市总工会将持续做好帮扶工作。")


def test_many_changed_characters_in_one_paragraph_are_a_substantive_edit():
    rewritten = BODY.replace(
        "走访慰问职工群众2492人", "走访慰问一线职工、困难职工和劳模共计2492人次"
    )
    assert classify_change(ARTICLE, _edit(body=rewritten)) == "substantive_edit"


def test_a_deleted_sentence_is_a_substantive_edit():
    shorter = BODY.replace("“金秋助学”活动发放助学金65万元，资助92户困难职工家庭子女上大学。", "")
    assert classify_change(ARTICLE, _edit(body=shorter)) == "substantive_edit"
    assert ("delete", "- “金秋助学”活动发放助学金65万元，资助92户困难职工家庭子女上大学。") in (
        render_diff(diff_sentences(BODY, shorter))
    )


def test_a_changed_title_is_a_retitle():
    assert classify_change(ARTICLE, _edit(title="“四季送”活动温暖西宁职工心")) == "retitle"


def test_a_title_changed_only_in_whitespace_is_no_retitle():
    respaced = _edit(title="西宁市总工会 “四季送”活动\u3000温暖职工心")
    assert classify_change(ARTICLE, respaced) == "minor_edit"


@pytest.mark.parametrize("source", ["青海工人报", None])
def test_a_changed_source_is_a_substantive_edit(source):
    assert classify_change(ARTICLE, _edit(source=source)) == "substantive_edit"


def test_a_whitespace_only_change_counts_no_characters():
    # The content hash keeps single spaces, so this can be a new version; it changes nothing.
    respaced = _edit(body=BODY.replace("，", "， "))
    assert char_changes(BODY, respaced.body) == 0
    assert classify_change(ARTICLE, respaced) == "minor_edit"


def test_classify_reads_any_object_with_title_body_and_source():
    class Row:  # an ORM version row, say
        title = ARTICLE.title
        body = BODY.replace("65万元", "56万元")
        source = "西宁市总工会"

    assert classify_change(ARTICLE, Row()) == "minor_edit"


# -- render -------------------------------------------------------------------------------------


def test_inline_diff_marks_deleted_and_inserted_characters():
    assert inline_diff("参与企业847家", "参与企业874家") == "参与企业8{+7+}4[-7-]家"


def test_render_with_context_cuts_long_unchanged_runs():
    old = "".join(f"第{i}句。" for i in range(10))
    new = old.replace("第5句。", "第五句。")
    lines = render_diff(diff_sentences(old, new), context=1)
    assert lines == [
        ("skip", "  …"),
        ("equal", "  第4句。"),
        ("replace", "~ 第[-5-]{+五+}句。"),
        ("equal", "  第6句。"),
        ("skip", "  …"),
    ]
