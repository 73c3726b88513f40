"""The extraction rules a reader of a real Chinese page would check: where the article is,
its headline, its date and its 来源, on small pages written for the purpose."""

import datetime as dt

import pytest

from crawler.extract import dates, meta
from crawler.extract.article import extract_article, parse_page
from crawler.extract.clean import noise_reason

TODAY = dt.date(2026, 11, 23)
URL = "http://127.0.0.1/news/1.html"

PARAGRAPHS = [
    "11月20日，市总工会在职工文化中心举办第三届职工技能大赛决赛，来自全市机械、电力、"
    "建筑等行业的一百二十名职工同台竞技，比赛设置焊工、电工、钳工三个工种。",
    "大赛历时两天，分为理论考试和实际操作两个环节，评委由行业专家和高级技师组成，"
    "对每位选手的操作规范、作品质量和完成时间进行综合评分。",
    "市总工会负责人表示，将以赛促学、以赛促训，推动更多一线职工成长为高技能人才，"
    "为全市高质量发展提供坚实的人才支撑。",
]


def page(body: str, title: str = "市总工会举办职工技能大赛决赛_某市总工会") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def paragraphs(texts=PARAGRAPHS) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def teaser_list(n: int = 12) -> str:
    # Long, comma-rich teasers: on weight alone they outscore the three article paragraphs.
    item = (
        "<li><p>第{i}篇：区总工会开展送温暖活动，走访慰问困难职工家庭，为他们送去米面油等"
        "生活物资和慰问金，帮助他们解决生产生活中的实际困难，让职工感受到工会组织的温暖。</p></li>"
    )
    return "<ul>" + "".join(item.format(i=i) for i in range(n)) + "</ul>"


def extract(html: str):
    result = extract_article(html, URL)
    assert result.fields is not None
    return result.fields


@pytest.mark.parametrize(
    "marker", ['class="comment-list"', 'id="recommend"', 'class="related_news"']
)
def test_comments_and_recommendations_are_not_the_article(marker):
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1>"
        f"<div class='content'>{paragraphs()}</div><div {marker}>{teaser_list()}</div>"
    )
    fields = extract(html)
    assert fields.body.split("\n") == PARAGRAPHS
    assert "送温暖" not in fields.body


def test_a_section_opened_by_guess_you_like_is_not_the_article():
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1>"
        f"<div>{paragraphs()}</div>"
        f"<div><h2>猜你喜欢</h2>{teaser_list()}</div>"
    )
    fields = extract(html)
    assert fields.body.split("\n") == PARAGRAPHS


def test_the_body_ends_at_a_related_reports_line_and_a_closing_source_is_a_field():
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='content'>"
        + paragraphs()
        + "<p>来源：某市日报</p><p>相关报道：</p>"
        + "<p>区总工会开展送温暖活动，走访慰问困难职工家庭，为他们送去生活物资和慰问金。</p></div>"
    )
    fields = extract(html)
    assert fields.body.split("\n") == PARAGRAPHS
    assert fields.source == "某市日报"


def test_a_blog_post_title_linked_to_itself_is_the_headline_when_the_title_tag_is_empty():
    html = page(
        "<div class='nav'><a href='/'>首页</a></div>"
        "<div class='postTitle'><a href='/p/1.html'>参加职工技能大赛的一点体会</a></div>"
        f"<div class='postBody'>{paragraphs()}</div>",
        title="",
    )
    fields = extract(html)
    assert fields.title == "参加职工技能大赛的一点体会"
    assert fields.body.split("\n") == PARAGRAPHS


def test_forum_and_wiki_title_decorations_are_dropped():
    forum = page(
        f"<table><tr><td>主题： 职工技能大赛观后感</td></tr><tr><td>{paragraphs()}</td></tr></table>",
        title="职工论坛",
    )
    assert extract(forum).title == "职工技能大赛观后感"
    wiki = page(
        f"<h1>职工技能大赛<span><a href='/edit'>[编辑]</a></span></h1><div>{paragraphs()}</div>",
        title="职工技能大赛 - 某百科",
    )
    assert extract(wiki).title == "职工技能大赛"


