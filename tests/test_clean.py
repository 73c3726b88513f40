"""crawler.extract.clean, meta and dates on the lines the seed documents show."""

import datetime as dt

import pytest

from crawler.extract import dates, meta
from crawler.extract.clean import noise_reason

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("©CopyRight 青海省总工会 All Rights Reserved. 青ICP备17001415号", "licence_footer"),
        ("白城日报社版权所有。未经许可,不得转载或镜像。", "licence_footer"),
        ("地址:吉林省白城市中兴西大路43号 邮编:137000", "address_footer"),
        ("3上一篇  下一篇4 2021年4月30日 放大 缩小 默认", "prev_next"),
        ("版面导航", "epaper_nav"),
        ("第01版:头版新闻", "epaper_nav"),
        ("来源:劳动者报 浏览: 90", "view_counter"),
        ("0 微博 微信公众号 今日头条 抖音 Top", "share_bar"),
        ("2-3 通版.jpg", "image_file_name"),
        ("2-3 通版.jpg2-3 通版.jpg", "image_file_name"),
        ("7月22日下午,國務(wù)院物流保通保暢工作領(lǐng)導(dǎo)小組... [詳情]", "teaser"),
        ("关闭", "font_tools"),
        ("免责声明：本文来自腾讯新闻客户端自媒体，不代表腾讯网的观点和立场。", "disclaimer"),
        ("图片来自网络，如有侵权，请联系删除。", "disclaimer"),
        ("点击菜单栏【便民服务】解锁更多服务！", "wechat_prompt"),
        ("看都看完了，点【在看】试试", "wechat_prompt"),
        ("首页 > 新闻中心 > 工会动态", "breadcrumb"),
        ("字体： 小 中 大", "font_tools"),
        ("小字号", "font_tools"),
        ("链接已复制", "font_tools"),
        ("用微信扫码二维码", "wechat_prompt"),
        ("- THE END -", "end_mark"),
        ("首页 - 新闻动态", "breadcrumb"),
    ],
)
def test_noise_reason_names_the_boilerplate_of_the_seed_pages(line, rule):
    assert noise_reason(line) == rule


@pytest.mark.parametrize(
    "line",
    [
        "开展宣讲、文艺巡演等共150场(次)。",
        "职工可扫描二维码关注“西宁工会”微信公众号报名参加。",  # a union's sign-up channel
        "（图片来源：新华社）",  # a picture credit naming its source
        "服务基层的基础更加扎实、能力水平全面提升。(西宁市总工会)",
        "我们一起见证西安工会过去五年高质量发展(2018——2023)",
        "搭建平台 创新载体",
        "重点加强乡镇(街道)、各类企业工会建设",
    ],
)
def test_noise_reason_keeps_article_lines_with_legitimate_parentheses(line):
    assert noise_reason(line) is None


def test_meta_reads_source_author_byline_and_attribution():
    assert meta.source_of("来源:劳动者报 浏览: 90") == "劳动者报"
    assert (
        meta.source_of("发布时间：2024-01-18 10:32  来源：西宁市总工会  浏览次数：12")
        == "西宁市总工会"
    )
    assert meta.source_of("來源：中國藏族網通") == "中國藏族網通"
    assert meta.author_of("作者：张三  责任编辑：李四") == "张三"
    assert meta.author_of("责任编辑：李四") is None
    assert meta.byline_of("●于国林 刘建军") == "于国林 刘建军"
    assert meta.attribution_of("能力水平全面提升。(西宁市总工会)") == "西宁市总工会"
    assert meta.attribution_of("共150场(次)。") is None


def test_dates_read_labels_chinese_forms_and_urls():
    found = dates.labelled_date("发布时间：2024-01-18 10:32  来源：西宁市总工会", TODAY)
    assert found == dates.FoundDate(dt.date(2024, 1, 18), "10:32")
    assert dates.any_date("3上一篇 下一篇4 2021年4月30日 放大", TODAY).date == dt.date(2021, 4, 30)
    assert dates.url_date("http://www.bcxww.com/html/2021-04/30/content_3.htm", TODAY) == dt.date(
        2021, 4, 30
    )
    assert dates.url_date("/art/t20240118_123.html", TODAY) == dt.date(2024, 1, 18)


def test_dates_refuse_the_future_and_impossible_days():
    assert dates.any_date("2031年1月1日", TODAY) is None
    assert dates.any_date("2021-02-30", TODAY) is None


@pytest.mark.parametrize(
    ("line", "source"),
    [
        ("来源：[ 人民网 ]", "人民网"),
        ("来源: 第一财经日报 网友评论 0 条", "第一财经日报"),
        ("来源：光明网-《光明日报》2024-05-20 03:15", "光明网-《光明日报》"),
        ("来源：中国新闻网 王帆", "中国新闻网"),
        ("来源：来源：上海证券报", "上海证券报"),
        ("原创：39健康网", "39健康网"),
        ("2005-04-28 11:13更新 来源：转载文章", None),
        ("来源: 21世纪经济报道(广州)  作者：张三", "21世纪经济报道"),  # the paper's city
        ("来源：上海证券报·中国证券网(上海)", "上海证券报·中国证券网"),
        ("董事会 2005年8月25日（来源：上海证券报）", "上海证券报"),
        ("来源：中华全国总工会(ACFTU)", "中华全国总工会(ACFTU)"),
    ],
)
def test_source_of_keeps_the_name_and_drops_placeholders_and_trailing_text(line, source):
    assert meta.source_of(line) == source


def test_dateline_names_the_agency_of_a_wire_report():
    assert meta.dateline_of("新华社北京5月19日电 国家统计局今天发布") == "新华社"
    assert meta.dateline_of("据新华社拉萨电 西藏自治区去年改造户用卫生厕所") == "新华社"
    assert meta.dateline_of("2023年,西宁市总工会不断夯实主责主业") is None
