"""Reprint detection (archive.similarity): reposts match, same-topic articles and roundups don't."""

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from archive.similarity import (
    BANDS,
    NUM_PERM,
    REPRINT_JACCARD,
    SCHEME,
    SEED,
    SHORT_BODY,
    Signature,
    candidate_probability,
    fingerprint_text,
    is_reprint,
    jaccard,
    shingles,
    signature,
)
from crawler.extract.hant import normalise

SITES = Path(__file__).resolve().parent.parent / "crawler" / "replica" / "sites"

# Two articles on one topic, written for this test: same campaign (金秋助学), same vocabulary
# (困难职工, 助学金, 子女, 大学), different cities, numbers and events.
XIAN_JINQIU = (
    "9月28日，西安市总工会在市职工服务中心举行2023年“金秋助学”助学金发放仪式，"
    "为全市312名困难职工家庭考入大学的子女发放助学金156万元。市总工会党组书记在仪式上说，"
    "金秋助学是工会组织服务职工的一项品牌工作，已连续开展二十一年，累计资助困难职工子女两万余人。"
    "受助学生代表、西北大学新生李同学表示，将珍惜学习机会，学成后回报社会。今年的助学活动"
    "首次实行网上申报，职工通过“西安工会”小程序提交材料，审核时间由一个月缩短到十天。"
    "各区县工会和产业工会同步开展助学活动，对家庭收入低于当地最低生活保障标准的职工子女"
    "给予每人五千元资助，对考入本科院校的农民工子女给予每人三千元资助。"
)
XINING_JINQIU = (
    "近日，西宁市总工会“金秋助学”活动在城东区启动，今年共筹集助学资金65万元，资助92户"
    "困难职工家庭子女圆梦大学。活动现场，市总工会负责同志为受助学生发放助学金，并勉励他们"
    "刻苦学习、早日成才。据了解，西宁市总工会今年将助学对象扩大到新就业形态劳动者子女，"
    "快递员、外卖送餐员等群体家庭的学生首次纳入资助范围。为做好助学工作，市总工会联合教育"
    "部门对申请学生逐一入户核实，确保助学金发放到最需要的家庭。湟中区、大通县等县区工会"
    "也结合实际开展了形式多样的助学活动，为困难职工家庭送去了党和政府的关怀与温暖。"
)


@cache
def _articles(site_id: str) -> dict[str, dict]:
    data = json.loads((SITES / site_id / "articles.json").read_text(encoding="utf-8"))
    return {article["id"]: article for article in data["articles"]}


def _body(site_id: str, article_id: str) -> str:
    blocks = _articles(site_id)[article_id]["blocks"]
    return "\n".join(b["text"] for b in blocks if b["kind"] in ("p", "h") and b.get("text"))


def _shingles_of(body: str, title: str = "") -> np.ndarray:
    return shingles(fingerprint_text(title, body))


def _hant_mirror(hans: str) -> str:
    """The tibet3 mirror's rendering of a zh-Hans text: OpenCC s2t, pinyin after some
    characters and two characters lost as ``?`` (samples in crawler/extract/hant.py)."""
    import opencc

    hant = opencc.OpenCC("s2t").convert(hans)
    for char, pinyin in (("職", "(zhí)"), ("動", "(dòng)"), ("務", "(wù)"), ("環", "(huán)")):
        hant = hant.replace(char, char + pinyin)
    hant = hant.replace("惠及", "?及", 1).replace("累計", "累?", 1)
    return "中國藏族網(wǎng)通訊 " + hant


# -- what is compared ---------------------------------------------------------------------------


def test_fingerprint_keeps_ideographs_letters_and_digits_and_drops_the_rest():
    body = "全总召开座谈会。\n与会代表：ＡＣＦＴＵ（2024）实打?地\ufffd服务" * 3
    assert fingerprint_text("标题", body) == "全总召开座谈会与会代表acftu2024实打地服务" * 3


def test_fingerprint_leaves_the_title_out_so_a_retitled_repost_still_matches():
    body = _body("qhzgh", "1121")
    assert fingerprint_text("西宁“暖心早餐”项目惠及环卫职工", body) == fingerprint_text(
        "暖心早餐温暖环卫工人", body
    )


def test_fingerprint_takes_the_title_in_when_the_body_is_very_short():
    body = "详见附件。特此通知。"
    assert len(fingerprint_text("", body)) < SHORT_BODY
    assert fingerprint_text("关于开展金秋助学的通知", body).startswith("关于开展金秋助学的通知")


def test_text_shorter_than_a_shingle_is_one_shingle_and_empty_text_none():
    assert len(shingles("工会")) == 1
    assert not np.array_equal(shingles("工会"), shingles("工人"))
    assert len(shingles("")) == 0
    assert not is_reprint(shingles(""), shingles(""))


# -- reprints -----------------------------------------------------------------------------------


def test_repost_with_another_footer_and_source_line_is_a_reprint():
    body = _body("qhzgh", "1171")
    ours = body + "\n(来源：西宁市总工会 编辑：马海)"
    theirs = "来源：青海工人报\n" + body + "\n责任编辑：张明 版权所有 青海省总工会"
    assert is_reprint(_shingles_of(ours), _shingles_of(theirs))


