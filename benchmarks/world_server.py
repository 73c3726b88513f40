"""Serve rendered replica-world sites on loopback, with a timed request log.

The HTTP side is the replica's own (crawler/replica/server.py: its handler answers
If-None-Match with 304 for ``CONDITIONAL_SITES`` and sends ETag and Last-Modified, and
``SITEMAP_SITES`` publish /sitemap.xml with each article's last change), only the
pages come from the benchmark's world instead of ``build_site``, and every request is logged
with the time it was answered. ``ReplicaServer`` renders its pages itself from the shipped
articles.json, so it is not reused as a whole; its server class is (a private name: if
server.py renames it, this module follows).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import NamedTuple

from crawler.replica.pages import SiteRendering
from crawler.replica.server import (
    RequestLogEntry,
    _SiteHTTPServer,
    serve_in_thread,
    stop_servers,
)


class TimedRequest(NamedTuple):
    at: float  # time.monotonic() when the answer was about to be sent
    site_id: str
    path: str
    status: int


class WorldServer:
    """Each site on its own ephemeral port of 127.0.0.1; ``swap`` changes the pages in place."""

    def __init__(self, renderings: Mapping[str, SiteRendering], host: str = "127.0.0.1"):
        self.renderings = dict(renderings)
        self.host = host
        self.origins: dict[str, str] = {}
        self.log: list[TimedRequest] = []
        self._lock = threading.Lock()
        self._running: list[tuple[_SiteHTTPServer, threading.Thread]] = []

    def _record(self, entry: RequestLogEntry) -> None:
        request = TimedRequest(time.monotonic(), entry.site_id, entry.path, entry.status)
        with self._lock:
            self.log.append(request)

    def start(self) -> WorldServer:
        for site_id, rendering in self.renderings.items():
            server = _SiteHTTPServer((self.host, 0), site_id, rendering, self._record)
            self._running.append((server, serve_in_thread(server, f"world-{site_id}")))
            self.origins[site_id] = server.origin
        return self

    def swap(self, renderings: Mapping[str, SiteRendering]) -> None:
        """Serve other pages on the same ports (all sites at once, between two crawls)."""
        with self._lock:
            self.renderings = dict(renderings)
            for server, _ in self._running:
                server.serve(self.renderings[server.site_id])

    def requests_since(self, mark: int) -> list[TimedRequest]:
        with self._lock:
            return self.log[mark:]

    def stop(self) -> None:
        stop_servers(self._running)
        self.origins.clear()

    def __enter__(self) -> WorldServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