def test_sections_between_a_confirmed_headline_and_the_longest_block_belong_to_the_article():
    summary = [
        "职工技能大赛是由市总工会、市人力资源和社会保障局联合主办的全市规模最大的职业技能竞赛，"
        "面向全市各行业一线职工。",
        "大赛每两年举办一次，已举办三届，累计有两千余名职工参赛，三百余人获得技术能手称号，"
        "多人在全省比赛中获奖。",
    ]
    html = page(
        "<h1>职工技能大赛</h1>"
        f"<div class='summary'>{paragraphs(summary)}</div>"
        f"<div class='history'><h2>历届大赛</h2>{paragraphs()}</div>",
        title="职工技能大赛_某百科",
    )
    fields = extract(html)
    assert fields.body.split("\n") == [*summary, "历届大赛", *PARAGRAPHS]


def test_one_promotion_under_the_headline_does_not_pull_the_page_in():
    promo = "年度职工风采人物评选火热进行中，快来为你心目中的劳动模范投上一票吧！点击投票参与。"
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='box'>"
        f"<p>{promo}</p><div class='content'>{paragraphs()}</div></div>"
    )
    assert extract(html).body.split("\n") == PARAGRAPHS


@pytest.mark.parametrize(
    ("meta_lines", "source"),
    [
        (["2024年05月10日 00:26 某市日报"], "某市日报"),
        (["2022-06-02 09:52:19工人日报评论 来自北京市"], "工人日报评论"),
        (["播报文章", "某市新闻网", "2024-05-20 13:09"], "某市新闻网"),
        (["张三", "2024-05-20 13:09"], None),  # a person's name is not a publisher
        (["2024-05-20 13:09 张三"], None),
        (["2024-05-20 13:09 发布于北京"], None),
        (["收藏", "2024-05-20 13:09"], None),
        (["2015-06-19 10:00:00 0人参与评论"], None),  # a comment counter
        (["2019-11-03 富达传媒 时政新闻 1665 0"], None),  # counters trail the name
    ],
)
def test_unlabelled_source_is_the_publisher_printed_beside_the_time(meta_lines, source):
    assert meta.unlabelled_source(meta_lines) == source


def test_unlabelled_source_is_used_when_no_label_names_one():
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='info'>2024年11月20日 18:30 某市日报</div>"
        f"<div class='content'>{paragraphs()}</div>"
    )
    fields = extract(html)
    assert fields.source == "某市日报"
    assert fields.published == dt.date(2024, 11, 20)
    assert fields.published_time == "18:30"


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("顶端新闻·河南商报记者马俊峰/文", "河南商报"),
        ("新华社记者 李四", "新华社"),
        ("本报记者 王五", None),
    ],
)
def test_the_paper_a_reporter_writes_for(line, source):
    assert meta.reporter_org(line) == source


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("摘自《职工之友》2000年第2期", "职工之友"),
        ("出自[工人出版社]", "工人出版社"),
        ("图片来源：某市总工会", None),
        ("数据来源：国家统计局", None),
    ],
)
def test_source_labels_that_name_where_the_text_came_from(line, source):
    assert meta.source_of(line) == source


def test_publication_statements_are_dates_but_other_articles_dates_are_not():
    found = dates.labelled_date(
        "最新推荐文章于 2024-05-07 22:12:13 发布  于 2024-05-06 15:47:53 发布", TODAY
    )
    assert found == dates.FoundDate(dt.date(2024, 5, 6), "15:47:53")
    found = dates.labelled_date("本贴由大卫于2005年8月12日16:12:21在〖职工论坛〗发表.", TODAY)
    assert found is not None and found.date == dt.date(2005, 8, 12)
    assert dates.labelled_date("发表于 2004年12月27日 12:40 - (阅读:3727)", TODAY).date == dt.date(
        2004, 12, 27
    )


def test_dates_only_scripts_know():
    jsonld = '{"@type": "NewsArticle", "datePublished": "2024-03-08T09:30:00+08:00"}'
    assert dates.script_date([jsonld], TODAY).date == dt.date(2024, 3, 8)
    wechat = 'var nickname = "某市总工会"; var ct = "1659274471";'
    assert dates.script_date([wechat], TODAY) == dates.FoundDate(dt.date(2022, 7, 31), "21:34:31")
    assert dates.script_date(['var ct = "4102444800";'], TODAY) is None  # 2100: the future


