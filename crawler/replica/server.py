"""Serve the five replica sites on loopback ports, one HTTP server and thread per site.

Standard library only (``http.server``), so tests and ``gonghui demo`` need nothing else. Every
page is rendered to bytes once at :meth:`ReplicaServer.start`; a request is a dictionary lookup.
The replica has days (crawler.replica.timeline): :meth:`ReplicaServer.set_day` re-renders every
site for another day and swaps the pages in while the servers keep their ports.

    with ReplicaServer(sites=["bcrb"]) as replica:       # ephemeral port
        urlopen(replica.origins["bcrb"] + "/robots.txt")
        replica.set_day(2)                               # same origin, day 2's pages
    ReplicaServer(ports=DEFAULT_PORTS).serve_forever()    # fixed ports, until Ctrl-C
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import threading
from collections.abc import Callable, Iterable, Mapping
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import NamedTuple
from urllib.parse import urlsplit

from archive.errors import GonghuiError
from crawler.replica.data import SITE_IDS
from crawler.replica.incident import build_incident_site
from crawler.replica.pages import Page, SiteRendering, build_site
from crawler.replica.timeline import LAST_DAY

__all__ = ["DEFAULT_PORTS", "SITE_IDS", "ReplicaError", "ReplicaServer", "RequestLogEntry"]

DEFAULT_PORTS: dict[str, int] = {
    "qhzgh": 8601,
    "xazgh": 8602,
    "xnzgh": 8603,
    "bcrb": 8604,
    "tibet3": 8605,
}


class ReplicaError(GonghuiError):
    """The replica sites cannot be served (a port is taken, an unknown site id)."""


class RequestLogEntry(NamedTuple):
    site_id: str
    method: str
    path: str  # as requested, query string included
    status: int
    user_agent: str | None


# Sites whose servers answer conditional requests (If-None-Match) with 304, as static HTML
# portals and e-papers do; the tibet3 mirror, a dynamic site, sends no validator.
CONDITIONAL_SITES = frozenset({"qhzgh", "xazgh", "xnzgh", "bcrb"})
# Sites whose CMS publishes /sitemap.xml (named in robots.txt) listing every live article with
# the time it last changed, as many portals do; the e-paper publishes none.
SITEMAP_SITES = frozenset({"qhzgh", "xazgh", "xnzgh", "tibet3"})
_CST = dt.timezone(dt.timedelta(hours=8))


class _SiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # SO_REUSEADDR lets a restarted replica take its port while old connections sit in
    # TIME_WAIT; on Linux it does not let two servers listen on one port, so "in use" still
    # fails. SO_REUSEPORT would, so it stays off.
    allow_reuse_address = True
    allow_reuse_port = False

    def __init__(
        self,
        address: tuple[str, int],
        site_id: str,
        rendering: SiteRendering,
        record: Callable[[RequestLogEntry], None],
    ):
        self.site_id = site_id
        self.record = record
        self.modified: dict[str, dt.datetime] = {}  # article path -> when it last changed
        self.rendering = SiteRendering(site_id, {}, rendering.not_found, rendering.server_header)
        self.serve(rendering)
        super().__init__(address, _Handler)

    def serve(self, rendering: SiteRendering) -> None:
        """Serve other pages (the next day's site). An article whose content (its validator)
        changed, or that came back after a removal, gets the current time as its sitemap
        ``<lastmod>``; an unchanged one keeps its own; a new one is dated by its Last-Modified,
        as a CMS does."""
        now = dt.datetime.now(dt.UTC)
        before = self.rendering.pages
        modified = {}
        for path, page in rendering.pages.items():
            if page.etag is None or page.status != 200:
                continue  # not an article, or one taken down: not in the sitemap
            old = before.get(path)
            if old is not None and old.etag == page.etag and path in self.modified:
                modified[path] = self.modified[path]
            elif old is not None:
                modified[path] = now
            else:
                stamp = dict(page.headers).get("Last-Modified")
                modified[path] = parsedate_to_datetime(stamp) if stamp else now
        self.rendering, self.modified = rendering, modified

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def sitemap(self, host: str) -> bytes:
        entries = "".join(
            f"<url><loc>http://{host}{path}</loc>"
            f"<lastmod>{at.astimezone(_CST).isoformat()}</lastmod></url>\n"
            for path, at in sorted(self.modified.items())
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</urlset>\n"
        ).encode()


def serve_in_thread(server: _SiteHTTPServer, name: str) -> threading.Thread:
    """Run a site's server in a daemon thread (stopped by ``stop_servers``)."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
    )
    thread.start()
    return thread


