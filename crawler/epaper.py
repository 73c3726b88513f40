"""E-paper editions by date: a seed's ``[epaper]`` table and the backfill of a date range.

An e-paper (数字报) publishes one edition a day, each a few 版面 (pages) that link their
articles, under URLs that carry the date. The seed names the first 版面 of the edition of any
date with a template, so `gonghui crawl bcrb --from 2021-04-01 --to 2021-04-30` can start from
every edition of the range instead of the front page:

    edition_url = "/html/{date:%Y-%m}/{date:%d}/node_1.htm"            # Founder (方正) layout
    edition_url = "/page/{paper}/{date:%Y-%m}/{date:%d}/01/"          # bcxww.com's /page/ papers
    paper = "bcrb"

``{date:FORMAT}`` is the edition's date written with strftime codes (``%Y %y %m %d``, ``%%``;
``{date}`` alone is ``%Y-%m-%d``); every other name is a constant the table itself defines
(``paper = "bcrb"`` above), so one template serves every paper of a site. ``page_url`` with
``{page}`` (``{page:02d}`` for 01, 02 ...) and ``pages`` name each 版面 for papers whose first
版面 does not link the others.

The same template tells the date of any URL of the site: the path segments from the first to
the last ``{date}`` field of ``edition_url`` (``/2021-04/30/`` above) are searched in a link.
A backfill follows only links of editions in its range (see :func:`follows`).

Everything here is pure: templates in, strings, dates and regular expressions out.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from archive.errors import ConfigError

# A backfill longer than this (days, both ends included) needs --force: a year of a daily
# paper is ~365 edition requests plus every 版面 and article, hours at a polite delay.
MAX_BACKFILL_DAYS = 366
# Editions are dated in China's time zone: "today" is today in Beijing.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")

_DATE_CODES = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}"}
_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
_ISO_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RESERVED = ("date", "page")
# Dates the templates are checked with (two-digit and one-digit month and day).
_SAMPLE_DAYS = (dt.date(2021, 4, 30), dt.date(2021, 12, 5))


# -- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    literal: str  # text before the field (or the trailing text when name is None)
    name: str | None  # field name: "date", "page" or a constant
    spec: str  # format spec after ":" ("%Y-%m" for a date)


def _tokens(template: str) -> list[_Token]:
    """The template cut into literal text and fields; ValueError says what is wrong."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
    tokens = []
    for literal, name, spec, conversion in parts:
        if name is not None:
            if not _NAME_RE.match(name):
                raise ValueError(
                    f"{{{name}}} is not a field: write {{date:%Y-%m}}, {{page}} or {{NAME}} "
                    "of a constant defined in [epaper]"
                )
            if conversion or "{" in (spec or ""):
                raise ValueError(f"{{{name}}}: no conversions or nested fields in a template")
        tokens.append(_Token(literal, name, spec or ""))
    return tokens


def _date_codes(spec: str) -> list[str]:
    """The strftime codes of a ``{date:...}`` spec; ValueError for one we cannot read back."""
    codes, i = [], 0
    spec = spec or "%Y-%m-%d"
    while i < len(spec):
        if spec[i] == "%":
            code = spec[i + 1 : i + 2]
            if code != "%" and code not in _DATE_CODES:
                raise ValueError(
                    f"{{date:{spec}}}: %{code} is not supported (use %Y, %y, %m, %d or %%)"
                )
            if code != "%":
                codes.append(code)
            i += 2
        else:
            i += 1
    return codes


def check_template(template: str, *, with_page: bool) -> str:
    """A URL template of the ``[epaper]`` table: its fields are readable, its ``{date}``
    fields name one day, ``{page}`` appears exactly when ``with_page``."""
    tokens = _tokens(template)
    names = [t.name for t in tokens if t.name]
    codes = [c for t in tokens if t.name == "date" for c in _date_codes(t.spec)]
    if not ({"Y", "y"} & set(codes) and "m" in codes and "d" in codes):
        raise ValueError(
            "must name the day of the edition: {date:...} fields with %Y (or %y), %m and %d, "
            "e.g. /html/{date:%Y-%m}/{date:%d}/node_1.htm"
        )
    if with_page and "page" not in names:
        raise ValueError("must contain {page} (the 版面 number, e.g. {page:02d})")
    if not with_page and "page" in names:
        raise ValueError("{page} belongs in page_url; edition_url is the first 版面")
    return template


