"""E-paper editions by date: the [epaper] seed table, its templates, the backfill range, and a
real `gonghui crawl bcrb --from --to` against the replica checked against its ground truth."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.errors import ConfigError
from archive.models import Run
from crawler.epaper import Backfill, EPaper, backfill_range, follows, parse_backfill
from crawler.replica.server import ReplicaServer, RequestLogEntry
from crawler.replica.truth import edition_truth, editions, load_truth
from crawler.seeds import load_seed_file
from tests.test_crawl import current_versions

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FOUNDER = EPaper(edition_url="/html/{date:%Y-%m}/{date:%d}/node_1.htm")
PAGE_FAMILY = EPaper.model_validate(
    {
        "paper": "bcrb",
        "edition_url": "/page/{paper}/{date:%Y-%m}/{date:%d}/01/",
        "page_url": "/page/{paper}/{date:%Y-%m}/{date:%d}/{page:02d}/",
        "pages": 3,
    }
)
D = dt.date


# -- templates ---------------------------------------------------------------------------------


def test_founder_edition_url_of_a_date_and_the_date_of_its_pages_and_articles():
    assert FOUNDER.edition(D(2021, 4, 30)) == "/html/2021-04/30/node_1.htm"
    assert FOUNDER.edition(D(2021, 5, 6)) == "/html/2021-05/06/node_1.htm"
    assert FOUNDER.date_of("http://h/html/2021-04/29/content_47291.htm") == D(2021, 4, 29)
    assert FOUNDER.date_of("http://h/html/2021-04/26/node_3.htm") == D(2021, 4, 26)
    assert FOUNDER.date_of("http://h/") is None
    assert FOUNDER.date_of("http://h/index.htm") is None
    assert FOUNDER.date_of("http://h/html/2021-02/30/node_1.htm") is None  # no such day
    assert FOUNDER.pages_of(D(2021, 4, 30)) == []


def test_bcxww_page_family_with_a_paper_constant_and_a_url_per_page():
    day = D(2021, 4, 30)
    assert PAGE_FAMILY.edition(day) == "/page/bcrb/2021-04/30/01/"
    assert PAGE_FAMILY.pages_of(day) == [
        "/page/bcrb/2021-04/30/01/",
        "/page/bcrb/2021-04/30/02/",
        "/page/bcrb/2021-04/30/03/",
    ]
    assert PAGE_FAMILY.date_of("http://www.bcxww.com/page/bcrb/2021-04/30/02/1234.html") == day
    assert PAGE_FAMILY.constants == {"paper": "bcrb"}


def test_the_date_is_read_from_the_dated_segments_so_articles_elsewhere_are_dated_too():
    # A newer Founder layout: 版面 under /layout/, articles under /content/, same dated folders.
    paper = EPaper(edition_url="/pc/layout/{date:%Y%m}/{date:%d}/node_01.html")
    assert paper.date_of("/pc/content/202212/24/content_1.html") == D(2022, 12, 24)
    two_digit = EPaper(edition_url="/e/{date:%y%m%d}/1.htm")
    assert two_digit.date_of("/e/210430/7.htm") == D(2021, 4, 30)
    plain = EPaper(edition_url="/{date}/index.html")
    assert plain.edition(D(2021, 4, 1)) == "/2021-04-01/index.html"
    assert plain.date_of("/2021-04-01/a.html") == D(2021, 4, 1)


@pytest.mark.parametrize(
    ("table", "field", "says"),
    [
        ({"edition_url": "/html/{date:%Y-%m}/node_1.htm"}, "edition_url", "%d"),
        ({"edition_url": "/html/{date:%Y-%b-%d}/node_1.htm"}, "edition_url", "%b"),
        ({"edition_url": "/html/{date:%Y-%m}/{date:%d/node_1.htm"}, "edition_url", "template"),
        ({"edition_url": "/x/{date}/{page}.htm"}, "edition_url", "page_url"),
        ({"edition_url": "/x/{date}/{0}.htm"}, "edition_url", "not a field"),
        ({"edition_url": "/x/{date!r}/"}, "edition_url", "conversion"),
        ({"edition_url": "/page/{papr}/{date}/01/"}, "edition_url", "papr"),
        ({"edition_url": "/x/{date}/", "paer": "bcrb"}, "paer", "unknown field"),
        ({"edition_url": "/x/{date}/{p}/", "p": ["a"]}, "p", "string or a number"),
        ({"edition_url": "/x/{date}/", "page_url": "/x/{date}/{page}/"}, "pages", "together"),
        ({"edition_url": "/x/{date}/", "page_url": "/x/{date}/", "pages": 2}, "page_url", "{page}"),
        ({"edition_url": "/x/{date}/", "page_url": "/x/{page}/", "pages": 2}, "page_url", "%d"),
        ({"edition_url": "/x/{date}/", "pages": 2}, "page_url", "together"),
    ],
)
def test_a_malformed_epaper_table_is_refused_naming_the_field(table, field, says):
    with pytest.raises(ValueError) as err:
        EPaper.model_validate(table)
    first = err.value.errors()[0]  # type: ignore[attr-defined]
    assert first["loc"] == (field,) and says in first["msg"], first


# -- the backfill range ------------------------------------------------------------------------

TODAY = D(2025, 6, 1)


def test_backfill_range_from_to_and_to_defaulting_to_today():
    assert backfill_range(None, None, today=TODAY) is None
    got = backfill_range("2021-04-01", "2021-04-30", today=TODAY)
    assert got == Backfill(D(2021, 4, 1), D(2021, 4, 30))
    assert len(list(got.days())) == 30 and str(got) == "2021-04-01..2021-04-30"
    assert backfill_range("2025-05-31", None, today=TODAY) == Backfill(D(2025, 5, 31), TODAY)
    assert backfill_range("2021-04-01", "2021-04-01", today=TODAY) is not None
    long = backfill_range("2019-01-01", "2021-04-30", today=TODAY, force=True)
    assert long is not None and long.start == D(2019, 1, 1)


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2021-4-1", "2021-04-30", "--from '2021-4-1' is not a date YYYY-MM-DD"),
        ("2021-04-01", "2021-02-30", "--to '2021-02-30' is not a date YYYY-MM-DD"),
        ("yesterday", None, "--from 'yesterday' is not a date"),
        ("2021-05-01", "2021-04-30", "--from 2021-05-01 is after --to 2021-04-30"),
        ("2025-05-01", "2025-06-02", "--to 2025-06-02 is after today (2025-06-01"),
        ("2020-01-01", "2021-04-30", "is 486 days, more than 366"),
        (None, "2021-04-30", "--to needs --from"),
    ],
)
def test_a_bad_backfill_range_is_one_line(start, end, says):
    with pytest.raises(ConfigError) as err:
        backfill_range(start, end, today=TODAY)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_year_is_allowed_without_force_and_scrapy_arguments_parse():
    assert backfill_range("2020-01-01", "2020-12-31", today=TODAY) is not None  # 366 days
    assert parse_backfill("2021-04-01..2021-04-30") == Backfill(D(2021, 4, 1), D(2021, 4, 30))
    with pytest.raises(ConfigError):
        parse_backfill("2021-04-01")


def test_a_backfill_follows_links_of_its_editions_only():
    april = Backfill(D(2021, 4, 23), D(2021, 4, 29))
    inside, outside = "http://h/html/2021-04/26/node_2.htm", "http://h/html/2021-04/22/node_1.htm"
    assert follows(FOUNDER, april, inside, article=False)
    assert follows(FOUNDER, april, "http://h/html/2021-04/29/content_1.htm", article=True)
    assert not follows(FOUNDER, april, outside, article=False)  # 前一期
    assert not follows(FOUNDER, april, "http://h/html/2021-04/30/content_1.htm", article=True)
    assert not follows(FOUNDER, april, "http://h/index.htm", article=False)  # the 往期 index
    assert follows(FOUNDER, april, "http://h/content/1.htm", article=True)  # undated article


# -- seed files --------------------------------------------------------------------------------


def test_the_bcrb_seeds_describe_their_epaper_and_others_do_not():
    replica = load_seed_file(SEEDS / "bcrb.toml")
    live = load_seed_file(SEEDS / "live" / "bcrb.toml")
    for seed in (replica, live):
        assert seed.epaper is not None
        assert seed.epaper.edition(D(2021, 4, 30)) == "/html/2021-04/30/node_1.htm"
        assert seed.is_list(seed.absolute(seed.epaper.edition(D(2021, 4, 30))))
    assert load_seed_file(SEEDS / "qhzgh.toml").epaper is None


def test_the_live_seeds_commented_page_family_loads_when_switched_on(tmp_path):
    text = (SEEDS / "live" / "bcrb.toml").read_text(encoding="utf-8")
    head, _, epaper = text.partition("[epaper]")
    lines = [ln for ln in epaper.splitlines() if not ln.startswith("edition_url = ")]
    lines = [ln[2:] if ln.startswith("# ") and " = " in ln else ln for ln in lines]
    path = tmp_path / "bcrb.toml"
    path.write_text(head + "[epaper]" + "\n".join(lines) + "\n", encoding="utf-8")
    seed = load_seed_file(path)
    assert seed.epaper is not None and seed.epaper.constants == {"paper": "bcrb"}
    assert seed.epaper.edition(D(2021, 4, 30)) == "/page/bcrb/2021-04/30/01/"
    assert len(seed.epaper.pages_of(D(2021, 4, 30))) == seed.epaper.pages == 8


@pytest.mark.parametrize(
    ("epaper", "field", "says"),
    [
        ('edition_url = "/html/{date:%Y-%m}/node_1.htm"', "epaper.edition_url", "%d"),
        (
            'edition_url = "/html/{date:%Y-%m}/{date:%d}/page_1.htm"',
            "epaper.edition_url",
            "list_patterns",
        ),
        (
            'edition_url = "http://elsewhere.cn/html/{date:%Y-%m}/{date:%d}/node_1.htm"',
            "epaper.edition_url",
            "allowed host",
        ),
        (
            'edition_url = "/html/{date:%Y-%m}/{date:%d}/node_1.htm"\npaper = "bcrb"',
            "epaper.paper",
            "unknown field",
        ),
        (
            'edition_url = "/html/{date:%Y-%m}/{date:%d}/node_1.htm"\npages = 0',
            "epaper.pages",
            "greater than or equal to 1",
        ),
        ("", "epaper.edition_url", "required field is missing"),
    ],
)
def test_a_malformed_epaper_seed_names_the_file_and_the_field(tmp_path, epaper, field, says):
    text = (SEEDS / "bcrb.toml").read_text(encoding="utf-8").partition("[epaper]")[0]
    path = tmp_path / "bcrb.toml"
    path.write_text(text + "[epaper]\n" + epaper + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_seed_file(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message and says in message, message
    assert "\n" not in message


def test_the_spider_takes_a_backfill_argument_only_for_an_epaper_seed():
    from crawler.spiders.site import SiteSpider

    spider = SiteSpider(site=load_seed_file(SEEDS / "bcrb.toml"), backfill="2021-04-26..2021-04-29")
    assert spider.backfill == Backfill(D(2021, 4, 26), D(2021, 4, 29))
    assert SiteSpider(site=load_seed_file(SEEDS / "bcrb.toml")).backfill is None
    with pytest.raises(ValueError, match="no \\[epaper\\] table"):
        SiteSpider(site=load_seed_file(SEEDS / "qhzgh.toml"), backfill="2021-04-26..2021-04-29")


# -- the replica's editions --------------------------------------------------------------------


def test_the_replica_has_editions_on_days_that_are_not_all_consecutive():
    days = sorted(editions("bcrb"))
    assert len(days) >= 3 and all(len(editions("bcrb")[d]) >= 2 for d in days)
    gaps = {(D.fromisoformat(b) - D.fromisoformat(a)).days for a, b in pairwise(days)}
    assert max(gaps) > 1
    assert {t.path for t in edition_truth("bcrb", days[0], days[-1])} == {
        t.path for t in load_truth("bcrb")
    }
    assert edition_truth("bcrb", "2021-04-27", "2021-04-28") == []


# -- a real backfill ---------------------------------------------------------------------------

# 2021-04-26 and 2021-04-29 are inside, 2021-04-22 and 2021-04-30 outside; 23-25, 27, 28 have no
# edition.
FROM, TO = "2021-04-23", "2021-04-29"


@dataclass
class Backfilled:
    result: subprocess.CompletedProcess[str]
    database_url: str
    log: list[RequestLogEntry]


def gonghui(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    env["GONGHUI_DATABASE_URL"] = f"sqlite:///{tmp / 'archive.sqlite3'}"
    env["GONGHUI_WARC_DIR"] = str(tmp / "warc")
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", *args],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def backfill(tmp: Path, start: str, end: str) -> Backfilled:
    with ReplicaServer(sites=["bcrb"]) as replica:
        origin = f"--origin=bcrb={replica.origins['bcrb']}"
        result = gonghui("crawl", "bcrb", origin, "--from", start, "--to", end, tmp=tmp)
        log = list(replica.request_log)
    assert result.returncode == 0, result.stderr[-3000:]
    return Backfilled(result, f"sqlite:///{tmp / 'archive.sqlite3'}", log)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    yield backfill(tmp_path_factory.mktemp("week"), FROM, TO)


@pytest.mark.slow
def test_a_backfill_archives_every_article_of_every_page_of_every_edition_in_range(week):
    versions = current_versions(week.database_url)
    truth = edition_truth("bcrb", FROM, TO)
    assert {t.edition for t in truth} == {"2021-04-26", "2021-04-29"}
    assert {(t.edition, t.page) for t in truth} == {
        (day, no) for day, pages in editions("bcrb").items() if FROM <= day <= TO for no in pages
    }
    assert set(versions) == {t.path for t in truth}  # all of them, and none of other editions
    for t in truth:
        v = versions[t.path]
        assert (v.title, str(v.published), v.source, v.author) == (
            t.title,
            t.published,
            t.source,
            t.author,
        ), t.path
        assert v.body.split("\n") == list(t.body), t.path


@pytest.mark.slow
def test_a_backfill_requests_nothing_of_other_editions_nor_the_front_page(week):
    seed = load_seed_file(SEEDS / "bcrb.toml")
    assert seed.epaper is not None
    paths = [e.path for e in week.log if e.path != "/robots.txt"]
    assert paths and "/" not in paths and "/index.htm" not in paths
    dates = {seed.epaper.date_of(p) for p in paths}
    assert None not in dates and all(FROM <= d.isoformat() <= TO for d in dates if d), dates
    # Every date of the range was asked for its edition, every 版面 of each edition fetched.
    asked = {p for p in paths if p.endswith("/node_1.htm")}
    days = Backfill(D.fromisoformat(FROM), D.fromisoformat(TO)).days()
    assert {seed.epaper.edition(d) for d in days} <= asked
    for day, pages in editions("bcrb").items():
        for no in pages:
            node = f"/html/{day[:7]}/{day[8:]}/node_{no}.htm"
            assert (node in paths) == (FROM <= day <= TO), node


@pytest.mark.slow
def test_dates_without_an_edition_are_counted_not_errors(week):
    assert "2 found, 5 dates without one (404)" in week.result.stdout
    engine = make_engine(week.database_url)
    with Session(engine) as session:
        (run,) = session.scalars(select(Run)).all()
        assert run.status == "finished"
        assert run.drops.get("http_404") == 5 + 1  # five dates, and 04-29's one dead link
    engine.dispose()


@pytest.mark.slow
def test_a_backfill_of_april_archives_every_april_edition(tmp_path):
    april = backfill(tmp_path, "2021-04-01", "2021-04-30")
    truth = edition_truth("bcrb", "2021-04-01", "2021-04-30")
    assert len({t.edition for t in truth}) == 4
    assert set(current_versions(april.database_url)) == {t.path for t in truth}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("bcrb", "--from", "2021-04-31"), "--from '2021-04-31' is not a date YYYY-MM-DD"),
        (("bcrb", "--from", "2021-04-30", "--to", "2021-04-01"), "is after --to 2021-04-01"),
        (("bcrb", "--to", "2021-04-01"), "--to needs --from"),
        (("bcrb", "--from", "2019-01-01", "--to", "2021-04-30"), "add --force"),
        (("qhzgh", "--from", "2021-04-01", "--to", "2021-04-30"), "qhzgh has no [epaper]"),
        (("bcrb", "--force"), "--force goes with --from"),
    ],
)
def test_bad_backfill_options_are_one_error_line_before_anything_is_opened(tmp_path, args, says):
    result = gonghui("crawl", *args, tmp=tmp_path)
    assert result.returncode != 0
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert not (tmp_path / "archive.sqlite3").exists()