def stop_servers(running: list[tuple[_SiteHTTPServer, threading.Thread]]) -> None:
    """Shut down servers started with ``serve_in_thread`` and empty the list."""
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    running.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real servers do; every reply has a length
    timeout = 30  # drop idle keep-alive connections instead of parking a thread on each forever
    server: _SiteHTTPServer

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        path = urlsplit(self.path).path or "/"
        page = self.server.rendering.lookup(path)
        if self.server.site_id in SITEMAP_SITES and page.status < 500:  # not a site that is down
            host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
            if path == "/sitemap.xml":
                page = Page(200, "application/xml", self.server.sitemap(host))
            elif path == "/robots.txt":
                sitemap = f"Sitemap: http://{host}/sitemap.xml\n".encode()
                page = dataclasses.replace(page, body=page.body + sitemap)
        etag = page.etag if self.server.site_id in CONDITIONAL_SITES else None
        if etag and page.status == 200 and etag in _etags(self.headers.get("If-None-Match")):
            page = Page(304, page.content_type, b"", page.headers)
        # Logged before the body goes out, so a client that has read the response always
        # finds its request in the log.
        self.server.record(
            RequestLogEntry(
                self.server.site_id,
                self.command,
                self.path,
                page.status,
                self.headers.get("User-Agent"),
            )
        )
        self.send_response(page.status)
        if page.status != 304:
            self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers:
            self.send_header(name, value)
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if send_body:
            self.wfile.write(page.body)

    def version_string(self) -> str:
        return self.server.rendering.server_header

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: requests go to ``ReplicaServer.request_log`` instead of stderr."""


def _etags(header: str | None) -> set[str]:
    """The entity tags of an If-None-Match header (weak ones compare as strong, RFC 9110)."""
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _check_day(day: int) -> int:
    if not 0 <= day <= LAST_DAY:
        raise ReplicaError(f"the replica has days 0..{LAST_DAY}, not {day}")
    return day


class ReplicaServer:
    """The replica sites, each on its own port of ``host``."""

    def __init__(
        self,
        sites: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        day: int = 0,
    ):
        self.sites: tuple[str, ...] = tuple(sites) if sites is not None else SITE_IDS
        unknown = [s for s in self.sites if s not in SITE_IDS]
        if unknown:
            raise ReplicaError(
                f"unknown replica site(s): {', '.join(unknown)}; known: {', '.join(SITE_IDS)}"
            )
        self.host = host
        self.day = _check_day(day)
        self._ports = dict(ports or {})
        self.origins: dict[str, str] = {}  # filled by start(), emptied by stop()
        self.request_log: list[RequestLogEntry] = []
        self._lock = threading.Lock()
        self._running: list[tuple[_SiteHTTPServer, threading.Thread]] = []
        self._stopped = threading.Event()

    def _record(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self.request_log.append(entry)

    def start(self) -> ReplicaServer:
        if self._running:
            return self
        renderings = {s: build_site(s, self.day) for s in self.sites}
        self._stopped.clear()
        try:
            for site_id in self.sites:
                port = self._ports.get(site_id) or 0
                try:
                    server = _SiteHTTPServer(
                        (self.host, port), site_id, renderings[site_id], self._record
                    )
                except OSError as exc:
                    reason = (
                        "port already in use"
                        if exc.errno == errno.EADDRINUSE
                        else exc.strerror or str(exc)
                    )
                    raise ReplicaError(
                        f"cannot serve replica site {site_id} on {self.host}:{port}: {reason}"
                    ) from None
                self._running.append((server, serve_in_thread(server, f"replica-{site_id}")))
                self.origins[site_id] = server.origin
        except BaseException:
            self.stop()
            raise
        return self

    def set_day(self, day: int, incident: bool = False) -> None:
        """Serve every site as it stands on ``day`` (0..timeline.LAST_DAY), on the same ports;
        ``incident``: the template-change night on top of it (crawler.replica.incident). All
        sites are rendered first, then swapped in one go: a request sees one day's site."""
        day = _check_day(day)
        build = build_incident_site if incident else build_site
        renderings = {s: build(s, day) for s in self.sites}
        with self._lock:
            for server, _ in self._running:
                server.serve(renderings[server.site_id])
            self.day = day

    def stop(self) -> None:
        stop_servers(self._running)
        self.origins.clear()
        self._stopped.set()

    def url(self, site_id: str, path: str = "/") -> str:
        """Absolute URL of ``path`` on a started site."""
        return self.origins[site_id] + path

    def serve_forever(self) -> None:
        """Start (if needed) and block until Ctrl-C, then stop."""
        self.start()
        try:
            self._stopped.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> ReplicaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