def test_a_date_in_a_script_is_used_only_when_the_page_shows_none():
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1>"
        f"<div class='content'>{paragraphs()}</div>"
        '<script>var ct = "1659274471";</script>'
    )
    assert extract(html).published == dt.date(2022, 7, 31)
    shown = html.replace("</h1>", "</h1><div>发布时间：2022-08-01</div>")
    assert extract(shown).published == dt.date(2022, 8, 1)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("当前位置：首页 > 工会动态", "breadcrumb"),
        ("责任编辑：李四", "editor_credit"),
        ("【编辑:刘欢】", "editor_credit"),
        ("播报", "ui_button"),
        ("收藏", "ui_button"),
    ],
)
def test_page_furniture_lines_are_noise(line, rule):
    assert noise_reason(line) == rule


def test_an_editor_named_inside_a_sentence_is_text():
    assert noise_reason("编辑：这是一段很长的说明文字，讲述了大赛的组织过程和评分规则。") is None


def _links(n: int) -> str:
    return "".join(
        f'<p><a href="/n/{i}.html">区总工会开展送温暖活动走访困难职工{i}</a></p>' for i in range(n)
    )


def test_a_bold_label_over_a_dropped_link_list_goes_with_the_list():
    """证券要闻 / 行业动态 over teaser links inside the article's block: the links are dropped
    as a link list and their labels with them; a bold subheading over text stays."""
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='content'>"
        f"<p><b>赛事回顾</b></p>{paragraphs()}"
        f"<div><p><b>证券要闻</b></p>{_links(2)}<p><strong>行业动态</strong></p>{_links(3)}</div>"
        "</div>"
    )
    body = extract(html).body
    assert "赛事回顾" in body and PARAGRAPHS[2] in body
    assert "证券要闻" not in body and "行业动态" not in body and "走访困难职工" not in body


def test_a_bold_line_over_a_single_link_is_kept():
    """One linked line under a bold line is not a list: the bold line may be article text."""
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='content'>"
        f"{paragraphs()}<p><b>最后决定</b></p>{_links(1)}<p>{PARAGRAPHS[0][:30]}另行通知。</p></div>"
    )
    assert "最后决定" in extract(html).body


def test_a_stray_end_of_document_mid_page_hides_neither_article_nor_links():
    """A CMS header fragment pasted in with its own </html> (gov.cn's 公报 pages): libxml2
    drops everything after it, a browser reads on, and so do we."""
    html = (
        "<html><head><title>市总工会举办职工技能大赛决赛_某市总工会</title></head><body>"
        "<div class='header'><a href='/'>首页</a></div></body></html>"
        f"<h1>市总工会举办职工技能大赛决赛</h1><div class='content'>{paragraphs()}</div>"
        "<a href='/news/2.html'>下一条新闻</a></body></html>"
    )
    fields = extract(html)
    assert fields.title == "市总工会举办职工技能大赛决赛"
    assert all(p in fields.body for p in PARAGRAPHS)
    from scrapy.utils.test import get_crawler

    from crawler.seeds import Seed
    from crawler.spiders.site import SiteSpider

    seed = Seed(
        id="demo",
        name="某市总工会",
        base_url="http://127.0.0.1/",
        start_urls=["/"],
        list_patterns=["/list/"],
        article_patterns=[r"/news/\d+\.html$"],
    )
    spider = SiteSpider.from_crawler(get_crawler(SiteSpider), site=seed)
    assert [url for url, _ in spider._links(parse_page(html)[0], URL)] == ["http://127.0.0.1/news/2.html"]


def test_a_headline_broken_by_br_is_one_title_when_the_page_title_says_so():
    html = page(
        "<p align='center'><strong>某市总工会<br>关于表彰2024年度<br>先进职工之家的决定</strong><br>"
        f"（2024年12月30日市总工会十四届三次全委会议通过）</p>{paragraphs()}",
        title="某市总工会关于表彰2024年度先进职工之家的决定_某市总工会",
    )
    fields = extract(html)
    assert fields.title == "某市总工会关于表彰2024年度先进职工之家的决定"
    assert "先进职工之家的决定" not in fields.body and fields.subtitle is None
    assert fields.published == dt.date(2024, 12, 30)


