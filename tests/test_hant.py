"""The zh-Hans reading (crawler.extract.hant): pinyin artefacts, lost characters, t2s."""

import pytest

from archive.records import ArticleFields
from crawler.decode import decode_body
from crawler.extract.article import extract_article
from crawler.extract.hant import lost_marks, normalise, normalise_parts, with_hans
from crawler.replica.pages import build_site
from crawler.replica.truth import load_truth

TRADITIONAL_ONLY = "網勞會動進關實個務業"
TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"


# -- pinyin artefacts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hans", "removed"),
    [
        ("中國藏族網(wǎng)通訊", "中国藏族网通讯", 1),
        ("以勞動(dòng)關(guān)系和諧", "以劳动关系和谐", 2),
        ("取得新進(jìn)展新成效", "取得新进展新成效", 1),
        ("取得新進展(jìn zhǎn)新成效", "取得新进展新成效", 1),  # several syllables at once
        ("勞動（láo dòng）", "劳动", 1),  # full-width brackets
        ("婦女(nǚ)", "妇女", 1),
        ("青海省總工會舉辦全省工會幹部培訓(xùn)班", "青海省总工会举办全省工会干部培训班", 1),
    ],
)
def test_converter_pinyin_after_a_character_is_removed_and_counted(text, hans, removed):
    result = normalise(text)
    assert (result.hans, result.artefacts_removed, result.script) == (hans, removed, "hant")


@pytest.mark.parametrize(
    "text",
    [
        "西宁市总工会召开全委会议。(西宁市总工会)",
        "五年规划(2018——2023)进展顺利",
        "开展送医送药活动150场(次)",
        "各县（市）总工会",
        "工会(union)是职工自愿结合的群众组织",
        "劳模风采(附图)",
        "职工书屋揭牌(图)",
        "本报讯(记者 张三)",
        "北京等六省(市)总工会",
        "咖啡馆(café)开业",  # a tone mark, but no Mandarin syllable
        "北京(Běijīng)",  # a capitalised gloss is written by a person, not the converter
        "(wǎng)开头",  # nothing before it: not after a character
    ],
)
def test_legitimate_parentheses_stay(text):
    result = normalise(text)
    assert result.hans == text and result.artefacts_removed == 0


# -- lost characters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lost"),
    [
        ("實打?qū)嵉胤?wù)職工群眾", 2),  # the lost character ate its pinyin's "("
        ("困難和問題59個(gè)?;I集困難職工", 1),  # a stray half of a full-width ；
        ("管理?xiàng)l例", 1),
        ("?7月24日,第三屆", 1),  # no paragraph opens with a question mark
        ("第一段。\n?7月24日", 1),
        ("助力新青?!比瞬彭?xiàng)目", 2),
        ("乱码\ufffd\ufffd文字", 2),  # U+FFFD always stands for something lost
        ("乱码？？x文字", 2),  # every mark of a run
    ],
)
def test_question_marks_standing_for_lost_characters_are_counted(text, lost):
    assert normalise(text).lost_chars == lost


@pytest.mark.parametrize(
    "text",
    [
        "这是为什么?",
        "这是为什么？",
        "这是为什么?\n下一段",
        "他问:“你来了吗？”",
        "为什么?因为宣传极限",  # the next sentence follows directly
        "为什么？因为宣传极限",
        "目标是什么?2024年要完成",
        "为什么?GDP增长了",
        "真的吗?!",
        "你好吗？？",
        "怎么办?——关于粮食",
        "好吗？[微笑]",
        "Linux会成功吗？ 正象每一个",
        "见 index.php?id=3 页面",
        "Is it official? A study",
        "表现得?加明显",  # a loss, but it reads like 是什么?但是: not counted, knowingly
    ],
)
def test_real_question_marks_are_not_counted(text):
    assert normalise(text).lost_chars == 0


def test_lost_characters_stay_in_the_hans_text_and_their_pinyin_tail_goes():
    result = normalise("實打?qū)嵉胤?wù)職工群眾")
    assert result.hans == "实打?嵉胤?职工群众"
    assert (result.lost_chars, result.artefacts_removed) == (2, 2)
    assert lost_marks("實打?qū)嵉胤?wù)") == [2, 8]


