"""A small archive for the export tests: three finished runs, one still open, one reprint.

- run 1 (acftu): A (a report), B (published in April), U (undated, no captions, no time);
- run 2 (workercn): W, A's text reposted (a reprint cluster of A and W);
- run 3 (acftu): B retitled (version 2), fetched five days after T0;
- run 4 (workercn): open, nothing stored yet.
"""

from __future__ import annotations

import datetime as dt

from archive.records import RunCounts
from archive.store import Archive
from tests.fixtures_db import T0, make_fetch, make_fields

A_URL = "http://www.acftu.org/xwdt/202405/t20240501_1.html"
B_URL = "http://www.acftu.org/xwdt/202404/t20240410_2.html"
U_URL = "http://www.acftu.org/xwdt/undated.html"
W_URL = "https://www.workercn.cn/c/2024-05-03/1.shtml"
REPORT = (
    "中华全国总工会今天在北京召开全国劳动模范和先进工作者座谈会，来自各行各业的劳模代表"
    "围绕弘扬劳模精神、劳动精神、工匠精神作交流发言。\n会议指出，各级工会要深入开展劳动"
    "和技能竞赛，维护职工合法权益，竭诚服务职工群众，团结引领广大职工建功新时代。"
)
DAY = dt.timedelta(days=1)


def build(archive: Archive) -> dict[str, int]:
    """Fill ``archive``; the run ids by name (run1 .. run4)."""
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    archive.ensure_site("workercn", "中工网", "https://www.workercn.cn/")

    def record(run: int, site: str, url: str, at: dt.datetime, **fields: object) -> None:
        capture_id = archive.record_capture(run, site, make_fetch(url, at=at))
        archive.record_article(capture_id, make_fields(**fields))

    run1 = archive.start_run("acftu")
    record(run1, "acftu", A_URL, T0, body=REPORT, published_time="08:00")
    record(run1, "acftu", B_URL, T0, title="四月新闻", published=dt.date(2024, 4, 10))
    record(
        run1,
        "acftu",
        U_URL,
        T0,
        title="无日期",
        body="西宁市总工会开展送温暖活动。",
        published=None,
        published_time=None,
        captions=(),
    )
    archive.finish_run(run1, "finished", RunCounts(pages_fetched=3, articles_archived=3))
    run2 = archive.start_run("workercn")
    record(
        run2,
        "workercn",
        W_URL,
        T0 + DAY,
        title="全总召开劳模座谈会（转载）",
        body=REPORT,
        source="中华全国总工会",
        published_time="09:15:30",
    )
    archive.finish_run(run2, "finished", RunCounts(pages_fetched=1, articles_archived=1))
    run3 = archive.start_run("acftu")
    record(
        run3, "acftu", B_URL, T0 + 5 * DAY, title="四月新闻（更正）", published=dt.date(2024, 4, 10)
    )
    archive.finish_run(run3, "finished", RunCounts(pages_fetched=1, articles_archived=1))
    run4 = archive.start_run("workercn")
    return {"run1": run1, "run2": run2, "run3": run3, "run4": run4}
