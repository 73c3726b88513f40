"""Seed files: one TOML file per site in seeds/, validated on load.

A seed says where a site starts, which links are list pages and which are articles, which hosts
may be fetched, how politely, and any site-specific extraction hints. The field reference is
seeds/README.md; a test checks that every field below is documented there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urljoin, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from archive.config import read_toml
from archive.errors import ConfigError
from crawler.epaper import EPaper

SITE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+\*?$")  # a query parameter name, * a prefix
Pattern = Annotated[str, Field(min_length=1)]


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class Politeness(BaseModel):
    """How hard the crawler may press on the site. Defaults are for a small government server."""

    model_config = ConfigDict(extra="forbid")

    obey_robots: bool = True
    download_delay: float = Field(default=2.0, ge=0)
    concurrent_requests: int = Field(default=1, ge=1, le=8)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(default=1.0, gt=0)
    max_pages: int = Field(default=5000, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    max_crawl_delay: float = Field(default=60.0, gt=0)  # a larger robots.txt Crawl-delay is capped
    max_retry_after: float = Field(default=300.0, ge=0)  # a longer Retry-After gives the request up
    max_errors: int = Field(default=20, ge=1)  # consecutive failed requests that stop the crawl


class Revisit(BaseModel):
    """How a nightly (incremental) crawl looks at what the archive already holds."""

    model_config = ConfigDict(extra="forbid")

    # Walking a list's pagination stops at the first page whose articles are all archived.
    stop_when_seen: bool = True
    # A deep crawl (every list page, every known article) is due after this many days.
    deep_every_days: int = Field(default=30, ge=1)
    # Articles published in the last recent_days are re-checked on every run (edits and
    # removals happen mostly soon after publication) ...
    recent_days: int = Field(default=7, ge=0)
    # ... the others in turn, the least recently checked first, so each is re-checked about
    # every recheck_days runs (a 1/recheck_days share per run) ...
    recheck_days: int = Field(default=60, ge=1)
    # ... and a site with at most this many archived articles has all of them re-checked on
    # every run (a few dozen requests, most of them 304s).
    recheck_all_up_to: int = Field(default=100, ge=0)
    # The site's sitemaps (crawler/sitemaps.py), or its robots.txt whose Sitemap: lines name
    # them: a changed <lastmod> or a page gone from the sitemap is re-checked on any run, so
    # old articles' edits and removals need not wait for their turn.
    sitemaps: list[Pattern] = Field(default_factory=list)


class ExtractHints(BaseModel):
    """Site-specific extraction hints; the generic extractor needs none of them."""

    model_config = ConfigDict(extra="forbid")

    source_default: str | None = None  # 来源 when the page prints none (an e-paper's own paper)
    drop_xpaths: list[str] = Field(default_factory=list)  # noise blocks removed before extraction
    body_xpath: str | None = None  # the article container, where the generic finder fails


class Seed(BaseModel):
    """One site to crawl."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    base_url: str
    replica: bool = False  # served by `gonghui replica` / `gonghui demo` on 127.0.0.1
    start_urls: list[str] = Field(min_length=1)
    list_patterns: list[Pattern] = Field(min_length=1)
    article_patterns: list[Pattern] = Field(min_length=1)
    allowed_hosts: list[str] = Field(default_factory=list)
    # Session parameters beyond archive.urls.SESSION_PARAMS, stripped from every link.
    session_params: list[str] = Field(default_factory=list)
    politeness: Politeness = Field(default_factory=Politeness)
    revisit: Revisit = Field(default_factory=Revisit)
    extract: ExtractHints = Field(default_factory=ExtractHints)
    epaper: EPaper | None = None  # an e-paper: editions by date (crawler/epaper.py)
    # Drift thresholds for this site (archive.drift.DriftSettings); empty: the defaults.
    monitor: dict[str, float] = Field(default_factory=dict)

    @field_validator("monitor")
    @classmethod
    def _monitor(cls, value: dict[str, float]) -> dict[str, float]:
        from archive.drift import DriftSettings

        DriftSettings.of(value)  # unknown keys: ValueError, said as a seed error
        return value

    @field_validator("id")
    @classmethod
    def _site_id(cls, value: str) -> str:
        if not SITE_ID_RE.match(value):
            raise ValueError("must match [a-z][a-z0-9_]* (lowercase letters, digits, underscore)")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as http://www.example.cn/")
        return value if value.endswith("/") else value + "/"

    @field_validator("list_patterns", "article_patterns")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        return [_check_regex(v) for v in values]

    @field_validator("session_params")
    @classmethod
    def _session_params(cls, values: list[str]) -> list[str]:
        for value in values:
            if not PARAM_NAME_RE.match(value):
                raise ValueError(
                    f"{value!r} is not a parameter name (letters, digits, _ . -; a trailing *"
                    " for a prefix)"
                )
        return list(dict.fromkeys(v.lower() for v in values))

    @field_validator("epaper")
    @classmethod
    def _epaper(cls, value: EPaper | None, info: ValidationInfo) -> EPaper | None:
        """Its templates filled in are 版面 (list) pages of this site (errors name the field)."""
        data = info.data
        if value is not None and "base_url" in data and "list_patterns" in data:
            value.check_urls(data["base_url"], data["list_patterns"], data.get("allowed_hosts", []))
        return value

    @model_validator(mode="after")
    def _hosts(self) -> Seed:
        if not self.allowed_hosts:
            self.allowed_hosts = [urlsplit(self.base_url).netloc]
        for what, urls in (("start URL", self.start_urls), ("sitemap", self.revisit.sitemaps)):
            for url in urls:
                if urlsplit(self.absolute(url)).netloc not in self.allowed_hosts:
                    raise ValueError(f"{what} {url} is not on an allowed host {self.allowed_hosts}")
        return self

    # -- derived values -----------------------------------------------------------------------

    def absolute(self, url: str) -> str:
        return urljoin(self.base_url, url)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def is_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc in self.allowed_hosts

    def is_article(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.article_patterns)

    def is_list(self, url: str) -> bool:
        return any(re.search(p, url) for p in self.list_patterns)

    def served_at(self, origin: str) -> Seed:
        """This seed with its own origin replaced by ``origin`` (a replica on another port)."""
        origin = origin.rstrip("/")
        own = self.origin
        hosts = [
            urlsplit(origin).netloc if h == urlsplit(own).netloc else h for h in self.allowed_hosts
        ]
        return self.model_copy(
            update={
                "base_url": origin + self.base_url[len(own) :],
                "start_urls": [self.absolute(u).replace(own, origin, 1) for u in self.start_urls],
                "allowed_hosts": hosts,
            }
        )


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(file)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field (see seeds/README.md for the fields)"
    elif first["type"] == "missing":
        message = "required field is missing"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field '{where}': {message}{more}"