def test_repost_with_one_sentence_dropped_is_a_reprint():
    body = _body("xazgh", "5791")
    dropped = "农民工学党史活动被中央党史学习教育官网刊登。"
    assert dropped in body
    assert is_reprint(_shingles_of(body), _shingles_of(body.replace(dropped, "")))


def test_zh_hant_mirror_read_back_as_zh_hans_is_a_reprint_of_the_original():
    original = _body("qhzgh", "1121")
    mirror = _hant_mirror(original)
    hans = normalise(mirror).hans
    assert hans != original  # lost characters and the mirror's dateline remain
    assert is_reprint(_shingles_of(original), _shingles_of(hans))
    # and it is the zh-Hans reading that makes it one
    assert jaccard(_shingles_of(original), _shingles_of(mirror)) < REPRINT_JACCARD


def test_reprints_share_a_band_key_so_the_index_finds_them():
    body = _body("qhzgh", "1171")
    a = set(signature(_shingles_of(body)).band_keys())
    b = set(signature(_shingles_of(body + "\n责任编辑：张明")).band_keys())
    assert a & b


# -- not reprints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_id", "roundup", "quoted"),
    [
        ("xazgh", "5832", "5791"),
        ("xazgh", "5832", "5826"),
        ("tibet3", "3312856", "3305233"),  # the closest pair in the replica: Jaccard 0.41
    ],
)
def test_roundup_quoting_a_short_article_verbatim_is_not_its_reprint(site_id, roundup, quoted):
    long = _shingles_of(normalise(_body(site_id, roundup)).hans)
    short = _shingles_of(normalise(_body(site_id, quoted)).hans)
    contained = len(np.intersect1d(long, short)) / len(short)
    assert contained > 0.95  # the short article is in the roundup, all of it
    assert not is_reprint(long, short)


def test_two_articles_on_one_topic_in_two_cities_are_not_reprints():
    xian, xining = _shingles_of(XIAN_JINQIU), _shingles_of(XINING_JINQIU)
    assert jaccard(xian, xining) < 0.05
    assert not is_reprint(xian, xining)
    assert not set(signature(xian).band_keys()) & set(signature(xining).band_keys())


def test_articles_from_one_template_are_not_reprints():
    # 西宁市工会将大力实施“温暖同行”行动 / “和谐共创”行动: the most alike distinct pair.
    assert not is_reprint(
        _shingles_of(_body("xnzgh", "3467")), _shingles_of(_body("xnzgh", "3471"))
    )


# -- signatures and band keys -------------------------------------------------------------------


def test_banding_finds_reprints_almost_surely_and_unrelated_articles_rarely():
    assert candidate_probability(REPRINT_JACCARD) > 0.98
    assert candidate_probability(0.8) > 0.999999
    assert candidate_probability(0.2) < 0.05


def test_signature_is_what_datasketch_minhash_computes():
    from datasketch import MinHash

    sh = _shingles_of(_body("xazgh", "5791"))
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=lambda v: v)
    minhash.update_batch((sh >> np.uint64(32)).astype(np.uint32).tolist())
    assert np.array_equal(signature(sh).hashvalues, minhash.hashvalues)


def test_band_keys_are_non_negative_63_bit_integers_one_per_band():
    keys = signature(_shingles_of(_body("xazgh", "5791"))).band_keys()
    assert len(keys) == BANDS == len(set(keys))
    assert all(isinstance(k, int) and 0 <= k < 2**63 for k in keys)


def test_empty_text_has_no_band_keys():
    empty = signature(shingles(""))
    assert empty.is_empty
    assert empty.band_keys() == []


def test_band_key_is_pinned_so_a_changed_scheme_cannot_go_unnoticed():
    # Every stored key depends on this value: if it changes, re-sign the archive on purpose.
    keys = signature(shingles(fingerprint_text("", "全总召开劳模座谈会，与会劳模代表发言。" * 3)))
    assert keys.band_keys()[:2] == [6328841507145270516, 3833863306478535623]


@pytest.mark.slow
def test_band_keys_are_the_same_in_another_python_process():
    body = _body("qhzgh", "1178")
    code = (
        "import sys, json\n"
        "from archive.similarity import fingerprint_text, shingles, signature\n"
        "body = sys.stdin.read()\n"
        "print(json.dumps(signature(shingles(fingerprint_text('', body))).band_keys()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        input=body,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345", "PYTHONIOENCODING": "utf-8"},
        cwd=SITES.parents[2],
    )
    assert json.loads(result.stdout) == signature(_shingles_of(body)).band_keys()


def test_signature_bytes_round_trip():
    sig = signature(_shingles_of(_body("xazgh", "5791")))
    data = sig.to_bytes()
    assert isinstance(data, bytes)
    again = Signature.from_bytes(data)
    assert again == sig
    assert again.band_keys() == sig.band_keys()


def test_signature_from_other_parameters_is_refused():
    from datasketch import LeanMinHash

    other = LeanMinHash(seed=SEED + 1, hashvalues=np.zeros(NUM_PERM, np.uint32), scheme=SCHEME)
    buf = bytearray(other.bytesize(byteorder="<"))
    other.serialize(buf, byteorder="<")
    with pytest.raises(ValueError, match="seed"):
        Signature.from_bytes(bytes(buf))
