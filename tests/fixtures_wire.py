"""Two nights of `gonghui crawl` against a site whose answers are fixed bytes, shared by the
WARC, WACZ and pywb tests (one crawl pair per database backend for the whole session).

The site (tests/wire_server.py) answers gzip, brotli, chunked, gzip+chunked pages with headers
in odd case; it is served on an ephemeral port with `--origin`, as the demo does, while the
seed names it www.wire-test.cn. The second night is `--deep`, so every article is fetched
again: four answer the same bytes (revisits), one (/a/5.html) is edited (a second version).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Capture
from tests.fixtures_db import DEFAULT_PG_ADMIN_URL, _PostgresServer
from tests.hostile_server import article_html, listing, write_seed
from tests.test_crawl import gonghui_argv
from tests.wire_server import WireServer, response

SEED_ORIGIN = "http://www.wire-test.cn"
HTML = (("Content-Type", "text/html; charset=utf-8"),)
ODD = (("x-Odd-CASE", "kept  as sent"), ("Content-Type", "text/html; charset=utf-8"))
UNCHANGED = {
    "/a/1.html": dict(coding="gzip", headers=ODD),
    "/a/2.html": dict(coding="br", headers=HTML),
    "/a/3.html": dict(chunks=3, headers=HTML),
    "/a/4.html": dict(coding="gzip", chunks=2, headers=HTML),
}
EDITED = "/a/5.html"
EDIT = ("某市总工会", "某市总工会（更正）")


def html(path: str, night: int = 1) -> bytes:
    page = article_html(int(path.split("/")[-1].split(".")[0]))
    if night == 2 and path == EDITED:
        page = page.replace(*EDIT)
    return page.encode("utf-8")


@dataclass
class Nights:
    database_url: str
    warc_dir: Path
    site: WireServer
    tmp: Path

    def captures(self, path: str) -> list[Capture]:
        """The captures of the page at ``path``, night 1 first."""
        engine = make_engine(self.database_url)
        with Session(engine) as session:
            rows = list(
                session.scalars(
                    select(Capture).where(Capture.url.endswith(path)).order_by(Capture.run_id)
                )
            )
            session.expunge_all()
        engine.dispose()
        return rows

    def warc_files(self) -> list[Path]:
        return sorted(self.warc_dir.rglob("*.warc.gz"))


@pytest.fixture(
    scope="session",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def wire_nights(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nights]:
    tmp = tmp_path_factory.mktemp(f"wire-{request.param}")
    server = None
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp / 'archive.sqlite3'}"
    else:
        server = _PostgresServer(
            os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL
        )
        database_url = server.ensure()  # skip (CI: fail) when unreachable
    pages = [*UNCHANGED, EDITED]
    routes = {"/": response(listing(*pages).body, headers=HTML)}
    routes |= {path: response(html(path), **how) for path, how in UNCHANGED.items()}
    routes[EDITED] = response(html(EDITED), headers=HTML)
    routes["/robots.txt"] = response(b"User-agent: *\nAllow: /\n")
    seeds = write_seed(tmp / "seeds", "wire", SEED_ORIGIN)
    try:
        with WireServer(routes) as site:
            for night, extra in ((1, []), (2, ["--deep"])):
                if night == 2:
                    site.sent[EDITED] = response(html(EDITED, 2), headers=HTML)
                done = subprocess.run(
                    gonghui_argv(
                        "crawl",
                        "wire",
                        f"--origin=wire={site.origin}",
                        *extra,
                        database_url=database_url,
                        warc_dir=tmp / "warc",
                        seeds_dir=seeds,
                    ),
                    capture_output=True,
                    text=True,
                    timeout=180,
                )
                assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
            yield Nights(database_url, tmp / "warc", site, tmp)
    finally:
        if server is not None:
            server.drop()