# -- script -------------------------------------------------------------------------------------


def test_zh_hans_text_is_left_as_it_is_even_where_t2s_would_rewrite_a_name():
    # 乾清宫 and 昇兴股份 are zh-Hans; OpenCC t2s would still make them 干清宫 and 升兴股份.
    for text in (
        "明清两代，皇帝大多会在乾清宫召见群臣、处理政务，这里也是故宫中轴线上的重要宫殿。",
        "昇兴股份今天发布公告，全年营业收入稳定增长，公司工会组织职工开展技能竞赛。",
    ):
        assert normalise(text).script == "hans"
        assert normalise(text).hans == text


def test_text_without_cjk_has_no_script():
    assert normalise("ACFTU 2024").script is None
    assert normalise("").hans == ""


def test_an_article_is_judged_zh_hant_as_a_whole_so_a_short_title_cannot_tip_it():
    title, body = normalise_parts(("乾清宫", "皇帝在宫中赏赐群臣，群臣谢恩后退出大殿，各自回府。" * 3))
    assert title.script == body.script == "hans" and title.hans == "乾清宫"


def test_with_hans_stores_only_what_differs_and_readers_fall_back():
    hant = with_hans(ArticleFields(title="勞動(dòng)者之歌", body="中國藏族網(wǎng)通訊 工會?7月"))
    assert (hant.title_hans, hant.body_hans) == ("劳动者之歌", "中国藏族网通讯 工会?7月")
    assert (hant.artefacts_removed, hant.lost_chars, hant.script) == (2, 0, "hant")
    hans = with_hans(ArticleFields(title="劳动者之歌", body="中国藏族网通讯 工会"))
    assert (hans.title_hans, hans.body_hans, hans.script) == (None, None, "hans")
    assert (hans.hans_title, hans.hans_body) == ("劳动者之歌", "中国藏族网通讯 工会")
    assert (hans.artefacts_removed, hans.lost_chars) == (0, 0)


def test_fields_built_by_hand_are_marked_never_normalised():
    fields = ArticleFields(title="标题", body="正文")
    assert fields.artefacts_removed is None and fields.script is None
    assert fields.hans_body == "正文"


# -- the tibet3 replica pages -------------------------------------------------------------------


def _tibet3_extractions():
    """Each tibet3 replica article page as served (bytes), decoded and extracted."""
    site = build_site("tibet3")
    for truth in load_truth("tibet3"):
        page = site.lookup(truth.path)
        text = decode_body(page.body, page.content_type).text
        yield truth, extract_article(text, "http://www.tibet3.com" + truth.path)


def test_tibet3_pages_extract_to_hans_without_artefacts_and_count_what_was_lost():
    seen = 0
    for truth, result in _tibet3_extractions():
        fields = result.fields
        assert fields is not None and fields.body == "\n".join(truth.body)  # published, as is
        assert fields.script == "hant", truth.path
        text = fields.hans_title + "\n" + fields.hans_body
        assert not any(c in text for c in TONE_MARKS + TRADITIONAL_ONLY), truth.path
        # Every ? on the mirror is a lost character (its truth has no real question).
        planted = sum(s.count("?") for s in (truth.title, *truth.body))
        assert fields.lost_chars == planted, truth.path
        assert text.count("?") == planted, truth.path  # kept in the hans text
        seen += planted
    assert seen > 0


def test_extract_jsonl_records_carry_the_zh_hans_reading(tmp_path):
    from crawler.cli.extract import extract_file

    truth = load_truth("tibet3")[0]
    path = tmp_path / "page.htm"
    path.write_bytes(build_site("tibet3").lookup(truth.path).body)
    record = extract_file(path, "http://www.tibet3.com" + truth.path)
    assert record["body"] == "\n".join(truth.body)
    assert record["title_hans"] == "青海省各级工会积极参与社会治理取得新进展新成效"
    assert "网通讯" in record["body_hans"] and "(wǎng)" not in record["body_hans"]
    assert record["script"] == "hant" and record["artefacts_removed"] > 0
    assert record["lost_chars"] == sum(s.count("?") for s in truth.body)