@functools.lru_cache(maxsize=64)
def _date_regex(template: str, constants: tuple[tuple[str, Any], ...]) -> re.Pattern[str]:
    """The part of a URL that says its edition's date: the path segments from the first to
    the last date field, e.g. ``/(?P<Y>\\d{4})-(?P<m>\\d{2})/(?P<d>\\d{2})/`` for
    ``/html/{date:%Y-%m}/{date:%d}/node_1.htm``. Searched, so it holds for 版面 and article
    URLs alike (Founder's node_N and content_N share the dated folder)."""
    tokens, values = _tokens(template), dict(constants)
    dated = [i for i, t in enumerate(tokens) if t.name == "date"]
    first, last = dated[0], dated[-1]
    seen: set[str] = set()
    _, slash, tail = tokens[first].literal.rpartition("/")
    out = [re.escape(slash + tail)]
    for i in range(first, last + 1):
        t = tokens[i]
        if i > first:
            out.append(re.escape(t.literal))
        if t.name == "date":
            spec = t.spec or "%Y-%m-%d"
            j = 0
            while j < len(spec):
                if spec[j] == "%":
                    code = spec[j + 1]
                    if code == "%":
                        out.append("%")
                    else:
                        group = f"(?P<{code}>{_DATE_CODES[code]})"
                        out.append(f"(?P={code})" if code in seen else group)
                        seen.add(code)
                    j += 2
                else:
                    out.append(re.escape(spec[j]))
                    j += 1
        elif t.name == "page":
            out.append(r"\d+")
        elif t.name is not None:
            out.append(re.escape(format(values[t.name], t.spec)))
    after = tokens[last + 1].literal if last + 1 < len(tokens) else ""
    head, slash, _ = after.partition("/")
    out.append(re.escape(head + slash) if slash else "")
    return re.compile("".join(out))


# -- the [epaper] table ------------------------------------------------------------------------


def _field_error(field: str, message: str, value: Any) -> ValidationError:
    """A validation error located at ``field`` of the table (so the seed error names it)."""
    return ValidationError.from_exception_data(
        "EPaper",
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", message),  # type: ignore[arg-type]
                loc=(field,),
                input=value,
            )
        ],
    )