def test_an_article_wrapper_named_for_sharing_is_not_an_aside_but_article_comments_are():
    comments = "".join(
        f"<p>网友{i}：这次比赛办得真好，希望以后多举办这样的活动，让更多职工有机会展示技能。</p>"
        for i in range(8)
    )
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1><div class='js_img_share_area' id='artical_real'>"
        f"<p>2024-11-21 09:30 来源：某市总工会</p>{paragraphs()}<p>责任编辑：王五</p></div>"
        f"<div class='article-comments'>{comments}</div>"
    )
    fields = extract(html)
    assert fields.body == "\n".join(PARAGRAPHS)
    assert fields.published == dt.date(2024, 11, 21) and fields.source == "某市总工会"


def test_an_h5_headline_over_the_meta_line_beats_the_breadcrumb_when_the_title_names_neither():
    html = page(
        "<div class='se_nav'><h3>首页 - 新闻动态</h3></div><div class='news'>"
        "<h5>市总工会举办第三届职工技能大赛决赛</h5>"
        "<div class='ly'>发布时间：2024-11-21 来源：某市总工会</div>"
        f"<div class='detailCon'>{paragraphs()}</div></div>",
        title="新闻动态--某市总工会官网",
    )
    fields = extract(html)
    assert fields.title == "市总工会举办第三届职工技能大赛决赛"
    assert fields.source == "某市总工会" and fields.body == "\n".join(PARAGRAPHS)


def test_a_comment_count_link_on_the_date_line_does_not_cut_the_date():
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1>"
        "<div class='info'>2019-09-05 11:10 某市新闻网 <a href='#comments'>1</a></div>"
        f"<div class='content'>{paragraphs()}</div>"
    )
    fields = extract(html)
    assert (fields.published, fields.published_time) == (dt.date(2019, 9, 5), "11:10")


@pytest.mark.parametrize(
    ("value", "author"),
    [
        ("网易", None),  # the site, named in the <title>'s site part
        ("name, email@gmail.com", None),  # a template's placeholder
        ("104363", None),
        ("sina_mobile", None),
        ("张倩", "张倩"),
    ],
)
def test_a_meta_author_must_name_a_person(value, author):
    assert meta.meta_author(value, ["网易财经"]) == author


@pytest.mark.parametrize(
    ("line", "author"),
    [
        ("作者：曹磊 来源:东方网 选稿：曾炟", "曹磊"),
        ("作者：南帆 分享到", "南帆"),
    ],
)
def test_the_author_ends_where_the_next_label_starts(line, author):
    assert meta.author_of(line) == author


def test_a_line_of_broken_bytes_is_left_out_and_the_article_kept():
    # A sound UTF-8 page but for one cut 4-byte sequence (an emoji): the decoder's U+FFFD run
    # is no text of the article, and the article is not refused as garbled for it.
    debris = "\ufffd" * 30
    html = page(f"<h1>市总工会举办职工技能大赛决赛</h1><div>{paragraphs()}<p>{debris}</p></div>")
    result = extract_article(html, URL)
    assert result.drop_reason is None
    assert result.fields.body.split("\n") == PARAGRAPHS
    assert result.removed["decoding_debris"] == 1


def test_text_decoded_with_the_wrong_charset_is_still_refused_as_garbled():
    # GBK bytes read as UTF-8: a line of Chinese text becomes a line of replacement
    # characters. When such lines outnumber the readable ones, nothing is taken out: the page
    # is refused, and says why, rather than archived as the few lines that survived.
    garbled = ["\ufffd" * 40, "\ufffd" * 52, "\ufffd" * 35]
    html = page(
        "<h1>市总工会举办职工技能大赛决赛</h1>"
        f"<div>{paragraphs(PARAGRAPHS[:1] + garbled + PARAGRAPHS[1:2])}</div>"
    )
    assert extract_article(html, URL).drop_reason == "garbled_text"
