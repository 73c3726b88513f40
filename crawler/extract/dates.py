"""Publication dates as Chinese news pages print them.

Accepted forms, a real sample each:
    发布时间：2024-01-18 10:32        labelled, ISO-like, with time
    日期:2023/11/02                   slashes
    2021年4月30日                      年月日 (e-paper date line)
    2022-07-25 09:12:00               with seconds
    /html/2021-04/30/content_3.htm    Founder e-paper URL
    /art/2024/1/18/art_1_1.html, t20240118_123.html   CMS URLs
A date is only kept when it is plausible: not in the future, not before 1990.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DATE = r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
_TIME = r"(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
DATE_RE = re.compile(_DATE + _TIME)
LABEL_RE = re.compile(
    r"(?:发布时间|發布時間|发布日期|發佈時間|发表时间|發表時間|更新时间|时间|時間|日期|"
    r"发表于|發表於|发布于|發佈於|posted)\s*[:：]?\s*" + _DATE + _TIME
)
# "于 2024-05-06 15:47:53 发布", "本贴由大卫于2005年8月12日16:12:21在〖…〗发表": a statement of
# publication. "最新推荐文章于 … 发布" dates another article and is skipped.
STATEMENT_RE = re.compile(
    r"(推荐\S{0,6}|推薦\S{0,6}|相关\S{0,6}|更新)?于\s*"
    + _DATE
    + _TIME
    + r"\s*(?:在.{0,40}?)?(?:发布|发表|發布|發表|发帖)"
)
_URL_PATTERNS = (
    re.compile(r"/((?:19|20)\d{2})-?(\d{2})/(\d{2})/"),  # /2021-04/30/ and /202104/30/
    re.compile(r"/t((?:19|20)\d{2})(\d{2})(\d{2})_"),  # /t20240118_123.html
    re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),  # /2024/1/18/
    re.compile(r"/((?:19|20)\d{2})(\d{2})(\d{2})/"),  # /20240118/
)
EARLIEST = dt.date(1990, 1, 1)


@dataclass(frozen=True, slots=True)
class FoundDate:
    date: dt.date
    time: str | None  # "HH:MM" or "HH:MM:SS"


def _plausible(y: str, m: str, d: str, today: dt.date) -> dt.date | None:
    try:
        value = dt.date(int(y), int(m), int(d))
    except ValueError:
        return None
    # A day of slack: the site's clock is in China, ours may be behind it.
    return value if EARLIEST <= value <= today + dt.timedelta(days=1) else None


def _from_match(match: re.Match[str], today: dt.date) -> FoundDate | None:
    return _from_groups(match.groups(), today)


def _from_groups(groups: tuple[str | None, ...], today: dt.date) -> FoundDate | None:
    y, m, d, hh, mm, ss = groups
    assert y is not None and m is not None and d is not None
    date = _plausible(y, m, d, today)
    if date is None:
        return None
    time = None
    if hh is not None and int(hh) < 24 and int(mm) < 60:
        time = f"{int(hh):02d}:{mm}" + (f":{ss}" if ss else "")
    return FoundDate(date, time)


def labelled_date(text: str, today: dt.date | None = None) -> FoundDate | None:
    """The first date after a 发布时间/日期/时间 label."""
    today = today or dt.date.today()
    found = []
    for match in LABEL_RE.finditer(text):
        if date := _from_match(match, today):
            found.append((match.start(), date))
            break
    for match in STATEMENT_RE.finditer(text):
        if match.group(1) is None and (date := _from_groups(match.groups()[1:], today)):
            found.append((match.start(), date))
            break
    return min(found, key=lambda pair: pair[0])[1] if found else None


def script_date(scripts: list[str], today: dt.date | None = None) -> FoundDate | None:
    """A date the page only gives to its scripts: JSON-LD ``datePublished`` (schema.org) or
    WeChat's publish timestamp ``var ct = "1659274471"`` (seconds, Beijing time)."""
    today = today or dt.date.today()
    for text in scripts:
        if match := _JSONLD_RE.search(text):
            if found := any_date(match.group(1), today):
                return found
        if match := _WECHAT_CT_RE.search(text):
            stamp = dt.datetime.fromtimestamp(int(match.group(1)), _BEIJING)
            if EARLIEST <= stamp.date() <= today + dt.timedelta(days=1):
                return FoundDate(stamp.date(), stamp.strftime("%H:%M:%S"))
    return None


_JSONLD_RE = re.compile(r'"datePublished"\s*:\s*"([^"]{8,40})"')
_WECHAT_CT_RE = re.compile(r'\bvar\s+ct\s*=\s*"?(\d{10})"?')
_BEIJING = dt.timezone(dt.timedelta(hours=8))


def any_date(text: str, today: dt.date | None = None) -> FoundDate | None:
    """The first plausible date anywhere in a short text (a meta line, a date line)."""
    today = today or dt.date.today()
    for match in DATE_RE.finditer(text):
        found = _from_match(match, today)
        if found:
            return found
    return None


def url_date(url: str, today: dt.date | None = None) -> dt.date | None:
    today = today or dt.date.today()
    for pattern in _URL_PATTERNS:
        match = pattern.search(url)
        if match:
            date = _plausible(*match.groups(), today)
            if date:
                return date
    return None