def load_seed_file(path: Path) -> Seed:
    """Read and validate one seed file; errors name the file and the field."""
    data = read_toml(path, "seed file")
    try:
        seed = Seed.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"seed file {path}: {_describe(exc)}") from None
    if seed.id != path.stem:
        raise ConfigError(
            f"seed file {path}: field 'id': '{seed.id}' must equal the file name stem"
        )
    return seed


def load_seeds(seeds_dir: Path) -> dict[str, Seed]:
    """Every seed in a folder (not its subfolders), by site id."""
    if not seeds_dir.is_dir():
        raise ConfigError(f"seeds folder {seeds_dir} does not exist")
    return {p.stem: load_seed_file(p) for p in sorted(seeds_dir.glob("*.toml"))}


def select_seeds(seeds_dir: Path, site_ids: list[str], *, all_sites: bool = False) -> list[Seed]:
    """The seeds named (or all of them); an unknown id is an error naming the known ones."""
    seeds = load_seeds(seeds_dir)
    if all_sites:
        if not seeds:
            raise ConfigError(f"no seed files in {seeds_dir}")
        return list(seeds.values())
    if not site_ids:
        raise ConfigError("name at least one site id, or use --all")
    unknown = [s for s in site_ids if s not in seeds]
    if unknown:
        known = ", ".join(seeds) or "none"
        raise ConfigError(f"unknown site '{unknown[0]}' (known sites in {seeds_dir}: {known})")
    return [seeds[s] for s in dict.fromkeys(site_ids)]
