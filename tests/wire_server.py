"""A web site on 127.0.0.1 that answers with bytes fixed in advance and logs the bytes it got.

The raw-capture tests compare the WARC against what went over the wire, so this server writes
each answer as one prepared byte string (status line, headers in the case and order given,
the body gzip- or brotli-coded, chunked or not) and keeps every request exactly as it
arrived. HTTP/1.1 keep-alive: several requests may come on one connection.
"""

from __future__ import annotations

import gzip
import socketserver
import threading
from collections.abc import Mapping

import brotli


def response(
    body: bytes,
    *,
    status: str = "200 OK",
    headers: tuple[tuple[str, str], ...] = (),
    coding: str | None = None,
    chunks: int = 0,
) -> bytes:
    """The bytes of one HTTP/1.1 response: ``body`` coded with ``coding`` (gzip, br), sent in
    ``chunks`` chunks (Transfer-Encoding: chunked) or with a Content-Length."""
    if coding == "gzip":
        body = gzip.compress(body, mtime=0)
    elif coding == "br":
        body = brotli.compress(body)
    head = [f"HTTP/1.1 {status}", *(f"{n}: {v}" for n, v in headers)]
    if coding:
        head.append(f"content-encoding: {coding}")  # lower case on purpose: kept as sent
    if chunks:
        head.append("Transfer-Encoding: chunked")
        size = -(-len(body) // chunks)
        framed = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (body[i : i + size] for i in range(0, len(body), size))
        )
        payload = framed + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


class WireServer:
    """``with WireServer({"/": bytes, ...}) as site``: ``site.origin``, ``site.received``
    (path -> list of raw requests) and ``site.sent`` (path -> the bytes answered)."""

    def __init__(self, routes: Mapping[str, bytes]) -> None:
        self.sent = dict(routes)
        self.received: dict[str, list[bytes]] = {}
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    lines = []
                    while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                        lines.append(line)
                    if not lines:
                        return
                    raw = b"".join(lines) + line
                    path = lines[0].split(b" ")[1].decode("ascii")
                    server.received.setdefault(path, []).append(raw)
                    answer = server.sent.get(path) or response(b"not here", status="404 Not Found")
                    self.wfile.write(answer)
                    self.wfile.flush()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WireServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