class EPaper(BaseModel):
    """A seed's ``[epaper]`` table: where the edition of a date is. Keys besides the fields
    below are constants for the templates (``paper = "bcrb"`` → ``{paper}``)."""

    # Extra keys are the constants; a key no template uses is refused (a typo, most likely).
    model_config = ConfigDict(extra="allow", frozen=True)

    edition_url: str  # the first 版面 of the edition of {date}
    page_url: str | None = None  # every 版面 {page} of the edition of {date}, when not linked
    pages: int | None = Field(default=None, ge=1, le=99)  # how many 版面 page_url may name

    @field_validator("edition_url")
    @classmethod
    def _edition_url(cls, value: str) -> str:
        return check_template(value, with_page=False)

    @field_validator("page_url")
    @classmethod
    def _page_url(cls, value: str | None) -> str | None:
        return None if value is None else check_template(value, with_page=True)

    @model_validator(mode="after")
    def _constants(self) -> EPaper:
        constants = self.model_extra or {}
        for name, value in constants.items():
            if not _NAME_RE.match(name) or name in _RESERVED:
                raise _field_error(name, "not a usable constant name ([a-z_][a-z0-9_]*)", value)
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise _field_error(name, "a template constant must be a string or a number", value)
        templates = {"edition_url": self.edition_url, "page_url": self.page_url}
        used: set[str] = set()
        for field, template in templates.items():
            for t in _tokens(template or ""):
                if t.name is None or t.name in _RESERVED:
                    continue
                if t.name not in constants:
                    raise _field_error(
                        field,
                        f'{{{t.name}}} is not defined: add {t.name} = "..." to [epaper]',
                        template,
                    )
                used.add(t.name)
        for name in constants.keys() - used:
            raise _field_error(
                name, "unknown field (not a field, nor a constant any template uses)", name
            )
        if (self.page_url is None) != (self.pages is None):
            field = "pages" if self.page_url else "page_url"
            raise _field_error(field, "page_url and pages go together", getattr(self, field))
        return self

    # -- derived values -----------------------------------------------------------------------

    @property
    def constants(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def edition(self, day: dt.date) -> str:
        """The first 版面 of the edition of ``day``, as the seed writes URLs (relative)."""
        return self.edition_url.format(date=day, **self.constants)

    def pages_of(self, day: dt.date) -> list[str]:
        """Every 版面 ``page_url`` names for the edition of ``day`` (none without page_url)."""
        if self.page_url is None or self.pages is None:
            return []
        return [
            self.page_url.format(date=day, page=n, **self.constants)
            for n in range(1, self.pages + 1)
        ]

    def date_of(self, url: str) -> dt.date | None:
        """The edition date a URL carries, by the dated segments of ``edition_url``."""
        constants = tuple(sorted(self.constants.items()))
        match = _date_regex(self.edition_url, constants).search(urlsplit(url).path)
        if match is None:
            return None
        found = match.groupdict()
        year = int(found["Y"]) if found.get("Y") else 2000 + int(found["y"])
        try:
            return dt.date(year, int(found["m"]), int(found["d"]))
        except ValueError:
            return None

    def check_urls(
        self, base_url: str, list_patterns: Sequence[str], allowed_hosts: Sequence[str]
    ) -> None:
        """The templates, filled in, are list (版面) pages on an allowed host of the seed (all
        of base_url's host when none are listed), and read back to their date; a
        ValidationError names the field otherwise."""
        hosts = list(allowed_hosts) or [urlsplit(base_url).netloc]
        for day in _SAMPLE_DAYS:
            urls = [("edition_url", self.edition(day))]
            urls += [("page_url", url) for url in self.pages_of(day)]
            for field, url in urls:
                absolute = urljoin(base_url, url)
                if urlsplit(absolute).netloc not in hosts:
                    raise _field_error(field, f"{url} is not on an allowed host {hosts}", url)
                if not any(re.search(p, absolute) for p in list_patterns):
                    raise _field_error(
                        field, f"{url} matches none of list_patterns (a 版面 is a list page)", url
                    )
                if self.date_of(absolute) != day:
                    raise _field_error(field, f"{url} does not read back as {day}", url)


# -- the backfill range ------------------------------------------------------------------------


@dataclass(frozen=True)
class Backfill:
    """The editions dated ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date

    def days(self) -> Iterator[dt.date]:
        day = self.start
        while day <= self.end:
            yield day
            day += dt.timedelta(days=1)

    def covers(self, day: dt.date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def parse_day(text: str, option: str) -> dt.date:
    """A date written YYYY-MM-DD; ConfigError (one line naming the option) otherwise."""
    try:
        if not _ISO_DAY_RE.match(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} '{text}' is not a date YYYY-MM-DD") from None


def backfill_range(
    start: str | None,
    end: str | None,
    *,
    today: dt.date,
    force: bool = False,
    max_days: int = MAX_BACKFILL_DAYS,
) -> Backfill | None:
    """The range `--from START --to END` asks for (None when neither is given). ``--to``
    defaults to ``today``; dates after today, a reversed range and, unless ``force``, a
    range of more than ``max_days`` days are refused in one line."""
    if start is None:
        if end is not None:
            raise ConfigError("--to needs --from (the first edition date of the range)")
        return None
    first = parse_day(start, "--from")
    last = parse_day(end, "--to") if end is not None else today
    if first > last:
        raise ConfigError(f"--from {first} is after --to {last}")
    if last > today:
        raise ConfigError(f"--to {last} is after today ({today}, China time): no edition yet")
    days = (last - first).days + 1
    if days > max_days and not force:
        raise ConfigError(
            f"{first}..{last} is {days} days, more than {max_days}: "
            "narrow it or add --force to backfill it anyway"
        )
    return Backfill(first, last)


def parse_backfill(text: str) -> Backfill:
    """``START..END`` as ``scrapy crawl gonghui -a backfill=2021-04-01..2021-04-30`` gives it."""
    start, sep, end = text.partition("..")
    if not sep:
        raise ConfigError(f"backfill '{text}' is not START..END (YYYY-MM-DD..YYYY-MM-DD)")
    first, last = parse_day(start, "backfill start"), parse_day(end, "backfill end")
    if first > last:
        raise ConfigError(f"backfill start {first} is after its end {last}")
    return Backfill(first, last)


def china_today() -> dt.date:
    return dt.datetime.now(CHINA_TZ).date()


def follows(epaper: EPaper, backfill: Backfill, url: str, *, article: bool) -> bool:
    """Whether a backfill follows a link found on one of its edition pages: a dated link only
    when its edition is in the range (前一期, 往期 and 下一期 links lead out of it); an undated
    article, because an in-range 版面 links it; never an undated list page (the front page,
    the 往期回顾 index), the way into every other edition."""
    day = epaper.date_of(url)
    return backfill.covers(day) if day is not None else article
